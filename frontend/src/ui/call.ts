// call.ts: the call card (incoming, dialing, in call, ended), the level
// meters and the dialpad.

import type { Bridge } from "../bridge";
import type { Levels, State } from "../types";
import { callView, cleanNumber, dialKeys, dialpadView, levelPercent, type CallView } from "../model/call";
import { shortcutFor, type Action } from "../model/shortcuts";
import { h, setAttr, setDisabled, setHidden, setText, type Act } from "./dom";

function tip(label: string, a: Action): Record<string, string> {
  const s = shortcutFor(a);
  return { title: `${label} (${s.keys})`, "aria-keyshortcuts": s.aria };
}

export interface CallCard {
  el: HTMLElement;
  update(state: State, now: number): void;
  tick(state: State, now: number): void;
  levels(l: Levels): void;
  run(a: Action): void;
}

function meter(label: string) {
  const fill = h("span", { class: "meter-fill" });
  const bar = h("span", { class: "meter", role: "meter", "aria-label": label, "aria-valuemin": "-60", "aria-valuemax": "0", "aria-valuenow": "-60" }, fill);
  return {
    el: h("div", { class: "meter-row" }, h("span", { class: "meter-label" }, label), bar),
    set(db: number) {
      const pct = levelPercent(db);
      fill.style.width = `${pct}%`;
      fill.classList.toggle("hot", pct > 92);
      setAttr(bar, "aria-valuenow", String(Math.round(Math.max(-60, Math.min(0, Number.isFinite(db) ? db : -60)))));
    },
  };
}

