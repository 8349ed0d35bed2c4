// format.ts: the console's words and numbers. Pure. Times show in the
// browser's own zone (Intl); durations as the agent app's clocks.

import type { Payment } from "../protocol";
import { brandName, fieldLabel, formatAmount } from "../model/payment";
import { clock } from "../model/time";

export { clock };

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** when shows an RFC 3339 time in the browser's zone ("" if unreadable). */
export function when(iso: string | undefined | null, fmt: Intl.DateTimeFormat = dateTime): string {
  if (!iso) return "";
  const t = Date.parse(iso);
  return Number.isNaN(t) ? "" : fmt.format(t);
}

/** timeOfDay shows only the time, in the browser's zone. */
export function timeOfDay(iso: string | undefined | null): string {
  return when(iso, timeOnly);
}

/** ms shows milliseconds as a clock (mm:ss, h:mm:ss). */
export function ms(n: number | undefined | null): string {
  return clock(Math.round((Number.isFinite(n) ? (n as number) : 0) / 1000));
}

/** percent shows a 0..1 ratio as a whole percentage. */
export function percent(r: number | undefined | null): string {
  const v = Number.isFinite(r) ? (r as number) : 0;
  return `${Math.round(Math.max(0, Math.min(1, v)) * 100)}%`;
}

/** int shows a count, or 0 for anything that is not one. */
export function int(n: number | undefined | null): string {
  return String(Number.isFinite(n) ? Math.max(0, Math.floor(n as number)) : 0);
}

/** startOfToday is the browser's local midnight, as RFC 3339 (UTC). */
export function startOfToday(now: Date = new Date()): string {
  const d = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  return d.toISOString();
}

/** dayStart and dayEnd turn a date input's value (YYYY-MM-DD, local) into
 * RFC 3339 bounds: the day's local midnight, and the next day's (the
 * API's "to" is exclusive). "" for an empty or unreadable value. */
export function dayStart(v: string): string {
  const d = localDay(v);
  return d ? d.toISOString() : "";
}

export function dayEnd(v: string): string {
  const d = localDay(v);
  if (!d) return "";
  d.setDate(d.getDate() + 1);
  return d.toISOString();
}

function localDay(v: string): Date | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v.trim());
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** last4 keeps a last-four value only if it is exactly four digits: the
 * page never shows more of a card than that, whatever it is sent. */
export function last4(v: string | undefined): string {
  return v && /^\d{4}$/.test(v) ? v : "";
}

const stateWords: Record<string, string> = {
  capturing: "capturing",
  ready: "ready to submit",
  submitting: "submitting",
  failed: "failed",
  approved: "approved",
  declined: "declined",
  cancelled: "cancelled",
  dropped: "dropped",
  timed_out: "timed out",
};

/** paymentWord is the session's state (the outcome once final) in one word or two. */
export function paymentWord(p: Payment): string {
  return stateWords[p.state] ?? p.state.replace(/_/g, " ");
}

/** fieldSummary: "Card number 12 digits (capturing)", never a digit. */
export function fieldSummary(p: Payment): string[] {
  return (p.fields ?? []).map((f) => {
    const n = Math.max(0, Math.floor(Number(f.digits) || 0));
    const digits = n === 1 ? "1 digit" : `${n} digits`;
    const bits: string[] = [f.state];
    if (f.reason) bits.push(f.reason);
    if (f.state === "invalid" || f.reason) bits.push(`${Math.max(0, f.attemptsLeft | 0)} left`);
    return `${fieldLabel(f.field)} ${digits} (${bits.join(", ")})`;
  });
}

/** paymentSummary is the payment as one line: amount, state, fields,
 * brand and last four; what the agent sees, never more. */
export function paymentSummary(p: Payment | undefined | null): string {
  if (!p) return "";
  const parts: string[] = [];
  parts.push(p.amount === 0 ? "save card" : formatAmount(p.amount, p.currency));
  parts.push(paymentWord(p));
  const card = [brandName(p.brand), last4(p.last4) ? `ending ${last4(p.last4)}` : ""].filter(Boolean).join(" ");
  if (card) parts.push(card);
  const fields = fieldSummary(p);
  if (fields.length) parts.push(fields.join("; "));
  if (p.result?.reason && p.state !== "approved") parts.push(p.result.reason.replace(/_/g, " "));
  return parts.join(" · ");
}

const agentStates: Record<string, string> = {
  available: "Available", away: "Away", ringing: "Ringing", busy: "On a call", offline: "Offline",
};

/** agentStateText says an agent's state in words (the protocol's word is
 * the element's text for tests; this is its label). */
export function agentStateText(s: string): string {
  return agentStates[s] ?? s;
}

/** apiError reads the API's {"error": "..."} body, or says what the status means. */
export function apiErrorText(status: number, body: unknown): string {
  const e = (body as { error?: unknown } | null)?.error;
  if (typeof e === "string" && e.trim()) return e.trim();
  switch (status) {
    case 0: return "The server could not be reached: check the connection.";
    case 401: return "Your session has ended: sign in again.";
    case 403: return "Your role may not do that.";
    case 404: return "Not found.";
    case 429: return "Too many attempts: wait a little and try again.";
    case 503: return "The server is busy or shutting down: try again shortly.";
    default: return status >= 500 ? "The server failed: try again." : `The request failed (HTTP ${status}).`;
  }
}

/** backoff is the wait before reconnect attempt n (0-based): 0.5 s
 * doubling to 15 s, with up to a quarter more at random so that many
 * consoles do not come back at once. */
export function backoff(n: number, rnd: number = Math.random()): number {
  const base = Math.min(15000, 500 * 2 ** Math.max(0, Math.min(n, 10)));
  return Math.round(base * (1 + 0.25 * Math.max(0, Math.min(1, rnd))));
}

/** randomPassword is a password for a reset: 20 letters (about 110
 * bits) without look-alikes, from the browser's CSPRNG. No digits: the
 * page never shows a run of digits that could pass for card data. */
export function randomPassword(rand: (a: Uint8Array) => Uint8Array = (a) => crypto.getRandomValues(a)): string {
  const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
  const out: string[] = [];
  while (out.length < 20) {
    const b = rand(new Uint8Array(32));
    for (const x of b) {
      // Rejection sampling: no bias towards the alphabet's first letters.
      if (x < 256 - (256 % alphabet.length) && out.length < 20) out.push(alphabet[x % alphabet.length]);
    }
  }
  return out.join("");
}
