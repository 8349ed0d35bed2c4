// recordings.ts: search the recordings, each with its masking proof
// (verdict, keys masked, detector hits); play one in the page or download
// it. Both go through the API with the token (every play and download is
// in the access log), as a blob: an <audio> cannot send the header itself.

import { h, setText } from "../ui/dom";
import { blob, json, query, type Proof, type Recording } from "./api";
import { download, type Ctx, type View } from "./context";
import { dayEnd, dayStart, int, ms, when } from "./format";

/** proofText is a proof's hits in words: when and on which side, never which key. */
export function hitsText(p: Proof | null, verdict: string): string {
  if (!p) return verdict === "pending" ? "not checked yet" : "–";
  if (p.hit_count === 0) return "0";
  const side = (c: number) => (c === 0 ? "caller" : "agent");
  const shown = p.hits.slice(0, 3).map((x) => `${side(x.channel)} at ${ms(x.at_ms)}`).join(", ");
  return `${p.hit_count}${shown ? `: ${shown}${p.hit_count > 3 ? "…" : ""}` : ""}`;
}

export function recordingsView(ctx: Ctx): View {
  const input = (name: string, type: string, label: string, extra: Record<string, string> = {}) => {
    const id = `rec-${name}`;
    return h("div", { class: "fld" }, h("label", { for: id }, label), h("input", { id, name, type, ...extra }));
  };
  const form = h("form", { id: "recording-search", class: "filters", role: "search", "aria-label": "Search recordings" },
    input("agent", "text", "Agent", { autocomplete: "off", spellcheck: "false" }),
    input("caller", "tel", "Caller number", { autocomplete: "off" }),
    input("from", "date", "From"),
    input("to", "date", "To (inclusive)"),
    h("div", { class: "fld end" }, h("button", { type: "submit", class: "primary" }, "Search")),
  );
  const body = h("tbody");
  const count = h("p", { class: "muted", role: "status" });
  const playerLabel = h("p", { class: "muted small" }, "Choose Play on a recording.");
  const player = h("audio", { controls: true, "data-player": "", preload: "none", "aria-label": "Recording player" });
  let playingURL = "";

  const el = h("section", { "data-view": "recordings", "aria-labelledby": "rec-title", class: "view" },
    h("div", { class: "view-head" }, h("h2", { id: "rec-title" }, "Recordings")),
    form,
    h("div", { class: "player card" }, playerLabel, player),
    count,
    h("div", { class: "scroll" }, h("table", { class: "tbl", "aria-labelledby": "rec-title" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Started"), h("th", { scope: "col" }, "Agent"), h("th", { scope: "col" }, "Caller"),
        h("th", { scope: "col", class: "num" }, "Length"), h("th", { scope: "col" }, "Masking proof"),
        h("th", { scope: "col", class: "num" }, "Keys masked"), h("th", { scope: "col" }, "Detector hits"), h("th", { scope: "col" }, "Audio"),
      )), body)),
  );

  const values = () => {
    const fd = new FormData(form);
    const v = (k: string) => String(fd.get(k) ?? "").trim();
    return { agent: v("agent"), caller: v("caller"), from: dayStart(v("from")), to: dayEnd(v("to")) };
  };

  let generation = 0;
  async function search(): Promise<void> {
    const gen = ++generation;
    setText(count, "Searching…");
    let list: Recording[];
    try {
      list = await json<Recording[]>("GET", `/api/v1/recordings${query({ ...values(), limit: "100" })}`);
    } catch (e) {
      setText(count, "");
      ctx.toast((e as Error).message);
      return;
    }
    if (gen !== generation) return;
    body.replaceChildren(...list.map(row));
    setText(count, list.length === 0 ? "No recordings match." : list.length === 1 ? "1 recording" : `${list.length} recordings${list.length === 100 ? " (the newest 100: narrow the search for older ones)" : ""}`);
    // The proofs, a few at a time: the list already says each verdict.
    const queue = list.filter((r) => r.verdict !== "pending");
    const worker = async () => {
      for (let r = queue.shift(); r; r = queue.shift()) {
        if (gen !== generation) return;
        await proof(r);
      }
    };
    await Promise.all([worker(), worker(), worker()]);
  }

  function row(r: Recording): HTMLTableRowElement {
    const play = h("button", { type: "button", class: "small", "data-action": "play", "aria-label": `Play recording ${r.id}` }, "Play");
    const save = h("button", { type: "button", class: "small", "data-action": "download", "aria-label": `Download recording ${r.id}` }, "Download");
    play.addEventListener("click", () => void doPlay(r, play));
    save.addEventListener("click", () => void download(ctx, save, `/api/v1/recordings/${r.id}`, "audio/wav", `recording-${r.id}.wav`));
    return h("tr", { "data-recording": String(r.id) },
      h("td", {}, when(r.started)),
      h("td", {}, r.agent),
      h("td", { class: "ellipsis", title: `Call ${r.call}`, "data-field": "caller" }, r.caller || "unknown"),
      h("td", { class: "num" }, ms(r.duration_ms)),
      h("td", {}, h("span", { class: `pill verdict-${r.verdict}`, "data-field": "verdict" }, r.verdict)),
      h("td", { class: "num", "data-field": "keys" }, r.verdict === "pending" ? "–" : "…"),
      h("td", { "data-field": "hits" }, hitsText(null, r.verdict)),
      h("td", { class: "row-actions" }, h("div", { class: "btns" }, play, save)),
    );
  }

  async function proof(r: Recording): Promise<void> {
    const tr = body.querySelector(`[data-recording="${r.id}"]`);
    if (!tr) return;
    try {
      const p = await json<Proof>("GET", `/api/v1/recordings/${r.id}/proof`);
      setText(tr.querySelector('[data-field="keys"]') as Element, int(p.keys_masked));
      setText(tr.querySelector('[data-field="hits"]') as Element, hitsText(p, p.verdict));
      const v = tr.querySelector('[data-field="verdict"]') as HTMLElement;
      setText(v, p.verdict);
      v.className = `pill verdict-${p.verdict}`;
      v.title = `Checked ${when(p.checked)} by ${p.detector} ${p.detector_version}; ${p.flat_tones} flat tones; SHA-256 ${p.sha256}`;
    } catch (e) {
      setText(tr.querySelector('[data-field="hits"]') as Element, (e as Error).message);
    }
  }

  async function doPlay(r: Recording, b: HTMLButtonElement): Promise<void> {
    b.disabled = true;
    try {
      const f = await blob(`/api/v1/recordings/${r.id}?play=1`, "audio/wav");
      if (playingURL) URL.revokeObjectURL(playingURL);
      playingURL = URL.createObjectURL(f.blob);
      player.src = playingURL;
      setText(playerLabel, `Recording ${r.id}: ${r.agent}, ${when(r.started)} (caller left, agent right)`);
      await player.play().catch(() => {});
      ctx.announce(`Playing recording ${r.id}`);
    } catch (e) {
      ctx.toast((e as Error).message);
    } finally {
      b.disabled = false;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void search();
  });

  return { name: "recordings", title: "Recordings", el, shown: () => void search() };
}
