// payment.ts: the secure-pay panel as data. It turns the protocol's
// Payment into rows and words, and amounts typed by the agent into minor
// units.
// Card data never reaches the UI: the status carries digit counts, the
// brand and the last four, and nothing here renders any other digit.

import type { PayField, Payment, State } from "../types";
import { hasLiveCall } from "./call";

// ---- currencies and amounts ----

/** currencies offered in the picker, most used first. */
export const currencies = ["GBP", "EUR", "USD", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "JPY"];

const zeroDecimal = new Set(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"]);
const threeDecimal = new Set(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]);

/** exponent is the currency's count of minor-unit decimals (ISO 4217; 2 when unknown). */
export function exponent(currency: string): number {
  const c = currency.toUpperCase();
  if (zeroDecimal.has(c)) return 0;
  if (threeDecimal.has(c)) return 3;
  return 2;
}

/** The largest amount the server takes, in minor units. */
export const maxMinor = 10_000_000_000;

export type AmountResult = { ok: true; minor: number } | { ok: false; error: string };

/** parseAmount reads an amount in major units ("12.50", "1,250") as minor
 * units of currency, without floating point. */
export function parseAmount(text: string, currency: string): AmountResult {
  const exp = exponent(currency);
  const t = text.trim().replace(/[\s\u00a0]/g, "").replace(/^[£€$¥]/, "");
  if (t === "") return { ok: false, error: "Enter the amount to take." };
  if (t.startsWith("-")) return { ok: false, error: "The amount cannot be negative." };
  const m = /^(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d*))?$/.exec(t);
  if (!m || (m[1] === undefined && !m[2])) {
    return { ok: false, error: exp === 0 ? "Enter the amount as a whole number, e.g. 1000." : "Enter the amount as a number, e.g. 12.50." };
  }
  const whole = (m[1] ?? "0").replace(/,/g, "");
  const frac = m[2] ?? "";
  if (frac.length > exp) {
    return { ok: false, error: exp === 0 ? `${currency.toUpperCase()} has no minor units: enter a whole number.` : `${currency.toUpperCase()} takes at most ${exp} decimals.` };
  }
  const wholeN = Number(whole);
  const fracN = frac === "" ? 0 : Number(frac.padEnd(exp, "0"));
  const minor = wholeN * 10 ** exp + fracN;
  if (!Number.isSafeInteger(minor) || minor > maxMinor) {
    return { ok: false, error: `That is more than the most one payment may take (${formatAmount(maxMinor, currency)}).` };
  }
  if (minor === 0) return { ok: false, error: "Enter an amount above zero, or choose Save card." };
  return { ok: true, minor };
}

/** formatAmount shows minor units as money: 1250 GBP → £12.50. */
export function formatAmount(minor: number, currency: string): string {
  const exp = exponent(currency);
  const major = minor / 10 ** exp;
  try {
    return new Intl.NumberFormat("en-GB", {
      style: "currency", currency: currency.toUpperCase(), minimumFractionDigits: exp, maximumFractionDigits: exp,
    }).format(major);
  } catch {
    return `${major.toFixed(exp)} ${currency.toUpperCase()}`;
  }
}

// ---- fields ----

const labels: Record<string, string> = {
  "card-number": "Card number",
  "expiry-date": "Expiry date",
  "security-code": "Security code",
  "postal-code": "Postcode",
  "routing-number": "Routing number",
  "account-number": "Account number",
};

export function fieldLabel(field: string): string {
  return labels[field] ?? sentence(field);
}

const fieldReasons: Record<string, string> = {
  "invalid-card-number": "Card number not valid",
  "invalid-card-type": "Card type not accepted",
  "invalid-date": "Expiry date not valid",
  "invalid-security-code": "Security code not valid",
  "invalid-postal-code": "Postcode not valid",
  "invalid-routing-number": "Routing number not valid",
  "invalid-account-number": "Account number not valid",
  timeout: "Caller stopped typing",
};

/** fieldReasonText says why a field failed, in words. */
export function fieldReasonText(reason: string | undefined): string {
  if (!reason) return "";
  return fieldReasons[reason] ?? sentence(reason);
}

const brands: Record<string, string> = {
  visa: "Visa", mastercard: "Mastercard", amex: "American Express", discover: "Discover",
  diners: "Diners Club", jcb: "JCB", maestro: "Maestro", unionpay: "UnionPay",
};

export function brandName(brand: string | undefined): string {
  if (!brand) return "";
  return brands[brand] ?? sentence(brand);
}

function sentence(code: string): string {
  const t = code.replace(/[_-]+/g, " ").trim();
  return t ? t[0].toUpperCase() + t.slice(1) : "";
}

/** onlyLast4 keeps a last-four value only if it is exactly four digits. */
function onlyLast4(v: string | undefined): string {
  return v && /^\d{4}$/.test(v) ? v : "";
}

/** dots shows a digit count as dots, never the digits. */
export function dots(n: number): string {
  const c = Math.max(0, Math.min(24, Math.floor(Number.isFinite(n) ? n : 0)));
  return "•".repeat(c);
}

