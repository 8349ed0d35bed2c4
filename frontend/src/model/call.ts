// call.ts: the call card and dialpad as data: what to show, which
// buttons work, and why the dialpad is off.

import type { Call, Payment, State, SupervisorHeard } from "../types";
import { between, clock, since } from "./time";

export interface CallView {
  /** kind picks the card: none (idle), ringing, dialing, active, ended. */
  kind: "none" | "ringing" | "dialing" | "active" | "ended";
  title: string;
  number: string;
  direction: string;
  /** status is the line under the number ("On hold", "Ringing…", why it ended). */
  status: string;
  timer: string;
  canAnswer: boolean;
  canDecline: boolean;
  canHangup: boolean;
  canMute: boolean;
  canHold: boolean;
  muted: boolean;
  held: boolean;
  /** announce is what the call-state live region says. */
  announce: string;
  /** supervisors says who is heard on the call besides the caller
   * ("Sue is whispering", "Sam has joined the call (barge)"), "" when
   * nobody: the supervisors' live region says it. */
  supervisors: string;
}

/** supervisorsText says who is heard on the call, in the order they
 * started: whispering (to the agent alone) or barging in (the caller
 * hears them too). Supervisors who only listen are never listed: the
 * server does not tell the agent of them. */
export function supervisorsText(list: SupervisorHeard[] | null | undefined): string {
  const parts: string[] = [];
  for (const s of list ?? []) {
    if (!s?.user) continue;
    if (s.mode === "whisper") parts.push(`${s.user} is whispering`);
    else if (s.mode === "barge") parts.push(`${s.user} has joined the call (barge)`);
  }
  return parts.join(". ");
}

const endReasons: Record<string, string> = {
  agent: "You hung up",
  caller_gone: "The caller hung up",
  remote: "The other side hung up",
  busy: "The number was busy",
  no_answer: "No answer",
  rejected: "The call was refused",
  failed: "The call could not be placed",
  declined: "You declined the call",
  timeout: "Not answered in time",
  away: "Withdrawn: you went away",
  agent_gone: "Withdrawn: the connection dropped",
  answered_elsewhere: "Answered by another agent",
};

/** endReasonText says why a call ended, in words. */
export function endReasonText(reason: string | undefined): string {
  if (!reason) return "Call ended";
  return endReasons[reason] ?? sentence(reason);
}

function sentence(code: string): string {
  const t = code.replace(/[_-]+/g, " ").trim();
  return t ? t[0].toUpperCase() + t.slice(1) : "";
}

export function callView(state: State | null, now: number): CallView {
  const c: Call | null | undefined = state?.call;
  const v: CallView = {
    kind: "none", title: "No call", number: "", direction: "", status: "", timer: "",
    canAnswer: false, canDecline: false, canHangup: false, canMute: false, canHold: false,
    muted: false, held: false, announce: "", supervisors: "",
  };
  if (!c) return v;
  v.number = c.from || "Unknown number";
  v.direction = c.outbound ? "Outgoing" : "Incoming";
  v.muted = !!c.muted;
  v.held = !!c.held;
  switch (c.state) {
    case "ringing":
      v.kind = "ringing";
      v.title = "Incoming call";
      v.status = "Ringing";
      v.canAnswer = v.canDecline = true;
      v.announce = `Incoming call from ${v.number}`;
      break;
    case "dialing":
      v.kind = "dialing";
      v.title = "Calling";
      v.status = c.progress === "ringing" ? "Ringing…" : "Connecting…";
      v.timer = clock(0);
      v.canHangup = v.canMute = true;
      v.announce = `Calling ${v.number}`;
      break;
    case "active":
      v.kind = "active";
      v.title = c.outbound ? "Outgoing call" : "In call";
      v.status = c.held ? "On hold" : c.muted ? "Muted" : "Connected";
      v.timer = clock(since(c.started, now));
      v.canHangup = v.canMute = v.canHold = true;
      v.announce = `In call with ${v.number}${c.held ? ", on hold" : ""}${c.muted ? ", muted" : ""}`;
      v.supervisors = supervisorsText(c.supervisors);
      break;
    case "ended": {
      v.kind = "ended";
      v.title = "Call ended";
      v.status = endReasonText(c.reason);
      v.timer = c.started ? clock(between(c.started, c.ended)) : "";
      v.announce = `Call ended. ${v.status}`;
      break;
    }
    default:
      v.kind = "none";
  }
  return v;
}

/** live reports whether the state has a call that is not over. */
export function hasLiveCall(state: State | null): boolean {
  const s = state?.call?.state;
  return !!s && s !== "ended";
}

export interface DialpadView {
  enabled: boolean;
  /** mode: dial (idle: keys build a number to call) or tones (in a call: keys go to the far end). */
  mode: "dial" | "tones";
  reason: string;
  label: string;
}

/** paymentHoldsKeypad reports whether the caller's keys belong to a payment. */
export function paymentHoldsKeypad(p: Payment | null | undefined): boolean {
  return !!p && (p.state === "capturing" || p.state === "ready" || p.state === "submitting");
}

export function dialpadView(state: State | null): DialpadView {
  const conn = state?.connection;
  const c = state?.call;
  const live = hasLiveCall(state);
  const v: DialpadView = { enabled: false, mode: live ? "tones" : "dial", reason: "", label: "" };
  v.label = v.mode === "dial" ? "Dial a number" : "Send keypad tones";
  if (conn !== "connected") {
    v.reason = conn === "reconnecting" ? "Waiting for the connection to come back" : "Not connected";
    return v;
  }
  if (!live) {
    v.enabled = true;
    return v;
  }
  if (c!.state === "ringing") {
    v.reason = "Answer the call to use the keypad";
    return v;
  }
  if (c!.state === "dialing") {
    v.reason = "Keypad tones work once the call is answered";
    return v;
  }
  if (paymentHoldsKeypad(state?.payment)) {
    v.reason = "Keypad off while the caller types card details (secure pay)";
    return v;
  }
  if (c!.held) {
    v.reason = "The call is on hold";
    return v;
  }
  v.enabled = true;
  return v;
}

/** dialKeys are the dialpad's keys, in order, with their letters. */
export const dialKeys: { key: string; sub: string }[] = [
  { key: "1", sub: "" }, { key: "2", sub: "ABC" }, { key: "3", sub: "DEF" },
  { key: "4", sub: "GHI" }, { key: "5", sub: "JKL" }, { key: "6", sub: "MNO" },
  { key: "7", sub: "PQRS" }, { key: "8", sub: "TUV" }, { key: "9", sub: "WXYZ" },
  { key: "*", sub: "" }, { key: "0", sub: "+" }, { key: "#", sub: "" },
];

/** cleanNumber keeps what a dial string may hold: digits, + * # (and drops spaces, dashes, brackets). */
export function cleanNumber(text: string): string {
  return text.replace(/[^0-9+*#]/g, "");
}

/** levelPercent maps dBFS (-60..0) to a bar's width, 0..100. */
export function levelPercent(dbfs: number): number {
  if (!Number.isFinite(dbfs) || dbfs <= -60) return 0;
  if (dbfs >= 0) return 100;
  return Math.round(((dbfs + 60) / 60) * 100);
}
