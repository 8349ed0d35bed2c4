import { describe, expect, it } from "vitest";
import { brandName, declineText, dots, editable, exponent, failText, fieldLabel, fieldReasonText, fieldRow, formatAmount, isFinal, parseAmount, paymentView, startView } from "./payment";
import { call, field, payment, state } from "./fixtures";

describe("amounts", () => {
  it.each([
    ["12.50", "GBP", 1250], ["12.5", "GBP", 1250], ["12", "GBP", 1200], [".99", "EUR", 99], ["0.01", "USD", 1],
    ["1,250.00", "GBP", 125000], [" £7.05 ", "GBP", 705], ["1000", "JPY", 1000], ["1,000", "JPY", 1000], ["1.234", "KWD", 1234],
    ["100000000.00", "GBP", 10_000_000_000],
  ])("%s %s → %s", (t, c, minor) => expect(parseAmount(t, c)).toEqual({ ok: true, minor }));
  it.each([
    ["", "GBP", "Enter the amount to take."],
    ["abc", "GBP", "Enter the amount as a number, e.g. 12.50."],
    ["12.345", "GBP", "GBP takes at most 2 decimals."],
    ["10.5", "JPY", "JPY has no minor units: enter a whole number."],
    ["x", "JPY", "Enter the amount as a whole number, e.g. 1000."],
    ["-5", "GBP", "The amount cannot be negative."],
    ["0", "GBP", "Enter an amount above zero, or choose Save card."],
    ["0.00", "GBP", "Enter an amount above zero, or choose Save card."],
    ["1,25.00", "GBP", "Enter the amount as a number, e.g. 12.50."],
    ["1e3", "GBP", "Enter the amount as a number, e.g. 12.50."],
    [".", "GBP", "Enter the amount as a number, e.g. 12.50."],
  ])("%j %s is refused: %s", (t, c, error) => expect(parseAmount(t, c)).toEqual({ ok: false, error }));
  it("refuses more than the server takes", () => {
    const r = parseAmount("100000000.01", "GBP");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/more than the most/);
  });
  it("exponents", () => {
    expect(exponent("GBP")).toBe(2);
    expect(exponent("jpy")).toBe(0);
    expect(exponent("KWD")).toBe(3);
    expect(exponent("XYZ")).toBe(2);
  });
  it("formats", () => {
    expect(formatAmount(1250, "GBP")).toBe("£12.50");
    expect(formatAmount(1000, "JPY")).toBe("JP¥1,000");
    expect(formatAmount(1250, "USD")).toBe("US$12.50");
    expect(formatAmount(1250, "EUR")).toBe("€12.50");
    expect(formatAmount(125, "QQQ")).toMatch(/1\.25/);
  });
});

describe("words", () => {
  it("labels", () => {
    expect(["card-number", "expiry-date", "security-code", "postal-code", "routing-number", "account-number", "new-thing"].map(fieldLabel))
      .toEqual(["Card number", "Expiry date", "Security code", "Postcode", "Routing number", "Account number", "New thing"]);
  });
  it.each([
    ["invalid-card-number", "Card number not valid"], ["invalid-card-type", "Card type not accepted"], ["invalid-date", "Expiry date not valid"],
    ["invalid-security-code", "Security code not valid"], ["invalid-postal-code", "Postcode not valid"], ["timeout", "Caller stopped typing"],
    ["invalid-routing-number", "Routing number not valid"], ["invalid-account-number", "Account number not valid"], ["something-else", "Something else"], [undefined, ""],
  ])("field reason %s → %s", (r, t) => expect(fieldReasonText(r)).toBe(t));
  it.each([
    ["card_declined", "The card was declined by the bank"], ["insufficient_funds", "Not enough funds on the card"], ["expired_card", "The card has expired"],
    ["incorrect_cvc", "The security code was wrong"], ["processing_error", "The bank could not process the card"], ["incorrect_number", "The card number was wrong"],
    ["stolen_card", "The card was declined by the bank"], ["brand_new_code", "Brand new code"], [undefined, "The card was declined"],
  ])("decline %s → %s", (r, t) => expect(declineText(r)).toBe(t));
  it("fail text", () => {
    expect(failText(undefined)).toBe("The payment gateway did not answer");
    expect(failText("timeout")).toBe("The payment gateway did not answer in time");
    expect(failText("gateway unreachable: connection refused")).toBe("gateway unreachable: connection refused");
    expect(failText("bad_gateway")).toBe("Bad gateway");
  });
  it("brands", () => {
    expect(brandName("visa")).toBe("Visa");
    expect(brandName("amex")).toBe("American Express");
    expect(brandName("")).toBe("");
    expect(brandName("newbrand")).toBe("Newbrand");
  });
  it("dots count only", () => {
    expect(dots(0)).toBe("");
    expect(dots(4)).toBe("••••");
    expect(dots(-1)).toBe("");
    expect(dots(99)).toHaveLength(24);
    expect(dots(NaN)).toBe("");
  });
});

