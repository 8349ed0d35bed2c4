// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { FakeBridge } from "../fake";
import { call, field, payment, state } from "../model/fixtures";
import { paymentPanel } from "./payment";
import type { Payment } from "../types";

const act = async (p: () => Promise<unknown>) => {
  await p();
};

function render(p: Payment | null) {
  const f = new FakeBridge();
  const panel = paymentPanel(f, act);
  document.body.replaceChildren(panel.el);
  panel.update(state({ call: call(), payment: p }));
  return { f, panel };
}

const statuses: Payment[] = [
  payment({ brand: "visa", fields: [field("card-number", { state: "capturing", digits: 15 }), field("expiry-date"), field("security-code")] }),
  payment({ state: "ready", brand: "visa", last4: "4242", fields: [
    field("card-number", { state: "complete", digits: 16, last4: "4242" }),
    field("expiry-date", { state: "complete", digits: 4 }),
    field("security-code", { state: "complete", digits: 3 }),
    field("postal-code", { state: "complete", digits: 5 }),
  ] }),
  payment({ state: "approved", amount: 123456, brand: "visa", last4: "4242", result: { outcome: "approved", reference: "sb_ch_9f8e7d6c5b4a", token: "sb_pm_1a2b3c4d" }, fields: [field("card-number", { state: "complete", digits: 19, last4: "4242" })] }),
  payment({ state: "declined", last4: "4242", result: { outcome: "declined", reason: "insufficient_funds" } }),
  payment({ state: "failed", last4: "4242", result: { outcome: "failed", reason: "gateway unreachable" } }),
];

describe("payment panel", () => {
  it.each(statuses.map((p) => [p.state, p] as const))("renders no digit run longer than 4 (%s)", (_s, p) => {
    render(p);
    const text = document.body.textContent ?? "";
    expect(text).not.toMatch(/\d{5,}/);
    // attributes too (aria-labels, titles, values)
    const attrs = [...document.body.querySelectorAll("*")].flatMap((e) => [...e.attributes].map((a) => a.value));
    for (const a of attrs) expect(a).not.toMatch(/\d{5,}/);
  });
  it("shows the last four and dots, never digits", () => {
    render(statuses[1]);
    const card = document.querySelector('[data-field="card-number"]')!;
    expect(card.textContent).toContain("Visa ending 4242");
    expect(card.querySelector(".f-dots")!.textContent).toBe("•".repeat(16));
    expect(card.querySelector(".f-dots")!.getAttribute("aria-label")).toBe("16 digits entered");
    expect(document.querySelector('[data-field="expiry-date"] .f-detail')!.textContent).toBe("");
  });
  it("submit only when ready; ask and reset send the field", async () => {
    const { f, panel } = render(statuses[0]);
    const submit = [...document.querySelectorAll("button")].find((b) => b.textContent === "Submit payment")!;
    expect(submit.disabled).toBe(true);
    panel.update(state({ call: call(), payment: statuses[1] }));
    expect(submit.disabled).toBe(false);
    submit.click();
    const ask = document.querySelector<HTMLButtonElement>('[data-field="expiry-date"] button')!;
    ask.click();
    const reset = document.querySelectorAll<HTMLButtonElement>('[data-field="expiry-date"] button')[1];
    reset.click();
    await Promise.resolve();
    expect(f.called("SubmitPayment")).toHaveLength(1);
    expect(f.called("AskField")).toEqual([["expiry-date"]]);
    expect(f.called("ResetField")).toEqual([["expiry-date"]]);
  });
  it("failed offers Submit again and Cancel", () => {
    render(statuses[4]);
    const buttons = [...document.querySelectorAll("button")];
    expect(buttons.find((b) => b.textContent === "Submit again")!.disabled).toBe(false);
    expect(buttons.find((b) => b.textContent === "Cancel payment")!.disabled).toBe(false);
    expect(document.querySelector(".outcome")!.textContent).toContain("Submit again");
  });
  it("starts a payment in minor units, or 0 to save a card", async () => {
    const { f } = render(null);
    const amount = document.querySelector<HTMLInputElement>("#pay-amount")!;
    const form = document.querySelector<HTMLFormElement>(".pay-start")!;
    amount.value = "12.50";
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    const cur = document.querySelector<HTMLSelectElement>("#pay-currency")!;
    cur.value = "JPY";
    amount.value = "1000";
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    amount.value = "10.5";
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    expect(document.querySelector("#pay-amount-msg")!.textContent).toBe("JPY has no minor units: enter a whole number.");
    const save = document.querySelector<HTMLInputElement>("#pay-save")!;
    save.checked = true;
    save.dispatchEvent(new Event("change"));
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    document.querySelector<HTMLInputElement>("#pay-postcode")!.checked = true;
    form.dispatchEvent(new Event("submit", { cancelable: true }));
    await Promise.resolve();
    expect(f.called("StartPayment")).toEqual([[1250, "GBP", false], [1000, "JPY", false], [0, "JPY", false], [0, "JPY", true]]);
  });
  it("the key indicator pulses while capturing", () => {
    const { panel } = render(statuses[0]);
    const ind = document.querySelector(".key-indicator")!;
    expect((ind as HTMLElement).hidden).toBe(false);
    expect(ind.getAttribute("aria-label")).toMatch(/key press/);
    panel.pulse();
    expect(ind.classList.contains("on")).toBe(true);
  });
});
