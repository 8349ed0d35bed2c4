import { describe, expect, it } from "vitest";
import type { Payment } from "../protocol";
import { apiErrorText, backoff, dayEnd, dayStart, int, last4, ms, paymentSummary, percent, randomPassword, startOfToday, when } from "./format";
import { wsURL } from "./ws";
import { members } from "./queues";
import { hitsText } from "./recordings";

const pay = (over: Partial<Payment>): Payment => ({
  id: "pay_1", call: "c1", agent: "ann", seq: 1, state: "capturing", amount: 4999, currency: "GBP", method: "card",
  gateway: "sandbox", started: "2026-01-05T09:01:00Z", ...over,
});

describe("numbers", () => {
  it("formats durations, ratios and counts", () => {
    expect(ms(12400)).toBe("00:12");
    expect(ms(241000)).toBe("04:01");
    expect(ms(3_725_000)).toBe("1:02:05");
    expect(ms(undefined)).toBe("00:00");
    expect(percent(0.756)).toBe("76%");
    expect(percent(2)).toBe("100%");
    expect(percent(NaN)).toBe("0%");
    expect(int(3.7)).toBe("3");
    expect(int(-1)).toBe("0");
    expect(int(undefined)).toBe("0");
  });
});

describe("times", () => {
  it("shows times in the browser's zone, and nothing for nonsense", () => {
    expect(when("2026-01-05T09:00:00Z")).not.toBe("");
    expect(when("yesterday")).toBe("");
    expect(when(undefined)).toBe("");
  });

  it("turns local days into RFC 3339 bounds, the end exclusive", () => {
    const from = dayStart("2026-03-10");
    const to = dayEnd("2026-03-10");
    expect(new Date(from).getDate()).toBe(10);
    expect(new Date(from).getHours()).toBe(0);
    expect(new Date(to).getDate()).toBe(11);
    expect(Date.parse(to) - Date.parse(from)).toBeGreaterThanOrEqual(23 * 3600e3);
    expect(dayStart("")).toBe("");
    expect(dayEnd("10/03/2026")).toBe("");
  });

  it("starts today at local midnight", () => {
    const d = new Date(startOfToday(new Date(2026, 4, 6, 15, 30)));
    expect([d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes()]).toEqual([2026, 4, 6, 0, 0]);
  });
});

describe("payment progress", () => {
  it("says fields, digit counts, brand, last four and the outcome, never a digit more", () => {
    const p = pay({
      state: "capturing", brand: "visa", current: "expiry-date",
      fields: [
        { field: "card-number", state: "complete", digits: 16, attemptsLeft: 3, last4: "4242" },
        { field: "expiry-date", state: "capturing", digits: 2, attemptsLeft: 3 },
        { field: "security-code", state: "waiting", digits: 0, attemptsLeft: 3 },
      ],
      last4: "4242",
    });
    const s = paymentSummary(p);
    expect(s).toContain("£49.99");
    expect(s).toContain("capturing");
    expect(s).toContain("Visa ending 4242");
    expect(s).toContain("Card number 16 digits (complete)");
    expect(s).toContain("Expiry date 2 digits (capturing)");
    expect(s).toContain("Security code 0 digits (waiting)");
    expect(paymentSummary(pay({ state: "approved", brand: "visa", last4: "4242", result: { outcome: "approved" } }))).toContain("approved");
    expect(paymentSummary(pay({ state: "declined", result: { outcome: "declined", reason: "insufficient_funds" } }))).toContain("insufficient funds");
    expect(paymentSummary(null)).toBe("");
  });

  it("shows no last four that is not exactly four digits", () => {
    expect(last4("4242")).toBe("4242");
    expect(last4("424242")).toBe("");
    expect(paymentSummary(pay({ last4: "4242424242424242" }))).not.toMatch(/\d{5}/);
  });

  it("says a failed field's reason and attempts left", () => {
    const s = paymentSummary(pay({ fields: [{ field: "card-number", state: "invalid", digits: 15, reason: "invalid-card-number", attemptsLeft: 2 }] }));
    expect(s).toContain("Card number 15 digits (invalid, invalid-card-number, 2 left)");
  });
});

describe("errors", () => {
  it("uses the API's words, or says what the status means", () => {
    expect(apiErrorText(409, { error: "a user of that name already exists" })).toBe("a user of that name already exists");
    expect(apiErrorText(401, null)).toMatch(/sign in again/);
    expect(apiErrorText(0, null)).toMatch(/could not be reached/);
    expect(apiErrorText(502, "<html>")).toMatch(/failed/);
  });
});

describe("reconnecting", () => {
  it("waits longer each time, up to 15 s and a quarter", () => {
    expect(backoff(0, 0)).toBe(500);
    expect(backoff(1, 0)).toBe(1000);
    expect(backoff(5, 0)).toBe(15000);
    expect(backoff(50, 1)).toBe(18750);
  });

  it("opens the WebSocket on the page's origin", () => {
    expect(wsURL({ protocol: "https:", host: "hp.example:8443" }, "a b+c")).toBe("wss://hp.example:8443/api/v1/ws?token=a%20b%2Bc");
    expect(wsURL({ protocol: "http:", host: "127.0.0.1:8080" }, "t")).toBe("ws://127.0.0.1:8080/api/v1/ws?token=t");
  });
});

describe("admin helpers", () => {
  it("makes 20-letter passwords without digits", () => {
    let n = 0;
    const p = randomPassword((a) => a.map(() => n++ % 256));
    expect(p).toMatch(/^[a-zA-Z]{20}$/);
    expect(randomPassword()).not.toBe(randomPassword());
  });

  it("reads a members list", () => {
    expect(members(" ann, bob ,,Ann; cat\tdee ")).toEqual(["ann", "bob", "cat", "dee"]);
    expect(members("")).toEqual([]);
  });

  it("says detector hits by side and time, never a key", () => {
    expect(hitsText(null, "pending")).toBe("not checked yet");
    const proof = { recording: 1, verdict: "suspect", keys_masked: 3, hit_count: 2, hits: [{ channel: 0, at_ms: 1500 }, { channel: 1, at_ms: 62000 }], flat_tones: 3, detector: "d", detector_version: "1", sha256: "", duration_ms: 0, channels: 2, checked: "" };
    expect(hitsText(proof, "suspect")).toBe("2: caller at 00:02, agent at 01:02");
  });
});