describe("field rows", () => {
  const p = payment();
  it.each([
    ["waiting", "Waiting", "idle"], ["capturing", "Caller typing", "active"], ["complete", "Complete", "ok"], ["invalid", "Not valid", "bad"],
  ])("%s → %s (%s)", (s, text, tone) => {
    const r = fieldRow(field("expiry-date", { state: s, digits: 2, reason: s === "invalid" ? "invalid-date" : undefined, attemptsLeft: 2 }), p);
    expect(r.stateText).toBe(text);
    expect(r.tone).toBe(tone);
    expect(r.label).toBe("Expiry date");
    expect(r.dots).toBe("••");
    expect(r.digitsText).toBe("2 digits entered");
    if (s === "invalid") {
      expect(r.reason).toBe("Expiry date not valid");
      expect(r.attemptsText).toBe("2 attempts left");
    } else {
      expect(r.reason).toBe("");
      expect(r.attemptsText).toBe("");
    }
  });
  it("attempts wording", () => {
    expect(fieldRow(field("card-number", { state: "invalid", reason: "invalid-card-number", attemptsLeft: 1 }), p).attemptsText).toBe("1 attempt left");
    expect(fieldRow(field("card-number", { state: "invalid", reason: "invalid-card-number", attemptsLeft: 0 }), p).attemptsText).toBe("No attempts left: ask again");
  });
  it("a retried field keeps its last reason while capturing again", () => {
    const r = fieldRow(field("security-code", { state: "capturing", digits: 1, reason: "timeout", attemptsLeft: 2 }), p);
    expect(r.reason).toBe("Caller stopped typing");
    expect(r.attemptsText).toBe("2 attempts left");
    expect(r.digitsText).toBe("1 digit entered");
  });
  it("card number: brand once known, last four once complete", () => {
    expect(fieldRow(field("card-number", { state: "capturing", digits: 6 }), payment({ brand: "visa" })).detail).toBe("Visa");
    expect(fieldRow(field("card-number", { state: "complete", digits: 16, last4: "4242" }), payment({ brand: "visa", last4: "4242" })).detail).toBe("Visa ending 4242");
    expect(fieldRow(field("card-number", { state: "complete", digits: 16 }), payment({ last4: "4242" })).detail).toBe("ending 4242");
    // never more than four digits, even if the status carried them
    expect(fieldRow(field("card-number", { state: "complete", digits: 16, last4: "424242" }), payment()).detail).toBe("");
    // last4 only belongs to the card number
    expect(fieldRow(field("expiry-date", { state: "complete", digits: 4, last4: "0931" }), payment({ last4: "4242" })).detail).toBe("");
  });
  it("actions: ask and reset only while capturing or ready", () => {
    for (const s of ["capturing", "ready"]) {
      const pp = payment({ state: s });
      expect(editable(pp)).toBe(true);
      expect(fieldRow(field("card-number"), pp)).toMatchObject({ canAsk: true, canReset: false });
      expect(fieldRow(field("card-number", { digits: 3, state: "capturing" }), pp).canReset).toBe(true);
      expect(fieldRow(field("card-number", { state: "invalid" }), pp).canReset).toBe(true);
      expect(fieldRow(field("card-number", { state: "complete", digits: 16 }), pp).canReset).toBe(true);
    }
    for (const s of ["submitting", "failed", "approved", "declined", "cancelled", "dropped", "timed_out"]) {
      const pp = payment({ state: s });
      expect(editable(pp)).toBe(false);
      expect(fieldRow(field("card-number", { state: "complete", digits: 16 }), pp)).toMatchObject({ canAsk: false, canReset: false });
    }
    expect(editable(null)).toBe(false);
  });
  it("current", () => {
    expect(fieldRow(field("expiry-date"), payment({ current: "expiry-date" })).current).toBe(true);
    expect(fieldRow(field("expiry-date"), payment({ current: "card-number" })).current).toBe(false);
  });
});