export type Tone = "idle" | "active" | "ok" | "bad";

export interface FieldRow {
  field: string;
  label: string;
  state: string;
  stateText: string;
  tone: Tone;
  dots: string;
  /** digitsText says the count for screen readers ("5 digits entered"). */
  digitsText: string;
  reason: string;
  attemptsText: string;
  /** detail: the brand and last four for the card number, once known. */
  detail: string;
  current: boolean;
  canAsk: boolean;
  canReset: boolean;
}

/** editable: the agent may ask for or reset fields. */
export function editable(p: Payment | null | undefined): boolean {
  return !!p && (p.state === "capturing" || p.state === "ready");
}

export function fieldRow(f: PayField, p: Payment): FieldRow {
  const ed = editable(p);
  const isCard = f.field === "card-number";
  const row: FieldRow = {
    field: f.field,
    label: fieldLabel(f.field),
    state: f.state,
    stateText: "",
    tone: "idle",
    dots: dots(f.digits),
    digitsText: f.digits === 1 ? "1 digit entered" : `${Math.max(0, f.digits | 0)} digits entered`,
    reason: f.state === "invalid" || (f.reason && f.state !== "complete") ? fieldReasonText(f.reason) : "",
    attemptsText: "",
    detail: "",
    current: p.current === f.field || f.state === "capturing",
    canAsk: ed,
    canReset: ed && (f.digits > 0 || f.state === "complete" || f.state === "invalid"),
  };
  switch (f.state) {
    case "waiting": row.stateText = "Waiting"; break;
    case "capturing": row.stateText = "Caller typing"; row.tone = "active"; break;
    case "complete": row.stateText = "Complete"; row.tone = "ok"; break;
    case "invalid": row.stateText = "Not valid"; row.tone = "bad"; break;
    default: row.stateText = sentence(f.state);
  }
  if (f.state === "invalid" || (f.reason && f.state !== "complete")) {
    const n = Math.max(0, f.attemptsLeft | 0);
    row.attemptsText = n === 0 ? "No attempts left: ask again" : n === 1 ? "1 attempt left" : `${n} attempts left`;
  }
  if (isCard) {
    const b = brandName(p.brand);
    const l4 = onlyLast4(f.last4) || (f.state === "complete" ? onlyLast4(p.last4) : "");
    row.detail = [b, l4 ? `ending ${l4}` : ""].filter(Boolean).join(" ");
  }
  return row;
}

// ---- the whole panel ----

export interface Outcome {
  kind: "submitting" | "approved" | "declined" | "failed" | "cancelled" | "dropped" | "timed_out";
  title: string;
  detail: string;
  /** next says what the agent can do now. */
  next: string;
  reference: string;
  token: string;
}

export interface PaymentView {
  /** live: capturing, ready, submitting or failed (the session is open). */
  live: boolean;
  final: boolean;
  title: string;
  stateText: string;
  progressText: string;
  rows: FieldRow[];
  canSubmit: boolean;
  submitLabel: string;
  canCancel: boolean;
  /** capturing: the caller's keys go to the payment (the indicator pulses). */
  capturing: boolean;
  outcome: Outcome | null;
  announce: string;
}

const declineReasons: Record<string, string> = {
  card_declined: "The card was declined by the bank",
  generic_decline: "The card was declined by the bank",
  do_not_honor: "The card was declined by the bank",
  insufficient_funds: "Not enough funds on the card",
  expired_card: "The card has expired",
  incorrect_cvc: "The security code was wrong",
  invalid_cvc: "The security code was wrong",
  incorrect_number: "The card number was wrong",
  invalid_number: "The card number was wrong",
  invalid_expiry_month: "The expiry date was wrong",
  invalid_expiry_year: "The expiry date was wrong",
  incorrect_zip: "The postcode did not match",
  processing_error: "The bank could not process the card",
  card_not_supported: "This card does not support this kind of payment",
  currency_not_supported: "The card cannot be charged in this currency",
  card_velocity_exceeded: "The card has reached its limit",
  authentication_required: "The bank wants the cardholder to approve it online",
  lost_card: "The card was declined by the bank",
  stolen_card: "The card was declined by the bank",
  fraudulent: "The card was declined by the bank",
  pickup_card: "The card was declined by the bank",
  invalid_amount: "The amount was not accepted",
};

const declineNext: Record<string, string> = {
  insufficient_funds: "Ask the caller for another card, or a smaller amount.",
  expired_card: "Ask the caller for a card that is in date.",
  incorrect_cvc: "Start again and ask the caller to check the security code.",
  incorrect_number: "Start again and ask the caller to check the number.",
  processing_error: "Start the payment again; if it fails again, ask for another card.",
};

/** declineText says why the gateway declined, in words. */
export function declineText(reason: string | undefined): string {
  if (!reason) return "The card was declined";
  return declineReasons[reason] ?? sentence(reason);
}

const failReasons: Record<string, string> = {
  gateway_unavailable: "The payment gateway could not be reached",
  gateway_error: "The payment gateway gave no readable answer",
  timeout: "The payment gateway did not answer in time",
};

