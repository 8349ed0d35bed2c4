// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import { FakeBridge } from "../fake";
import { call, payment, state, T0 } from "../model/fixtures";
import { mount, type Mounted } from "./app";
import { Ringer } from "./ring";

let m: Mounted | null = null;
afterEach(() => {
  m?.destroy();
  m = null;
});

const flush = () => new Promise((r) => setTimeout(r, 0));
const btn = (text: string) => [...document.querySelectorAll("button")].find((b) => b.textContent?.trim() === text && !b.closest("[hidden]"))!;

async function start(s = state()) {
  const f = new FakeBridge();
  f.state = s;
  const root = document.createElement("div");
  document.body.replaceChildren(root);
  m = mount(root, f, { now: () => T0 + 65_000, ringer: new Ringer() });
  await flush();
  return f;
}

describe("app", () => {
  it("signs in with the prefilled server and name", async () => {
    const f = await start({ connection: "signed_out", devices: { mic: "", speaker: "" }, theme: "system" });
    f.prefs = { server: "http://127.0.0.1:8080", user: "", theme: "system" };
    const server = document.querySelector<HTMLInputElement>("#si-server")!;
    expect(server.value).toBe("http://127.0.0.1:8080");
    document.querySelector<HTMLInputElement>("#si-user")!.value = "ana";
    document.querySelector<HTMLInputElement>("#si-password")!.value = "secret";
    document.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await flush();
    expect(f.called("SignIn")).toEqual([["http://127.0.0.1:8080", "ana", "secret"]]);
    expect(document.querySelector<HTMLInputElement>("#si-password")!.value).toBe("");
    f.emit("state", { connection: "connecting", devices: { mic: "", speaker: "" }, theme: "system" });
    expect(document.querySelector(".signin button")!.textContent).toContain("Connecting");
    f.emit("state", { connection: "signed_out", error: "Wrong name or password.", devices: { mic: "", speaker: "" }, theme: "system" });
    expect(document.querySelector("#si-error")!.textContent).toBe("Wrong name or password.");
  });
  it("sets the private CA before signing in, only when it changed", async () => {
    const f = new FakeBridge();
    f.prefs = { server: "https://hushphone.example.com", user: "ana", theme: "system", ca: "/etc/old-ca.pem" };
    f.state = { connection: "signed_out", devices: { mic: "", speaker: "" }, theme: "system" };
    const root = document.createElement("div");
    document.body.replaceChildren(root);
    m = mount(root, f, { now: () => T0, ringer: new Ringer() });
    await flush();
    const ca = document.querySelector<HTMLInputElement>("#si-ca")!;
    expect(ca.value).toBe("/etc/old-ca.pem");
    const submit = () => {
      document.querySelector<HTMLInputElement>("#si-password")!.value = "secret";
      document.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    };
    submit();
    await flush();
    expect(f.called("SetCA")).toEqual([]);
    ca.value = " /etc/hushphone-ca.pem ";
    submit();
    await flush();
    expect(f.called("SetCA")).toEqual([["/etc/hushphone-ca.pem"]]);
    expect(f.calls.map((c) => c.method).filter((n) => n === "SetCA" || n === "SignIn")).toEqual(["SignIn", "SetCA", "SignIn"]);
    f.fail.SetCA = "check what you typed: the private CA file ca.pem holds no PEM certificate";
    ca.value = "/tmp/ca.pem";
    submit();
    await flush();
    expect(f.called("SignIn")).toHaveLength(2);
  });
  it("asks for the one-time code when the server needs it, and sends it with the password", async () => {
    const f = await start({ connection: "signed_out", devices: { mic: "", speaker: "" }, theme: "system" });
    const code = document.querySelector<HTMLInputElement>("#si-code")!;
    expect(code.hidden).toBe(true);
    f.emit("state", { connection: "signed_out", needCode: true, error: "check what you typed: enter your password again and the 6-digit code from your authenticator app", devices: { mic: "", speaker: "" }, theme: "system" });
    expect(code.hidden).toBe(false);
    expect(code.autocomplete).toBe("one-time-code");
    document.querySelector<HTMLInputElement>("#si-server")!.value = "http://127.0.0.1:8080";
    document.querySelector<HTMLInputElement>("#si-user")!.value = "ana";
    document.querySelector<HTMLInputElement>("#si-password")!.value = "secret";
    // Without the code, the form says so and sends nothing.
    document.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await flush();
    expect(document.querySelector("#si-error")!.textContent).toBe("Enter the code from your authenticator app.");
    expect(f.called("SignInWithCode")).toEqual([]);
    code.value = " 123456 ";
    document.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
    await flush();
    expect(f.called("SignInWithCode")).toEqual([["http://127.0.0.1:8080", "ana", "secret", "123456"]]);
    expect(f.called("SignIn")).toEqual([]);
    expect(code.value).toBe("");
    f.emit("state", { connection: "signed_out", devices: { mic: "", speaker: "" }, theme: "system" });
    expect(code.hidden).toBe(true);
  });
  it("main view: idle time, presence, theme", async () => {
    const f = await start(state({ idleSince: new Date(T0).toISOString(), theme: "dark" }));
    expect(document.querySelector(".idle")!.textContent).toBe("Idle for 01:05");
    expect(document.documentElement.dataset.theme).toBe("dark");
    document.querySelector<HTMLButtonElement>(".presence")!.click();
    await flush();
    expect(f.called("SetPresence")).toEqual([["away"]]);
    expect(f.called("History")).toHaveLength(1);
  });
  it("rings, answers with Alt+A, stops ringing", async () => {
    const f = await start();
    f.emit("state", state({ presence: "ringing", call: call({ state: "ringing", started: null }) }));
    f.emit("ring", call({ state: "ringing" }));
    expect(m!.ringer.ringing).toBe(true);
    window.dispatchEvent(new KeyboardEvent("keydown", { code: "KeyA", altKey: true }));
    await flush();
    expect(f.called("Answer")).toHaveLength(1);
    f.emit("state", state({ presence: "busy", call: call() }));
    expect(m!.ringer.ringing).toBe(false);
    expect(btn("Hang up").getAttribute("title")).toBe("Hang up (Alt+H)");
  });
  it("in a call: mute, hold, keypad tones; keypad off while a payment captures", async () => {
    const f = await start(state({ call: call() }));
    btn("Mute").click();
    window.dispatchEvent(new KeyboardEvent("keydown", { code: "KeyO", altKey: true }));
    document.querySelector<HTMLButtonElement>('.key[data-key="5"]')!.click();
    await flush();
    expect(f.called("SetMute")).toEqual([[true]]);
    expect(f.called("SetHold")).toEqual([[true]]);
    expect(f.called("PressKey")).toEqual([["5"]]);
    f.emit("state", state({ call: call(), payment: payment() }));
    expect(document.querySelector<HTMLButtonElement>('.key[data-key="5"]')!.disabled).toBe(true);
    expect(document.querySelector(".dialpad-reason")!.textContent).toMatch(/card details/);
    f.emit("key");
    expect(document.querySelector(".key-indicator")!.classList.contains("on")).toBe(true);
  });
  it("dials when idle", async () => {
    const f = await start();
    for (const k of ["0", "7", "#"]) document.querySelector<HTMLButtonElement>(`.key[data-key="${k}"]`)!.click();
    btn("Call").click();
    await flush();
    expect(f.called("Dial")).toEqual([["07#"]]);
  });
  it("shows the reconnecting banner, then Reconnected", async () => {
    const f = await start();
    f.emit("state", state({ connection: "reconnecting" }));
    expect(document.querySelector(".banner")!.textContent).toBe("Connection lost — reconnecting…");
    f.emit("state", state());
    expect(document.querySelector(".banner")!.textContent).toBe("Reconnected");
  });
  it("shows a refused request in words", async () => {
    const f = await start(state({ call: call() }));
    f.fail.Hangup = "The call is already over.";
    btn("Hang up").click();
    await flush();
    expect(document.querySelector(".toast")!.textContent).toBe("The call is already over.");
  });
});
