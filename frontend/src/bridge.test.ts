import { afterEach, describe, expect, it, vi } from "vitest";
import { bridge, errorText, methods, setBridge, wailsBridge } from "./bridge";
import { FakeBridge } from "./fake";

afterEach(() => setBridge(null));

describe("wailsBridge", () => {
  it("is null without window.go", () => {
    expect(wailsBridge({})).toBeNull();
    expect(wailsBridge({ go: { app: { App: {} } } })).toBeNull();
  });
  it("calls window.go.app.App methods and passes arguments", async () => {
    const App: Record<string, ReturnType<typeof vi.fn>> = {};
    for (const m of methods) App[m] = vi.fn().mockResolvedValue(m === "Prefs" ? { server: "s", user: "u", theme: "dark" } : undefined);
    const off = vi.fn();
    const EventsOn = vi.fn().mockReturnValue(off);
    const b = wailsBridge({ go: { app: { App } }, runtime: { EventsOn } })!;
    expect(await b.Prefs()).toEqual({ server: "s", user: "u", theme: "dark" });
    await b.SignIn("http://x", "ana", "pw");
    expect(App.SignIn).toHaveBeenCalledWith("http://x", "ana", "pw");
    await b.StartPayment(1250, "GBP", true);
    expect(App.StartPayment).toHaveBeenCalledWith(1250, "GBP", true);
    await b.PressKey("5");
    expect(App.PressKey).toHaveBeenCalledWith("5");
    const cb = vi.fn();
    const unsub = b.on("levels", cb);
    expect(EventsOn).toHaveBeenCalledWith("levels", expect.any(Function));
    EventsOn.mock.calls[0][1]({ mic: -10, speaker: -20 });
    expect(cb).toHaveBeenCalledWith({ mic: -10, speaker: -20 });
    unsub();
    expect(off).toHaveBeenCalled();
  });
  it("rejects with the error text", async () => {
    const App = { Answer: vi.fn().mockRejectedValue("not_offered: the call is not ringing for you") };
    const b = wailsBridge({ go: { app: { App } }, runtime: { EventsOn: vi.fn() } })!;
    await expect(b.Answer()).rejects.toBe("not_offered: the call is not ringing for you");
    await expect(b.Hangup()).rejects.toThrow(/no Hangup/);
    expect(b.on("key", () => {})).toBeTypeOf("function");
  });
});

describe("injection", () => {
  it("bridge() returns the injected fake", () => {
    const f = new FakeBridge();
    setBridge(f);
    expect(bridge()).toBe(f);
  });
  it("bridge() throws with neither", () => {
    expect(() => bridge()).toThrow(/No Go bridge/);
  });
  it("the fake records calls, fails on demand and emits", async () => {
    const f = new FakeBridge();
    await f.Dial("123");
    expect(f.called("Dial")).toEqual([["123"]]);
    f.fail.Answer = "nope";
    await expect(f.Answer()).rejects.toBe("nope");
    const seen: unknown[] = [];
    const off = f.on("key", () => seen.push(1));
    f.emit("key");
    off();
    f.emit("key");
    expect(seen).toHaveLength(1);
  });
  it("errorText", () => {
    expect(errorText("boom")).toBe("boom");
    expect(errorText(new Error("bad"))).toBe("bad");
    expect(errorText({ message: "m" })).toBe("m");
    expect(errorText(undefined)).toBe("Something went wrong.");
    expect(errorText("")).toBe("Something went wrong.");
  });
});
