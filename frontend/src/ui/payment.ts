// payment.ts: the secure-pay panel. It renders only what paymentView
// gives it: states, digit counts as dots, the brand, the last four.

import type { Bridge } from "../bridge";
import type { State } from "../types";
import { currencies, exponent, formatAmount, parseAmount, paymentView, startView, type FieldRow } from "../model/payment";
import { h, setAttr, setDisabled, setHidden, setText, type Act } from "./dom";

export interface PaymentPanel {
  el: HTMLElement;
  update(state: State): void;
  /** pulse flashes the key indicator: the caller pressed a key. */
  pulse(): void;
}

interface RowEls {
  li: HTMLLIElement;
  state: HTMLElement;
  dots: HTMLElement;
  detail: HTMLElement;
  reason: HTMLElement;
  ask: HTMLButtonElement;
  reset: HTMLButtonElement;
}

export function paymentPanel(b: Bridge, act: Act): PaymentPanel {
  // start form
  const amount = h("input", { id: "pay-amount", type: "text", inputmode: "decimal", autocomplete: "off", placeholder: "12.50", "aria-describedby": "pay-amount-msg" });
  const currency = h("select", { id: "pay-currency", "aria-label": "Currency" }, ...currencies.map((c) => h("option", { value: c }, c)));
  const save = h("input", { id: "pay-save", type: "checkbox", role: "switch" });
  const postcode = h("input", { id: "pay-postcode", type: "checkbox", role: "switch" });
  const start = h("button", { type: "submit", class: "primary" }, "Start payment");
  const amountMsg = h("p", { id: "pay-amount-msg", class: "field-msg", "aria-live": "polite" });
  const startReason = h("p", { class: "muted start-reason" });
  const form = h("form", { class: "pay-start", novalidate: true },
    h("div", { class: "amount-row" },
      h("div", { class: "amount-field" }, h("label", { for: "pay-amount" }, "Amount"), amount),
      h("div", {}, h("label", { for: "pay-currency" }, "Currency"), currency)),
    h("label", { class: "switch" }, save, h("span", {}, "Save card (no charge)")),
    h("label", { class: "switch" }, postcode, h("span", {}, "Ask for the billing ZIP or postcode digits")),
    amountMsg, h("div", { class: "actions" }, start), startReason);
  let touched = false;

  const check = () => {
    if (save.checked) return { ok: true as const, minor: 0 };
    return parseAmount(amount.value, currency.value);
  };
  const showCheck = () => {
    setDisabled(amount, save.checked);
    amount.placeholder = exponent(currency.value) === 0 ? "1000" : "12.50";
    const r = check();
    const msg = !r.ok && touched ? r.error : r.ok && r.minor > 0 ? `Will take ${formatAmount(r.minor, currency.value)}` : save.checked ? "Saves the card as a token; nothing is charged." : "";
    setText(amountMsg, msg);
    amountMsg.classList.toggle("bad", !r.ok && touched);
    setAttr(amount, "aria-invalid", String(!r.ok && touched));
  };
  amount.addEventListener("input", showCheck);
  amount.addEventListener("blur", () => {
    if (amount.value) touched = true;
    showCheck();
  });
  currency.addEventListener("change", showCheck);
  save.addEventListener("change", showCheck);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    touched = true;
    showCheck();
    const r = check();
    if (!r.ok) {
      amount.focus();
      return;
    }
    void act(() => b.StartPayment(r.minor, currency.value, postcode.checked));
  });

  // session
  const title = h("h3", { class: "pay-title" });
  const stateText = h("p", { class: "pay-state" });
  const progress = h("p", { class: "muted pay-progress" });
  const indicator = h("span", { class: "key-indicator", role: "img", "aria-label": "Caller key press indicator: flashes at each key the caller presses" }, h("span", { class: "pulse-dot" }), h("span", { class: "ind-text" }, "Caller typing"));
  const list = h("ol", { class: "fields", "aria-label": "Payment fields" });
  const outcome = h("div", { class: "outcome", role: "status" });
  const submit = h("button", { type: "button", class: "primary" }, "Submit payment");
  const cancel = h("button", { type: "button", class: "ghost" }, "Cancel payment");
  const live = h("p", { class: "sr-only", "aria-live": "polite", id: "pay-live" });
  const session = h("div", { class: "pay-session" },
    h("div", { class: "pay-head" }, h("div", {}, title, stateText, progress), indicator),
    list, outcome, h("div", { class: "actions" }, submit, cancel));
  submit.addEventListener("click", () => void act(() => b.SubmitPayment()));
  cancel.addEventListener("click", () => void act(() => b.CancelPayment()));

  const rows = new Map<string, RowEls>();
  const rowEls = (r: FieldRow): RowEls => {
    let e = rows.get(r.field);
    if (e) return e;
    const state = h("span", { class: "f-state" });
    const dotsEl = h("span", { class: "f-dots" });
    const detail = h("span", { class: "f-detail" });
    const reason = h("span", { class: "f-reason" });
    const ask = h("button", { type: "button", class: "small" }, "Ask again");
    const reset = h("button", { type: "button", class: "small ghost" }, "Reset");
    ask.addEventListener("click", () => void act(() => b.AskField(r.field)));
    reset.addEventListener("click", () => void act(() => b.ResetField(r.field)));
    const li = h("li", { class: "field", "data-field": r.field },
      h("div", { class: "f-main" }, h("span", { class: "f-label" }, r.label), state),
      h("div", { class: "f-value" }, dotsEl, detail),
      reason,
      h("div", { class: "f-actions" }, ask, reset));
    e = { li, state, dots: dotsEl, detail, reason, ask, reset };
    rows.set(r.field, e);
    return e;
  };

  const el = h("section", { class: "pay card", "aria-labelledby": "pay-h" },
    h("h2", { id: "pay-h" }, "Secure pay"),
    h("p", { class: "muted small-print" }, "The caller types card details on their keypad. You hear one flat tone per key, never the digits."),
    session, form, live);

  let pulseTimer: ReturnType<typeof setTimeout> | null = null;

  return {
    el,
    pulse() {
      indicator.classList.remove("on");
      void indicator.offsetWidth; // restart the animation
      indicator.classList.add("on");
      if (pulseTimer) clearTimeout(pulseTimer);
      pulseTimer = setTimeout(() => indicator.classList.remove("on"), 400);
    },
    update(state) {
      const v = paymentView(state.payment);
      const sv = startView(state);
      setHidden(session, !v);
      setHidden(form, !!v && v.live);
      setDisabled(start, !sv.canStart);
      setText(startReason, sv.reason);
      setHidden(startReason, !sv.reason);
      setText(start, save.checked ? "Start: save card" : "Start payment");
      if (!v) {
        setText(live, "");
        return;
      }
      session.className = `pay-session ${state.payment!.state}`;
      setText(title, v.title);
      setText(stateText, v.stateText);
      setText(progress, v.progressText);
      setHidden(progress, !v.progressText || v.final);
      setHidden(indicator, !v.capturing);
      // rows, keyed by field, in the status' order
      const seen = new Set<string>();
      v.rows.forEach((r, i) => {
        const e = rowEls(r);
        seen.add(r.field);
        if (list.children[i] !== e.li) list.insertBefore(e.li, list.children[i] ?? null);
        e.li.className = `field ${r.tone}${r.current ? " current" : ""}`;
        setAttr(e.li, "aria-current", r.current ? "step" : null);
        setText(e.state, r.stateText);
        setText(e.dots, r.dots);
        setAttr(e.dots, "aria-label", r.digitsText);
        setAttr(e.dots, "title", r.digitsText);
        setText(e.detail, r.detail);
        setHidden(e.detail, !r.detail);
        const why = [r.reason, r.attemptsText].filter(Boolean).join(" · ");
        setText(e.reason, why);
        setHidden(e.reason, !why);
        setDisabled(e.ask, !r.canAsk);
        setDisabled(e.reset, !r.canReset);
        setAttr(e.ask, "aria-label", `Ask again for the ${r.label.toLowerCase()}`);
        setAttr(e.reset, "aria-label", `Reset the ${r.label.toLowerCase()}`);
        e.ask.parentElement!.hidden = v.final;
      });
      for (const [f, e] of rows) if (!seen.has(f)) {
        e.li.remove();
        rows.delete(f);
      }
      setHidden(list, v.rows.length === 0);
      // outcome
      const o = v.outcome;
      outcome.className = `outcome ${o?.kind ?? ""}`;
      outcome.replaceChildren(...(o ? [
        h("strong", { class: "o-title" }, o.title),
        o.detail ? h("span", { class: "o-detail" }, o.detail) : null,
        o.reference ? h("span", { class: "o-ref" }, "Reference ", h("code", {}, o.reference)) : null,
        o.token ? h("span", { class: "o-ref" }, "Saved card token ", h("code", {}, o.token)) : null,
        o.next ? h("span", { class: "o-next" }, o.next) : null,
      ].filter((x): x is HTMLElement => !!x) : []));
      setHidden(outcome, !o);
      setHidden(submit, v.final);
      setHidden(cancel, v.final);
      setText(submit, v.submitLabel);
      setDisabled(submit, !v.canSubmit);
      setDisabled(cancel, !v.canCancel);
      setText(live, v.announce);
    },
  };
}
