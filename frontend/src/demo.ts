// demo.ts: a fake Go side for a plain browser: sign in with anything to
// see the main view with a call and a payment in progress.

import { FakeBridge } from "./fake";
import type { State } from "./types";

export function demoBridge(): FakeBridge {
  const f = new FakeBridge();
  const base = (): State => ({
    connection: "connected", server: f.prefs.server, user: "demo", presence: "busy",
    devices: { mic: "Built-in microphone", speaker: "Built-in speakers" }, theme: f.state.theme,
    call: { id: "c1", from: "+44 20 7946 0000", outbound: false, state: "active", started: new Date(Date.now() - 95_000).toISOString(), muted: false, held: false },
    payment: {
      id: "pay_demo", call: "c1", agent: "demo", seq: 7, state: "capturing", amount: 1250, currency: "GBP", method: "card", gateway: "sandbox",
      brand: "visa", last4: "4242", current: "expiry-date", started: new Date().toISOString(),
      fields: [
        { field: "card-number", state: "complete", digits: 16, attemptsLeft: 3, last4: "4242" },
        { field: "expiry-date", state: "capturing", digits: 2, attemptsLeft: 2, reason: "invalid-date" },
        { field: "security-code", state: "waiting", digits: 0, attemptsLeft: 3 },
      ],
    },
  });
  const orig = f.SignIn.bind(f);
  f.SignIn = (s, u, p) => orig(s, u, p).then(() => {
    f.emit("state", { ...base(), connection: "connecting", call: null, payment: null });
    setTimeout(() => f.emit("state", base()), 600);
  });
  f.SetTheme = (t) => Promise.resolve(f.emit("state", { ...f.state, theme: t }));
  f.SignOut = () => Promise.resolve(f.emit("state", { connection: "signed_out", devices: f.state.devices, theme: f.state.theme }));
  f.history = [
    { call: "h1", number: "+44 161 496 0000", outbound: false, started: new Date(Date.now() - 3_600_000).toISOString(), seconds: 312, payment: "approved", amount: 4999, currency: "GBP", reference: "sb_ch_demo" },
    { call: "h2", number: "+44 117 496 0000", outbound: true, started: new Date(Date.now() - 7_200_000).toISOString(), seconds: 0, reason: "no_answer" },
  ];
  setInterval(() => f.emit("levels", { mic: -60 + Math.random() * 40, speaker: -50 + Math.random() * 35 }), 100);
  return f;
}
