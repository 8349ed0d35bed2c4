import { describe, expect, it } from "vitest";
import { callView, cleanNumber, dialKeys, dialpadView, endReasonText, hasLiveCall, levelPercent, paymentHoldsKeypad, supervisorsText } from "./call";
import type { Call } from "../types";
import { call, iso, payment, state, T0 } from "./fixtures";

describe("callView", () => {
  it("no call", () => {
    const v = callView(state(), T0);
    expect(v.kind).toBe("none");
    expect([v.canAnswer, v.canDecline, v.canHangup, v.canMute, v.canHold]).toEqual([false, false, false, false, false]);
    expect(callView(null, T0).kind).toBe("none");
  });
  it("ringing: answer or decline only", () => {
    const v = callView(state({ call: call({ state: "ringing", started: null }) }), T0);
    expect(v.kind).toBe("ringing");
    expect(v.number).toBe("+441234");
    expect(v.canAnswer && v.canDecline).toBe(true);
    expect(v.canHangup || v.canMute || v.canHold).toBe(false);
    expect(v.announce).toBe("Incoming call from +441234");
  });
  it("dialing: hang up and mute, no hold", () => {
    const v = callView(state({ call: call({ state: "dialing", outbound: true, progress: "ringing", started: null }) }), T0);
    expect(v.kind).toBe("dialing");
    expect(v.status).toBe("Ringing…");
    expect(v.direction).toBe("Outgoing");
    expect(v.canHangup && v.canMute).toBe(true);
    expect(v.canHold || v.canAnswer).toBe(false);
    expect(callView(state({ call: call({ state: "dialing", started: null }) }), T0).status).toBe("Connecting…");
  });
  it("active: timer from started, mute/hold/hangup", () => {
    const v = callView(state({ call: call({ started: iso(0) }) }), T0 + 125_000);
    expect(v.kind).toBe("active");
    expect(v.timer).toBe("02:05");
    expect(v.canHangup && v.canMute && v.canHold).toBe(true);
    expect(v.canAnswer).toBe(false);
    expect(v.status).toBe("Connected");
  });
  it("active muted and held", () => {
    const v = callView(state({ call: call({ muted: true, held: true }) }), T0);
    expect(v.muted && v.held).toBe(true);
    expect(v.status).toBe("On hold");
    expect(v.announce).toContain("on hold");
    expect(callView(state({ call: call({ muted: true }) }), T0).status).toBe("Muted");
  });
  it("ended: reason and talk time", () => {
    const v = callView(state({ call: call({ state: "ended", ended: iso(61_000), reason: "caller_gone" }) }), T0 + 999_000);
    expect(v.kind).toBe("ended");
    expect(v.status).toBe("The caller hung up");
    expect(v.timer).toBe("01:01");
    expect(v.canHangup).toBe(false);
    expect(callView(state({ call: call({ state: "ended", started: null, reason: "no_answer" }) }), T0).timer).toBe("");
  });
  it("unknown number and state", () => {
    expect(callView(state({ call: call({ from: "" }) }), T0).number).toBe("Unknown number");
    expect(callView(state({ call: call({ state: "weird" }) }), T0).kind).toBe("none");
  });
  it("end reasons in words", () => {
    expect(endReasonText(undefined)).toBe("Call ended");
    expect(endReasonText("agent")).toBe("You hung up");
    expect(endReasonText("busy")).toBe("The number was busy");
    expect(endReasonText("some_new_reason")).toBe("Some new reason");
  });
});

describe("dialpad", () => {
  it("idle and connected: dials", () => {
    const d = dialpadView(state());
    expect(d).toMatchObject({ enabled: true, mode: "dial", reason: "" });
    expect(dialpadView(state({ call: call({ state: "ended" }) }))).toMatchObject({ enabled: true, mode: "dial" });
  });
  it("not connected", () => {
    expect(dialpadView(state({ connection: "reconnecting" }))).toMatchObject({ enabled: false, reason: "Waiting for the connection to come back" });
    expect(dialpadView(state({ connection: "signed_out" })).enabled).toBe(false);
    expect(dialpadView(null).enabled).toBe(false);
  });
  it("in a call: tones", () => {
    expect(dialpadView(state({ call: call() }))).toMatchObject({ enabled: true, mode: "tones", label: "Send keypad tones" });
  });
  it("ringing, dialing and held: off with a reason", () => {
    for (const c of [call({ state: "ringing" }), call({ state: "dialing" }), call({ held: true })]) {
      const d = dialpadView(state({ call: c }));
      expect(d.enabled).toBe(false);
      expect(d.reason).not.toBe("");
    }
  });
  it.each([
    ["capturing", false], ["ready", false], ["submitting", false],
    ["failed", true], ["approved", true], ["declined", true], ["cancelled", true], ["dropped", true], ["timed_out", true],
  ])("payment %s → enabled %s", (ps, enabled) => {
    const d = dialpadView(state({ call: call(), payment: payment({ state: ps }) }));
    expect(d.enabled).toBe(enabled);
    expect(paymentHoldsKeypad(payment({ state: ps }))).toBe(!enabled);
    if (!enabled) expect(d.reason).toMatch(/card details/);
  });
  it("has 12 keys", () => expect(dialKeys.map((k) => k.key).join("")).toBe("123456789*0#"));
  it("cleanNumber", () => expect(cleanNumber(" +44 (20) 7946-0000 x")).toBe("+442079460000"));
  it("hasLiveCall", () => {
    expect(hasLiveCall(state())).toBe(false);
    expect(hasLiveCall(state({ call: call({ state: "ended" }) }))).toBe(false);
    expect(hasLiveCall(state({ call: call() }))).toBe(true);
  });
});

describe("levelPercent", () => {
  it.each([[-100, 0], [-60, 0], [-30, 50], [-6, 90], [0, 100], [3, 100], [NaN, 0]])("%s dBFS → %s%%", (db, pct) =>
    expect(levelPercent(db)).toBe(pct));
});

describe("supervisors heard", () => {
  it("says who whispers and who barged, in order", () => {
    expect(supervisorsText([{ user: "Sue", mode: "whisper" }])).toBe("Sue is whispering");
    expect(supervisorsText([{ user: "Sam", mode: "barge" }])).toBe("Sam has joined the call (barge)");
    expect(supervisorsText([{ user: "Sue", mode: "whisper" }, { user: "Sam", mode: "barge" }])).toBe("Sue is whispering. Sam has joined the call (barge)");
  });
  it("nobody, listeners and junk say nothing", () => {
    expect(supervisorsText(undefined)).toBe("");
    expect(supervisorsText(null)).toBe("");
    expect(supervisorsText([])).toBe("");
    expect(supervisorsText([{ user: "Sue", mode: "listen" }, { user: "", mode: "whisper" }, { user: "Tom", mode: "shout" }])).toBe("");
  });
  it("shows on an active call, and clears", () => {
    // types.ts's Call does not name desktop/app's supervisors field yet.
    const heard = { ...call(), supervisors: [{ user: "Sue", mode: "whisper" }] } as Call;
    expect(callView(state({ call: heard }), T0).supervisors).toBe("Sue is whispering");
    expect(callView(state({ call: { ...call(), supervisors: [] } as Call }), T0).supervisors).toBe("");
    expect(callView(state({ call: call() }), T0).supervisors).toBe("");
    // An ended call shows nobody, whatever it held.
    expect(callView(state({ call: { ...heard, state: "ended", ended: iso(5) } }), T0).supervisors).toBe("");
  });
});
