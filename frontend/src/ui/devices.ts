// devices.ts: the sound devices chooser and test tone.

import type { Bridge } from "../bridge";
import type { Device, Prefs, State } from "../types";
import { h, setDisabled, setText, type Act } from "./dom";

export interface DevicesPanel {
  el: HTMLElement;
  update(state: State): void;
  load(prefs: Prefs | null): Promise<void>;
}

function pick(list: Device[], id: string | undefined, name: string | undefined): string {
  return (list.find((d) => id && d.id === id) ?? list.find((d) => name && d.name === name) ?? list.find((d) => d.default) ?? list[0])?.id ?? "";
}

export function devicesPanel(b: Bridge, act: Act): DevicesPanel {
  const mic = h("select", { id: "dev-mic" });
  const spk = h("select", { id: "dev-spk" });
  const tone = h("button", { type: "button" }, "Play test tone");
  const refresh = h("button", { type: "button", class: "ghost" }, "Refresh list");
  const msg = h("p", { class: "muted", "aria-live": "polite" });
  const el = h("details", { class: "devices card" },
    h("summary", {}, h("h2", {}, "Sound devices")),
    h("label", { for: "dev-mic" }, "Microphone"), mic,
    h("label", { for: "dev-spk" }, "Speaker"), spk,
    h("div", { class: "actions" }, tone, refresh), msg);
  let state: State | null = null;
  let prefs: Prefs | null = null;

  const fill = (sel: HTMLSelectElement, list: Device[], chosen: string) => {
    sel.replaceChildren(...list.map((d) => h("option", { value: d.id }, d.default ? `${d.name} (system default)` : d.name)));
    sel.value = chosen;
    setDisabled(sel, list.length === 0);
  };
  const load = async () => {
    try {
      const d = await b.Devices();
      const mics = d.mics ?? [];
      const spks = d.speakers ?? [];
      fill(mic, mics, pick(mics, state?.devices.micId || prefs?.mic, state?.devices.mic));
      fill(spk, spks, pick(spks, state?.devices.speakerId || prefs?.speaker, state?.devices.speaker));
      setText(msg, mics.length && spks.length ? "" : "No microphone or speaker found: plug one in, then Refresh list.");
    } catch (e) {
      setText(msg, `Could not list devices: ${typeof e === "string" ? e : (e as Error)?.message ?? ""}`);
    }
  };
  const apply = () => void act(() => b.SetDevices(mic.value, spk.value));
  mic.addEventListener("change", apply);
  spk.addEventListener("change", apply);
  tone.addEventListener("click", () => void act(() => b.TestTone()));
  refresh.addEventListener("click", () => void load());
  el.addEventListener("toggle", () => {
    if ((el as HTMLDetailsElement).open) void load();
  });

  return {
    el,
    update(s) {
      state = s;
    },
    async load(p) {
      prefs = p;
      await load();
    },
  };
}
