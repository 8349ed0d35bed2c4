// The contract with Go: desktop/app/contract.go (State, Call, Levels,
// Devices, HistoryItem, Prefs), kept by hand. What comes from the
// protocol (the payment status, presence, progress) is generated from Go
// package protocol into protocol.ts: imported here, never redeclared.
// Times arrive as RFC 3339 strings.

import type { AgentState, ListenMode, Payment, PaymentState, ProgressStatus } from "./protocol";

export type { FieldState, PayField, PayResult, Payment, PaymentState } from "./protocol";

export type Connection = "signed_out" | "connecting" | "connected" | "reconnecting";
export type CallState = "ringing" | "dialing" | "active" | "ended";
export type Theme = "light" | "dark" | "system";
export type Presence = AgentState;

export interface Call {
  id: string;
  from: string;
  outbound: boolean;
  state: CallState | string;
  progress?: ProgressStatus;
  started?: string | null;
  ended?: string | null;
  reason?: string;
  muted: boolean;
  held: boolean;
  /** The supervisors heard on the call now (whispering or barging), in
   * the order they started; absent while they only listen. */
  supervisors?: SupervisorHeard[] | null;
}

/** SupervisorHeard is a supervisor whispering or barging on the call
 * (desktop/app's Supervisor). */
export interface SupervisorHeard {
  user: string;
  mode: ListenMode | string;
}

export interface Devices {
  mic: string;
  speaker: string;
  /** The IDs chosen ("" for the system's default). */
  micId?: string;
  speakerId?: string;
}

export interface State {
  connection: Connection | string;
  error?: string;
  server?: string;
  user?: string;
  presence?: Presence;
  idleSince?: string | null;
  call?: Call | null;
  payment?: Payment | null;
  devices: Devices;
  theme: Theme | string;
  /** The last sign-in needs the one-time code from an authenticator app
   * (the account has a second factor), or had a wrong one. */
  needCode?: boolean;
}

export interface Levels {
  mic: number;
  speaker: number;
}

export interface Device {
  id: string;
  name: string;
  default: boolean;
}

export interface DeviceList {
  mics: Device[] | null;
  speakers: Device[] | null;
}

export interface HistoryItem {
  call: string;
  number: string;
  outbound: boolean;
  started: string;
  seconds: number;
  reason?: string;
  payment?: PaymentState;
  amount?: number;
  currency?: string;
  reference?: string;
}

export interface Prefs {
  server: string;
  user: string;
  theme: Theme | string;
  mic?: string;
  speaker?: string;
  /** ca: a private CA's certificate (PEM file) trusted for the server's. */
  ca?: string;
}
