// fixtures.ts: states for tests.
import type { Call, PayField, Payment, State } from "../types";

export const T0 = Date.parse("2025-03-04T10:00:00Z");
export const iso = (msFromT0: number) => new Date(T0 + msFromT0).toISOString();

export function state(over: Partial<State> = {}): State {
  return { connection: "connected", user: "ana", server: "http://127.0.0.1:8080", presence: "available", devices: { mic: "Mic", speaker: "Spk" }, theme: "system", ...over };
}

export function call(over: Partial<Call> = {}): Call {
  return { id: "c1", from: "+441234", outbound: false, state: "active", started: iso(0), muted: false, held: false, ...over };
}

// The payment fixtures take any string for a state or reason where the
// protocol has a union, and null fields, as a newer or broken server
// might send: the UI must cope with values it does not know.
export function field(name: string, over: Partial<Omit<PayField, "state" | "reason">> & { state?: string; reason?: string } = {}): PayField {
  return { field: name, state: "waiting", digits: 0, attemptsLeft: 3, ...over } as PayField;
}

export function payment(over: Partial<Omit<Payment, "state" | "fields">> & { state?: string; fields?: PayField[] | null } = {}): Payment {
  return {
    id: "pay_0123456789abcdef01234567", call: "c1", agent: "ana", seq: 1, state: "capturing", amount: 1250, currency: "GBP",
    method: "card", gateway: "sandbox", started: iso(0),
    fields: [field("card-number", { state: "capturing", digits: 5 }), field("expiry-date"), field("security-code")],
    current: "card-number",
    ...over,
  } as Payment;
}
