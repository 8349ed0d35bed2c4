// fake.ts: a Bridge without Go, for tests and for looking at the UI in a
// plain browser. It records every call and lets the caller emit events.

import type { Bridge, EventName, Events } from "./bridge";
import type { DeviceList, HistoryItem, Prefs, State } from "./types";

export interface FakeCall {
  method: string;
  args: unknown[];
}

export function emptyState(): State {
  return { connection: "signed_out", devices: { mic: "", speaker: "" }, theme: "system" };
}

export class FakeBridge implements Bridge {
  calls: FakeCall[] = [];
  state: State = emptyState();
  prefs: Prefs = { server: "http://127.0.0.1:8080", user: "", theme: "system" };
  devices: DeviceList = {
    mics: [{ id: "mic-1", name: "Built-in microphone", default: true }, { id: "mic-2", name: "USB headset", default: false }],
    speakers: [{ id: "spk-1", name: "Built-in speakers", default: true }, { id: "spk-2", name: "USB headset", default: false }],
  };
  history: HistoryItem[] = [];
  /** fail makes the named method reject with this text. */
  fail: Record<string, string> = {};
  private handlers = new Map<string, Set<(d: unknown) => void>>();

  private record(method: string, args: unknown[]): Promise<void> {
    this.calls.push({ method, args });
    const f = this.fail[method];
    return f ? Promise.reject(f) : Promise.resolve();
  }
  /** called lists the arguments of every call of method. */
  called(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  emit<E extends EventName>(name: E, data?: Events[E]): void {
    if (name === "state") this.state = data as State;
    for (const cb of this.handlers.get(name) ?? []) cb(data);
  }
  on<E extends EventName>(name: E, cb: (data: Events[E]) => void): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    const h = cb as (d: unknown) => void;
    set.add(h);
    return () => set!.delete(h);
  }
  listeners(name: EventName): number {
    return this.handlers.get(name)?.size ?? 0;
  }

  Prefs() { return this.record("Prefs", []).then(() => this.prefs); }
  State() { return this.record("State", []).then(() => this.state); }
  Devices() { return this.record("Devices", []).then(() => this.devices); }
  History() { return this.record("History", []).then(() => this.history); }
  SignIn(server: string, user: string, password: string) { return this.record("SignIn", [server, user, password]); }
  SignInWithCode(server: string, user: string, password: string, code: string) { return this.record("SignInWithCode", [server, user, password, code]); }
  SignOut() { return this.record("SignOut", []); }
  SetPresence(status: "available" | "away") { return this.record("SetPresence", [status]); }
  Answer() { return this.record("Answer", []); }
  Decline() { return this.record("Decline", []); }
  Hangup() { return this.record("Hangup", []); }
  SetMute(on: boolean) { return this.record("SetMute", [on]); }
  SetHold(on: boolean) { return this.record("SetHold", [on]); }
  Dial(number: string) { return this.record("Dial", [number]); }
  PressKey(key: string) { return this.record("PressKey", [key]); }
  SetDevices(mic: string, speaker: string) { return this.record("SetDevices", [mic, speaker]); }
  TestTone() { return this.record("TestTone", []); }
  SetTheme(theme: "light" | "dark" | "system") { return this.record("SetTheme", [theme]); }
  SetCA(path: string) { return this.record("SetCA", [path]); }
  StartPayment(amount: number, currency: string, postcode: boolean) { return this.record("StartPayment", [amount, currency, postcode]); }
  AskField(field: string) { return this.record("AskField", [field]); }
  ResetField(field: string) { return this.record("ResetField", [field]); }
  CancelPayment() { return this.record("CancelPayment", []); }
  SubmitPayment() { return this.record("SubmitPayment", []); }
}