/** failText says why a submit did not get an answer. */
export function failText(reason: string | undefined): string {
  if (!reason) return "The payment gateway did not answer";
  return failReasons[reason] ?? (/[ .]/.test(reason) ? reason : sentence(reason));
}

const stateTexts: Record<string, string> = {
  capturing: "Caller is typing card details",
  ready: "Every field is valid: submit the payment",
  submitting: "Sending to the payment gateway…",
  failed: "Not confirmed by the gateway",
  approved: "Approved",
  declined: "Declined",
  cancelled: "Cancelled",
  dropped: "Ended with the call",
  timed_out: "Timed out",
};

export function isFinal(p: Payment | null | undefined): boolean {
  const s = p?.state;
  return s === "approved" || s === "declined" || s === "cancelled" || s === "dropped" || s === "timed_out";
}

function outcomeOf(p: Payment): Outcome | null {
  const saving = p.amount === 0;
  const money = saving ? "" : formatAmount(p.amount, p.currency);
  const r = p.result ?? null;
  const o: Outcome = { kind: "approved", title: "", detail: "", next: "", reference: r?.reference ?? "", token: r?.token ?? "" };
  switch (p.state) {
    case "submitting":
      o.kind = "submitting";
      o.title = "Sending to the payment gateway…";
      o.detail = "Wait for the answer; the caller stays on the line.";
      return o;
    case "approved":
      o.kind = "approved";
      o.title = saving ? "Card saved" : `Payment approved: ${money}`;
      o.detail = [brandName(p.brand), onlyLast4(p.last4) ? `ending ${onlyLast4(p.last4)}` : ""].filter(Boolean).join(" ");
      o.next = "Tell the caller it went through.";
      return o;
    case "declined":
      o.kind = "declined";
      o.title = saving ? "Card not saved" : "Payment declined";
      o.detail = declineText(r?.reason);
      o.next = declineNext[r?.reason ?? ""] ?? "Ask the caller for another card, then start again.";
      return o;
    case "failed":
      o.kind = "failed";
      o.title = "Payment not confirmed";
      o.detail = failText(r?.reason);
      o.next = "Submit again: the same payment is never charged twice. Or cancel it.";
      return o;
    case "cancelled":
      o.kind = "cancelled";
      o.title = "Payment cancelled";
      o.detail = "Nothing was charged.";
      return o;
    case "dropped":
      o.kind = "dropped";
      o.title = "Payment ended with the call";
      o.detail = "Nothing was charged.";
      return o;
    case "timed_out":
      o.kind = "timed_out";
      o.title = "Payment timed out";
      o.detail = "Nothing happened for 10 minutes; nothing was charged.";
      o.next = "Start again when the caller is ready.";
      return o;
  }
  return null;
}

export function paymentView(p: Payment | null | undefined): PaymentView | null {
  if (!p) return null;
  const rows = (p.fields ?? []).map((f) => fieldRow(f, p));
  const done = rows.filter((r) => r.state === "complete").length;
  const final = isFinal(p);
  const live = !final;
  const saving = p.amount === 0;
  const v: PaymentView = {
    live,
    final,
    title: saving ? "Saving a card (no charge)" : `Taking ${formatAmount(p.amount, p.currency)}`,
    stateText: stateTexts[p.state] ?? sentence(p.state),
    progressText: rows.length ? `${done} of ${rows.length} fields complete` : "",
    rows,
    canSubmit: p.state === "ready" || p.state === "failed",
    submitLabel: p.state === "failed" ? "Submit again" : "Submit payment",
    canCancel: p.state === "capturing" || p.state === "ready" || p.state === "failed",
    capturing: p.state === "capturing",
    outcome: outcomeOf(p),
    announce: "",
  };
  if (v.outcome && v.outcome.kind !== "submitting") {
    v.announce = [v.outcome.title, v.outcome.detail, v.outcome.next].filter(Boolean).join(". ");
  } else if (p.state === "ready") {
    v.announce = "All fields complete. Ready to submit.";
  } else if (p.state === "submitting") {
    v.announce = "Sending to the payment gateway.";
  } else {
    const cur = rows.find((r) => r.current);
    const bad = rows.find((r) => r.tone === "bad");
    v.announce = [bad ? `${bad.label}: ${bad.reason}` : "", cur ? `Caller typing ${cur.label.toLowerCase()}` : "", v.progressText].filter(Boolean).join(". ");
  }
  return v;
}

export interface StartView {
  canStart: boolean;
  reason: string;
}

/** startView: a payment starts on an answered call with no session open. */
export function startView(state: State | null): StartView {
  if (!state || state.connection !== "connected") return { canStart: false, reason: "Not connected" };
  const c = state.call;
  if (!hasLiveCall(state) || !c) return { canStart: false, reason: "Take a payment once you are talking to a caller" };
  if (c.state !== "active") return { canStart: false, reason: "Take a payment once the call is answered" };
  if (c.held) return { canStart: false, reason: "Take the call off hold first" };
  const p = state.payment;
  if (p && !isFinal(p)) return { canStart: false, reason: "A payment is already under way" };
  return { canStart: true, reason: "" };
}