describe("paymentView", () => {
  it("none", () => expect(paymentView(null)).toBeNull());
  it.each([
    ["capturing", { live: true, final: false, canSubmit: false, canCancel: true, capturing: true, outcome: null }],
    ["ready", { live: true, canSubmit: true, canCancel: true, capturing: false, submitLabel: "Submit payment", outcome: null }],
    ["submitting", { live: true, canSubmit: false, canCancel: false, capturing: false }],
    ["failed", { live: true, canSubmit: true, canCancel: true, submitLabel: "Submit again" }],
    ["approved", { live: false, final: true, canSubmit: false, canCancel: false }],
    ["declined", { live: false, final: true, canSubmit: false, canCancel: false }],
    ["cancelled", { live: false, final: true, canSubmit: false, canCancel: false }],
    ["dropped", { live: false, final: true, canSubmit: false, canCancel: false }],
    ["timed_out", { live: false, final: true, canSubmit: false, canCancel: false }],
  ])("%s", (s, want) => {
    const v = paymentView(payment({ state: s }))!;
    expect(v).toMatchObject(want);
    expect(v.stateText).not.toBe("");
    expect(isFinal(payment({ state: s }))).toBe(v.final);
    if (s !== "capturing" && s !== "ready") expect(v.outcome?.kind).toBe(s);
  });
  it("title and progress", () => {
    const v = paymentView(payment({ fields: [field("card-number", { state: "complete", digits: 16 }), field("expiry-date", { state: "capturing" }), field("security-code")] }))!;
    expect(v.title).toBe("Taking £12.50");
    expect(v.progressText).toBe("1 of 3 fields complete");
    expect(v.announce).toContain("1 of 3 fields complete");
    expect(paymentView(payment({ amount: 0 }))!.title).toBe("Saving a card (no charge)");
    expect(paymentView(payment({ fields: null }))!.progressText).toBe("");
  });
  it("announces an invalid field", () => {
    const v = paymentView(payment({ fields: [field("card-number", { state: "invalid", reason: "invalid-card-number", attemptsLeft: 2 })] }))!;
    expect(v.announce).toContain("Card number: Card number not valid");
  });
  it("ready announces", () => expect(paymentView(payment({ state: "ready" }))!.announce).toBe("All fields complete. Ready to submit."));
  it("approved with reference", () => {
    const o = paymentView(payment({ state: "approved", brand: "visa", last4: "4242", result: { outcome: "approved", reference: "sb_ch_abc" } }))!.outcome!;
    expect(o).toMatchObject({ kind: "approved", title: "Payment approved: £12.50", detail: "Visa ending 4242", reference: "sb_ch_abc", token: "" });
  });
  it("saved card with token", () => {
    const v = paymentView(payment({ state: "approved", amount: 0, result: { outcome: "approved", reference: "sb_seti_x", token: "sb_pm_y" } }))!;
    expect(v.outcome).toMatchObject({ title: "Card saved", token: "sb_pm_y", reference: "sb_seti_x" });
    expect(v.announce).toContain("Card saved");
  });
  it("declined with reason in words", () => {
    const o = paymentView(payment({ state: "declined", result: { outcome: "declined", reason: "insufficient_funds" } }))!.outcome!;
    expect(o).toMatchObject({ title: "Payment declined", detail: "Not enough funds on the card" });
    expect(o.next).toMatch(/another card/);
    expect(paymentView(payment({ state: "declined", amount: 0, result: { outcome: "declined", reason: "card_declined" } }))!.outcome!.title).toBe("Card not saved");
  });
  it("failed says what to do", () => {
    const v = paymentView(payment({ state: "failed", result: { outcome: "failed", reason: "gateway did not answer in 30 s" } }))!;
    expect(v.outcome).toMatchObject({ kind: "failed", title: "Payment not confirmed", detail: "gateway did not answer in 30 s" });
    expect(v.outcome!.next).toMatch(/Submit again.*never charged twice.*cancel/i);
    expect(v.announce).toContain("Payment not confirmed");
  });
  it("nothing charged for cancelled, dropped, timed out", () => {
    for (const s of ["cancelled", "dropped", "timed_out"]) expect(paymentView(payment({ state: s }))!.outcome!.detail).toMatch(/nothing was charged/i);
  });
  it("unknown state", () => expect(paymentView(payment({ state: "new_state" }))!.stateText).toBe("New state"));
});

describe("startView", () => {
  it("needs an answered call, off hold, and no open payment", () => {
    expect(startView(state({ call: call() }))).toEqual({ canStart: true, reason: "" });
    expect(startView(state()).canStart).toBe(false);
    expect(startView(null).canStart).toBe(false);
    expect(startView(state({ connection: "reconnecting", call: call() })).reason).toBe("Not connected");
    expect(startView(state({ call: call({ state: "ringing" }) })).reason).toMatch(/answered/);
    expect(startView(state({ call: call({ state: "ended" }) })).canStart).toBe(false);
    expect(startView(state({ call: call({ held: true }) })).reason).toMatch(/hold/);
    for (const s of ["capturing", "ready", "submitting", "failed"]) expect(startView(state({ call: call(), payment: payment({ state: s }) })).reason).toBe("A payment is already under way");
    for (const s of ["approved", "declined", "cancelled", "dropped", "timed_out"]) expect(startView(state({ call: call(), payment: payment({ state: s }) })).canStart).toBe(true);
  });
});