export function callCard(b: Bridge, act: Act): CallCard {
  const title = h("h2", { class: "call-title" });
  const number = h("p", { class: "call-number" });
  const status = h("p", { class: "call-status muted" });
  const timer = h("p", { class: "call-timer", "aria-label": "Call time" });
  const live = h("p", { class: "sr-only", "aria-live": "assertive", id: "call-live" });
  // Who is heard on the call besides the caller (a supervisor whispering
  // or barging in): shown on the card, and said by screen readers as it
  // changes.
  const supervisors = h("p", { class: "call-supervisors", role: "status", "aria-live": "polite", id: "call-supervisors" });
  const answer = h("button", { type: "button", class: "answer", ...tip("Answer", "answer") }, "Answer");
  const decline = h("button", { type: "button", class: "danger", ...tip("Decline", "decline") }, "Decline");
  const mute = h("button", { type: "button", class: "toggle", "aria-pressed": "false", ...tip("Mute", "mute") }, "Mute");
  const hold = h("button", { type: "button", class: "toggle", "aria-pressed": "false", ...tip("Hold", "hold") }, "Hold");
  const hangup = h("button", { type: "button", class: "danger", ...tip("Hang up", "hangup") }, "Hang up");
  const mic = meter("Microphone");
  const spk = meter("Speaker");
  const meters = h("div", { class: "meters" }, mic.el, spk.el);
  const ringingActions = h("div", { class: "actions" }, answer, decline);
  const callActions = h("div", { class: "actions" }, mute, hold, hangup);
  const idle = h("p", { class: "muted idle-msg" }, "No call. Calls ring here while you are Available.");

  let view: CallView | null = null;
  let lastCall = "";

  answer.addEventListener("click", () => run("answer"));
  decline.addEventListener("click", () => run("decline"));
  hangup.addEventListener("click", () => run("hangup"));
  mute.addEventListener("click", () => run("mute"));
  hold.addEventListener("click", () => run("hold"));

  function run(a: Action) {
    const v = view;
    if (!v) return;
    if (a === "answer" && v.canAnswer) void act(() => b.Answer());
    if (a === "decline" && v.canDecline) void act(() => b.Decline());
    if (a === "hangup" && v.canHangup) void act(() => b.Hangup());
    if (a === "mute" && v.canMute) void act(() => b.SetMute(!v.muted));
    if (a === "hold" && v.canHold) void act(() => b.SetHold(!v.held));
  }

  // dialpad
  const numberInput = h("input", { type: "tel", id: "dial-number", "aria-label": "Number to call", placeholder: "Number to call", autocomplete: "off", inputmode: "tel" });
  const callBtn = h("button", { type: "button", class: "answer" }, "Call");
  const clearBtn = h("button", { type: "button", class: "ghost", "aria-label": "Delete last digit", title: "Delete last digit" }, "⌫");
  const dialRow = h("form", { class: "dial-row" }, numberInput, clearBtn, callBtn);
  const reason = h("p", { class: "dialpad-reason", role: "status" });
  const keys = dialKeys.map(({ key, sub }) =>
    h("button", { type: "button", class: "key", "data-key": key, "aria-label": key === "*" ? "Star" : key === "#" ? "Hash" : key }, h("span", { class: "k" }, key), h("span", { class: "sub", "aria-hidden": "true" }, sub)));
  const grid = h("div", { class: "keys", role: "group", "aria-label": "Dialpad" }, ...keys);
  const padTitle = h("h2", { class: "pad-title" });
  const dialpad = h("section", { class: "dialpad card", "aria-labelledby": "pad-title" }, padTitle, dialRow, grid, reason);
  padTitle.id = "pad-title";
  let padMode = "dial";
  let padEnabled = false;

  const dial = () => {
    const n = cleanNumber(numberInput.value);
    if (!n || !padEnabled || padMode !== "dial") return;
    void act(() => b.Dial(n));
  };
  dialRow.addEventListener("submit", (e) => {
    e.preventDefault();
    dial();
  });
  callBtn.addEventListener("click", dial);
  clearBtn.addEventListener("click", () => {
    numberInput.value = numberInput.value.slice(0, -1);
    numberInput.focus();
  });
  for (const k of keys) {
    k.addEventListener("click", () => {
      const key = k.dataset.key!;
      if (!padEnabled) return;
      if (padMode === "dial") {
        numberInput.value += key;
      } else {
        k.classList.add("sent");
        setTimeout(() => k.classList.remove("sent"), 150);
        void act(() => b.PressKey(key));
      }
    });
  }

  const card = h("section", { class: "call card", "aria-labelledby": "call-title" }, title, number, status, supervisors, timer, ringingActions, callActions, meters, idle, live);
  title.id = "call-title";

  const el = h("div", { class: "call-col" }, card, dialpad);

  return {
    el,
    run,
    update(state, now) {
      const v = callView(state, now);
      view = v;
      card.className = `call card ${v.kind}`;
      setText(title, v.kind === "none" ? "Ready" : v.title);
      setText(number, v.number);
      setHidden(number, !v.number);
      setText(status, v.status);
      setText(supervisors, v.supervisors); // never hidden: a live region must be there before it speaks
      setHidden(ringingActions, v.kind !== "ringing");
      setHidden(callActions, v.kind !== "active" && v.kind !== "dialing");
      setHidden(meters, v.kind !== "active" && v.kind !== "dialing");
      setHidden(idle, v.kind !== "none");
      setDisabled(answer, !v.canAnswer);
      setDisabled(decline, !v.canDecline);
      setDisabled(hangup, !v.canHangup);
      setDisabled(mute, !v.canMute);
      setDisabled(hold, !v.canHold);
      setText(mute, v.muted ? "Unmute" : "Mute");
      setText(hold, v.held ? "Resume" : "Hold");
      setAttr(mute, "aria-pressed", String(v.muted));
      setAttr(hold, "aria-pressed", String(v.held));
      setText(live, v.announce);
      const id = state.call?.id ?? "";
      if (id !== lastCall) {
        lastCall = id;
        mic.set(-100);
        spk.set(-100);
        if (v.kind === "ringing") answer.focus();
      }
      this.tick(state, now);

      const d = dialpadView(state);
      padMode = d.mode;
      padEnabled = d.enabled;
      setText(padTitle, d.label);
      setHidden(dialRow, d.mode !== "dial");
      for (const k of keys) setDisabled(k, !d.enabled);
      setDisabled(numberInput, !d.enabled || d.mode !== "dial");
      setDisabled(callBtn, !d.enabled || d.mode !== "dial");
      setText(reason, d.reason);
      setHidden(reason, !d.reason);
      dialpad.classList.toggle("off", !d.enabled);
    },
    tick(state, now) {
      const v = callView(state, now);
      setText(timer, v.timer);
      setHidden(timer, !v.timer);
    },
    levels(l) {
      mic.set(l.mic);
      spk.set(l.speaker);
    },
  };
}
