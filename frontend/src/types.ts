// The contract with Go: desktop/app/contract.go (State, Call, Levels,
// Devices, HistoryItem, Prefs) and desktop/engine/pay.go (Payment). Times
// arrive as RFC 3339 strings.

export type Connection = "signed_out" | "connecting" | "connected" | "reconnecting";
export type CallState = "ringing" | "dialing" | "active" | "ended";
export type Theme = "light" | "dark" | "system";
export type Presence = "available" | "away" | "busy" | string;

export interface Call {
  id: string;
  from: string;
  outbound: boolean;
  state: CallState | string;
  progress?: string;
  started?: string | null;
  ended?: string | null;
  reason?: string;
  muted: boolean;
  held: boolean;
}

export type FieldState = "waiting" | "capturing" | "complete" | "invalid";

export interface PayField {
  field: string;
  state: FieldState | string;
  digits: number;
  reason?: string;
  attemptsLeft: number;
  last4?: string;
}

export interface PayResult {
  outcome: "approved" | "declined" | "failed" | string;
  reference?: string;
  token?: string;
  reason?: string;
}

export type PaymentState =
  | "capturing"
  | "ready"
  | "submitting"
  | "failed"
  | "approved"
  | "declined"
  | "cancelled"
  | "dropped"
  | "timed_out";

export interface Payment {
  id: string;
  call: string;
  agent: string;
  seq: number;
  state: PaymentState | string;
  amount: number;
  currency: string;
  description?: string;
  method: string;
  gateway: string;
  fields?: PayField[] | null;
  current?: string;
  brand?: string;
  last4?: string;
  result?: PayResult | null;
  started: string;
  ended?: string | null;
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
  payment?: string;
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
}
