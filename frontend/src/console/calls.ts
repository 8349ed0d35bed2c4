// calls.ts: the live calls, each with its secure-pay progress as the agent
// sees it, and the buttons to listen, whisper, barge and stop.

import type { CallSnapshot, Payment } from "../protocol";
import { h, setAttr, setDisabled, setText } from "../ui/dom";
import { since } from "../model/time";
import { brandName, fieldLabel, formatAmount } from "../model/payment";
import type { Ctx, View } from "./context";
import { clock, last4, paymentSummary, paymentWord } from "./format";
import { canListen, sortedCalls, type Mode } from "./state";
import { cell, rows } from "./table";

const modeWords: Record<string, string> = { listen: "Listening", whisper: "Whispering to the agent", barge: "Barged in: agent and caller hear you" };

export function callsView(ctx: Ctx): View {
  const body = h("tbody");
  const button = (action: string, label: string, title: string) =>
    h("button", { type: "button", class: "small", "data-action": action, title, "aria-pressed": action === "stop" ? null : "false" }, label);

  const list = rows<CallSnapshot>(body, (c) => c.call, (c) => {
    const listen = button("listen", "Listen", "Hear the call silently (the agent is not told)");
    const whisper = button("whisper", "Whisper", "Speak to the agent only");
    const barge = button("barge", "Barge", "Speak to the agent and the caller");
    const stop = button("stop", "Stop", "Stop listening");
    const tr = h("tr", { "data-call": c.call },
      h("td", { "data-field": "from" }),
      h("td", { "data-field": "queue" }),
      h("td", {}, h("span", { class: "pill", "data-field": "state" })),
      h("td", { "data-field": "agent" }),
      h("td", { "data-field": "time", class: "num" }),
      h("td", { class: "pay" }, h("div", { "data-field": "payment", "aria-live": "polite" }), h("ul", { class: "pay-fields", "data-field": "payment-fields" })),
      h("td", { class: "row-actions" }, h("div", { class: "btns", role: "group", "aria-label": "Monitor this call" }, listen, whisper, barge, stop)),
    );
    for (const [b, mode] of [[listen, "listen"], [whisper, "whisper"], [barge, "barge"]] as const) {
      b.addEventListener("click", () => void ctx.listener.start(c.call, mode as Mode));
    }
    stop.addEventListener("click", () => ctx.listener.stop());
    return tr;
  }, (tr, c) => fill(tr, c));

  function fill(tr: HTMLTableRowElement, c: CallSnapshot): void {
    const over = !ctx.live.calls.has(c.call);
    setText(cell(tr, "from"), `${c.outbound ? "→ " : ""}${c.from ?? "unknown"}`);
    setAttr(cell(tr, "from"), "title", `Call ${c.call}`);
    setText(cell(tr, "queue"), c.outbound ? "outbound" : c.queue ?? "default");
    // A call over stays a little while for its payment's outcome.
    setText(cell(tr, "state"), over ? "ended" : c.state);
    setAttr(tr, "data-state", over ? "ended" : c.state);
    setText(cell(tr, "agent"), c.agent ?? "");
    if (!over) setText(cell(tr, "time"), clock(since(c.since, Date.now())));
    fillPayment(tr, ctx.live.payments.get(c.call));
    fillButtons(tr, c);
  }

  function fillPayment(tr: HTMLTableRowElement, p: Payment | undefined): void {
    setText(cell(tr, "payment"), paymentSummary(p));
    setAttr(tr, "data-payment-state", p ? p.state : null);
    const ul = cell(tr, "payment-fields");
    // The fields as the agent's panel shows them: name, dots for the
    // digits typed, state; the card's brand and last four once known.
    const items = p?.fields ?? [];
    while (ul.children.length > items.length) ul.lastElementChild?.remove();
    items.forEach((f, i) => {
      let li = ul.children[i] as HTMLElement | undefined;
      if (!li) {
        li = h("li", {}, h("span", { class: "f-name" }), h("span", { class: "f-dots", "aria-hidden": "true" }), h("span", { class: "f-state" }));
        ul.append(li);
      }
      const n = Math.max(0, Math.min(24, Math.floor(Number(f.digits) || 0)));
      setAttr(li, "data-state", f.state);
      setText(li.children[0], fieldLabel(f.field));
      setText(li.children[1], "•".repeat(n));
      const extra = f.field === "card-number" && (p?.brand || last4(f.last4))
        ? ` ${[brandName(p?.brand), last4(f.last4) ? `ending ${last4(f.last4)}` : ""].filter(Boolean).join(" ")}` : "";
      setText(li.children[2], `${f.state}${extra}`);
    });
  }

  function fillButtons(tr: HTMLTableRowElement, c: CallSnapshot): void {
    const l = ctx.listener;
    const mine = l.call === c.call;
    const mode = mine ? l.mode : "";
    setAttr(tr, "data-mode", mine && mode ? mode : null);
    const ok = canListen(c) && ctx.live.calls.has(c.call);
    const busy = mine && l.state === "asking";
    for (const m of ["listen", "whisper", "barge"] as const) {
      const b = tr.querySelector(`button[data-action="${m}"]`) as HTMLButtonElement;
      const speak = m !== "listen";
      const noMic = speak && !l.canSpeak();
      setDisabled(b, !ok || busy || noMic || (mine && mode === m));
      setAttr(b, "aria-pressed", mine && mode === m ? "true" : "false");
      setAttr(b, "title", noMic ? "No microphone: allow the microphone for this page to whisper or barge"
        : !ok ? "Only a call an agent answered can be listened to"
          : m === "listen" ? "Hear the call silently (the agent is not told)" : m === "whisper" ? "Speak to the agent only" : "Speak to the agent and the caller");
    }
    setDisabled(tr.querySelector('button[data-action="stop"]') as HTMLButtonElement, !mine);
  }

  const status = h("p", { class: "listen-status", role: "status" });
  // The round trip is out of the live region: it changes every 2 s.
  const rtt = h("span", { class: "listen-rtt muted num", "data-field": "rtt", title: "Round trip to the server, from its RTCP reports" });
  const empty = h("p", { class: "muted" }, "No calls right now.");
  const table = h("table", { class: "tbl calls", "aria-labelledby": "calls-title" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Caller"), h("th", { scope: "col" }, "Queue"), h("th", { scope: "col" }, "State"),
      h("th", { scope: "col" }, "Agent"), h("th", { scope: "col", class: "num" }, "Time"), h("th", { scope: "col" }, "Secure pay"),
      h("th", { scope: "col" }, "Monitor"),
    )), body);
  const el = h("section", { "data-view": "calls", "aria-labelledby": "calls-title", class: "view" },
    h("div", { class: "view-head" }, h("h2", { id: "calls-title" }, "Live calls"), h("div", { class: "listen-head" }, status, rtt)),
    h("div", { class: "scroll" }, table, empty),
  );

  function drawStatus(): void {
    const l = ctx.listener;
    setText(rtt, l.call && l.rttMs !== null ? `round trip ${l.rttMs < 10 ? l.rttMs.toFixed(1) : Math.round(l.rttMs)} ms` : "");
    if (!l.call) {
      setText(status, l.micState === "none" ? "No microphone: you can listen, not whisper or barge." : "");
      return;
    }
    const c = ctx.live.calls.get(l.call);
    const who = c ? `${c.agent ?? "the agent"} with ${c.from ?? "the caller"}` : "a call";
    const what = l.state === "asking" ? "Asking for the microphone…" : l.state === "connecting" ? "Connecting the audio…"
      : l.state === "failed" ? "Audio failed" : modeWords[l.mode] ?? "Listening";
    setText(status, `${what}: ${who}`);
  }

  // Only the rows of the calls that changed are filled again (with 500
  // calls, 20 changes a second): dirty holds them until the next frame;
  // whole after a snapshot, or when the view is shown.
  let pending = false;
  let whole = true;
  const dirty = new Set<string>();
  const redraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const all = [...sortedCalls(ctx.live.calls.values()), ...[...ctx.live.recent.values()].map((r) => r.call)];
      const fillAll = whole;
      list.sync(all, (k) => fillAll || dirty.has(k));
      whole = false;
      dirty.clear();
      empty.hidden = all.length > 0;
      drawStatus();
    });
  };

  // The buttons of every row depend on the listener (its call, mode and
  // state, the microphone): refilled when that changes, not at every
  // call's change (a row's own change refills its buttons).
  let heard = "";
  const listenerKey = () => {
    const l = ctx.listener;
    return `${l.call}|${l.mode}|${l.state}|${l.canSpeak()}`;
  };

  let lastWords = new Map<string, string>();
  return {
    name: "calls",
    title: "Live calls",
    el,
    shown() {
      whole = true;
      redraw();
    },
    changed(ch) {
      if (ch.all) whole = true;
      for (const id of ch.calls) dirty.add(id);
      if (ch.all || ch.calls.length) redraw();
      for (const id of ch.payments) {
        const tr = list.row(id);
        const p = ctx.live.payments.get(id);
        if (tr) fillPayment(tr, p);
        // Said aloud only when the state changes, not at every digit.
        if (p && lastWords.get(id) !== p.state) {
          lastWords.set(id, p.state);
          ctx.announce(`Payment on the call with ${p.agent}: ${paymentWord(p)}${p.amount ? `, ${formatAmount(p.amount, p.currency)}` : ""}`);
        }
      }
      if (ch.ended.length) lastWords = new Map([...lastWords].filter(([k]) => ctx.live.calls.has(k)));
    },
    tick(now) {
      for (const k of list.keys()) {
        const c = ctx.live.calls.get(k);
        const tr = list.row(k);
        if (c && tr) setText(cell(tr, "time"), clock(since(c.since, now)));
      }
    },
    listening() {
      const key = listenerKey();
      if (key === heard) {
        drawStatus();
        return;
      }
      heard = key;
      for (const k of list.keys()) {
        const c = ctx.live.calls.get(k);
        const tr = list.row(k);
        if (c && tr) fillButtons(tr, c);
      }
      drawStatus();
    },
  };
}
