// bridge.ts: the UI's only way to Go. In the Wails window it calls the
// bound methods (window.go.app.App.Method, each a Promise that rejects
// with the error's text) and listens through window.runtime.EventsOn.
// Tests and a plain browser inject a fake with setBridge.

import type { DeviceList, HistoryItem, Levels, Prefs, State, Call } from "./types";

export interface Events {
  state: State;
  levels: Levels;
  key: void;
  ring: Call;
}
export type EventName = keyof Events;

export interface Bridge {
  Prefs(): Promise<Prefs>;
  State(): Promise<State>;
  SignIn(server: string, user: string, password: string): Promise<void>;
  /** SignInWithCode adds the one-time code (state.needCode asks for it). */
  SignInWithCode(server: string, user: string, password: string, code: string): Promise<void>;
  SignOut(): Promise<void>;
  SetPresence(status: "available" | "away"): Promise<void>;
  Answer(): Promise<void>;
  Decline(): Promise<void>;
  Hangup(): Promise<void>;
  SetMute(on: boolean): Promise<void>;
  SetHold(on: boolean): Promise<void>;
  Dial(number: string): Promise<void>;
  PressKey(key: string): Promise<void>;
  Devices(): Promise<DeviceList>;
  SetDevices(micId: string, speakerId: string): Promise<void>;
  TestTone(): Promise<void>;
  SetTheme(theme: "light" | "dark" | "system"): Promise<void>;
  /** SetCA sets the private CA's PEM file ("" for the system's roots). */
  SetCA(path: string): Promise<void>;
  History(): Promise<HistoryItem[]>;
  /** postcode: ask the caller for the billing postal code after the card. */
  StartPayment(amount: number, currency: string, postcode: boolean): Promise<void>;
  AskField(field: string): Promise<void>;
  ResetField(field: string): Promise<void>;
  CancelPayment(): Promise<void>;
  SubmitPayment(): Promise<void>;
  /** UIReady tells Go the first view is drawn (it measures start-up). */
  UIReady?(): Promise<void>;
  /** on subscribes to an event; the returned function unsubscribes. */
  on<E extends EventName>(name: E, cb: (data: Events[E]) => void): () => void;
}

export const methods = [
  "Prefs", "State", "SignIn", "SignInWithCode", "SignOut", "SetPresence", "Answer", "Decline",
  "Hangup", "SetMute", "SetHold", "Dial", "PressKey", "Devices", "SetDevices",
  "TestTone", "SetTheme", "SetCA", "History", "StartPayment", "AskField", "ResetField",
  "CancelPayment", "SubmitPayment", "UIReady",
] as const;

type AnyFn = (...args: unknown[]) => Promise<unknown>;

interface WailsWindow {
  go?: { app?: { App?: Record<string, AnyFn> } };
  runtime?: { EventsOn?: (name: string, cb: (...data: unknown[]) => void) => (() => void) | void };
}

/** wailsBridge returns the bridge to the Wails bindings on w, or null when
 * they are absent (a test, a plain browser). */
export function wailsBridge(w: unknown = globalThis): Bridge | null {
  const win = w as WailsWindow;
  const app = win.go?.app?.App;
  const events = win.runtime?.EventsOn;
  if (!app || !events) return null;
  const b: Record<string, unknown> = {};
  for (const m of methods) {
    b[m] = (...args: unknown[]) => {
      const fn = app[m];
      if (typeof fn !== "function") return Promise.reject(new Error(`The app has no ${m}: update the app.`));
      return fn(...args);
    };
  }
  b.on = (name: string, cb: (data: unknown) => void) => {
    const off = events(name, (...data: unknown[]) => cb(data[0]));
    return typeof off === "function" ? off : () => {};
  };
  return b as unknown as Bridge;
}

let current: Bridge | null = null;

/** setBridge injects a bridge (a fake in tests); null goes back to Wails. */
export function setBridge(b: Bridge | null): void {
  current = b;
}

/** bridge returns the injected bridge, else Wails'; it throws when neither. */
export function bridge(): Bridge {
  if (current) return current;
  const w = wailsBridge();
  if (!w) throw new Error("No Go bridge: not running inside the app, and no fake injected.");
  current = w;
  return w;
}

/** errorText turns a rejection (Wails rejects with a string) into words. */
export function errorText(e: unknown): string {
  if (typeof e === "string") return e || "Something went wrong.";
  if (e instanceof Error) return e.message || "Something went wrong.";
  if (e && typeof e === "object" && "message" in e) return String((e as { message: unknown }).message);
  return "Something went wrong.";
}
