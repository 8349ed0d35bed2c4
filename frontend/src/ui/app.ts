// app.ts: wires the views to the bridge. The UI renders from the latest
// "state" event alone; other events (levels, key, ring) animate it.

import { errorText, type Bridge } from "../bridge";
import type { Call, Prefs, State } from "../types";
import { signedIn } from "../model/presence";
import { match } from "../model/shortcuts";
import { callCard } from "./call";
import { devicesPanel } from "./devices";
import { h, setHidden, setText, type Act } from "./dom";
import { headerView } from "./header";
import { historyPanel } from "./history";
import { paymentPanel } from "./payment";
import { Ringer } from "./ring";
import { signinView } from "./signin";

export interface Mounted {
  destroy(): void;
  render(s: State): void;
  ringer: Ringer;
}

export interface Options {
  now?: () => number;
  ringer?: Ringer;
}

export function mount(root: HTMLElement, b: Bridge, opts: Options = {}): Mounted {
  const now = opts.now ?? (() => Date.now());
  const toast = h("div", { class: "toast", role: "alert", hidden: true });
  let toastTimer: ReturnType<typeof setTimeout> | null = null;
  const showError = (text: string) => {
    setText(toast, text);
    setHidden(toast, false);
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(() => setHidden(toast, true), 6000);
  };
  const act: Act = async (p) => {
    try {
      await p();
    } catch (e) {
      showError(errorText(e));
    }
  };

  const signin = signinView(b, act);
  const header = headerView(b, act);
  const call = callCard(b, act);
  const pay = paymentPanel(b, act);
  const devices = devicesPanel(b, act);
  const history = historyPanel();
  const errorLine = h("p", { class: "state-error", role: "alert", hidden: true });
  const main = h("div", { class: "app", hidden: true },
    header.el,
    h("main", { class: "grid" }, errorLine, call.el, pay.el, h("div", { class: "side" }, history.el, devices.el)));
  root.replaceChildren(signin.el, main, toast);

  const ringer = opts.ringer ?? new Ringer();
  let state: State | null = null;
  let prefs: Prefs | null = null;
  let wasIn = false;
  let lastCallKey = "";

  const loadHistory = () => b.History().then((items) => history.show(items, new Date(now())), (e) => history.error(errorText(e)));

  const applyTheme = (t: string | undefined) => {
    const theme = t === "light" || t === "dark" ? t : "system";
    document.documentElement.dataset.theme = theme;
  };

  function render(s: State) {
    state = s;
    applyTheme(s.theme || prefs?.theme);
    const inApp = signedIn(s);
    setHidden(signin.el, inApp);
    setHidden(main, !inApp);
    if (!inApp) {
      signin.update(s, prefs);
    } else {
      const t = now();
      header.update(s, t);
      call.update(s, t);
      pay.update(s);
      devices.update(s);
      setText(errorLine, s.error ?? "");
      setHidden(errorLine, !s.error);
    }
    if (inApp && !wasIn) void loadHistory();
    wasIn = inApp;
    const callKey = s.call ? `${s.call.id}:${s.call.state}` : "";
    if (callKey !== lastCallKey) {
      if (s.call?.state === "ended" || (!s.call && lastCallKey)) void loadHistory();
      lastCallKey = callKey;
    }
    if (ringer.ringing && s.call?.state !== "ringing") ringer.stop();
    document.title = s.call?.state === "ringing" ? `Incoming call: ${s.call.from} · Hushphone` : "Hushphone";
  }

  const offs = [
    b.on("state", (s) => render(s)),
    b.on("levels", (l) => call.levels(l)),
    b.on("key", () => pay.pulse()),
    b.on("ring", (c: Call) => {
      // the state may already say the call stopped ringing
      if (state?.call && state.call.id === c?.id && state.call.state !== "ringing") return;
      ringer.start(25);
    }),
  ];

  const onKey = (e: KeyboardEvent) => {
    const a = match(e);
    if (!a || !state || !signedIn(state)) return;
    e.preventDefault();
    if (a === "help") header.toggleHelp();
    else call.run(a);
  };
  window.addEventListener("keydown", onKey);

  const tick = setInterval(() => {
    if (state && signedIn(state)) {
      const t = now();
      header.tick(state, t);
      call.tick(state, t);
    }
  }, 1000);

  void (async () => {
    try {
      prefs = await b.Prefs();
      applyTheme(prefs.theme);
    } catch {
      prefs = { server: "http://127.0.0.1:8080", user: "", theme: "system" };
    }
    void devices.load(prefs);
    try {
      const s = await b.State();
      if (!state) render(s);
      else render(state);
    } catch (e) {
      render({ connection: "signed_out", error: errorText(e), devices: { mic: "", speaker: "" }, theme: prefs.theme });
    }
  })();

  return {
    ringer,
    render,
    destroy() {
      for (const off of offs) off();
      window.removeEventListener("keydown", onKey);
      clearInterval(tick);
      ringer.stop();
      if (toastTimer) clearTimeout(toastTimer);
    },
  };
}
