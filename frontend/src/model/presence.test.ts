import { describe, expect, it } from "vitest";
import { banner, canTogglePresence, idleText, presenceText, signedIn } from "./presence";
import { call, iso, state, T0 } from "./fixtures";

describe("presence", () => {
  it("idle text only when available with no call", () => {
    expect(idleText(state({ idleSince: iso(0) }), T0 + 83_000)).toBe("Idle for 01:23");
    expect(idleText(state({ presence: "away", idleSince: iso(0) }), T0)).toBe("");
    expect(idleText(state({ idleSince: iso(0), call: call() }), T0)).toBe("");
    expect(idleText(state({ idleSince: iso(0), call: call({ state: "ended" }) }), T0 + 1000)).toBe("Idle for 00:01");
    expect(idleText(state({ idleSince: null }), T0)).toBe("");
    expect(idleText(null, T0)).toBe("");
  });
  it("texts", () => {
    expect(presenceText("available")).toBe("Available");
    expect(presenceText("away")).toBe("Away");
    expect(presenceText("busy")).toBe("On a call");
    expect(presenceText(undefined)).toBe("Offline");
    expect(presenceText("ringing")).toBe("Ringing");
    expect(presenceText("other")).toBe("Other");
  });
  it("toggle", () => {
    expect(canTogglePresence(state())).toBe(true);
    expect(canTogglePresence(state({ presence: "busy", call: call() }))).toBe(false);
    expect(canTogglePresence(state({ connection: "reconnecting" }))).toBe(false);
    expect(canTogglePresence(null)).toBe(false);
  });
  it("banner: lost, then reconnected, then gone", () => {
    const lost = banner("connected", "reconnecting", null);
    expect(lost).toEqual({ kind: "lost", text: "Connection lost — reconnecting…" });
    const back = banner("reconnecting", "connected", lost);
    expect(back).toEqual({ kind: "back", text: "Reconnected" });
    expect(banner("connected", "connected", back)).toBe(back);
    expect(banner("connected", "connected", null)).toBeNull();
    expect(banner("connecting", "connected", null)).toBeNull();
    expect(banner("reconnecting", "signed_out", lost)).toBeNull();
  });
  it("signedIn", () => {
    expect(signedIn(state())).toBe(true);
    expect(signedIn(state({ connection: "reconnecting" }))).toBe(true);
    expect(signedIn(state({ connection: "connecting" }))).toBe(false);
    expect(signedIn(null)).toBe(false);
  });
});
