// payments.ts: the payment audit, filtered by date, agent and outcome,
// and its CSV export. Brand and last four are all there is of a card.

import type { Payment } from "../protocol";
import { h, setText } from "../ui/dom";
import { brandName, formatAmount } from "../model/payment";
import { json, query } from "./api";
import { download, type Ctx, type View } from "./context";
import { dayEnd, dayStart, last4, paymentWord, when } from "./format";

export const outcomes = ["approved", "declined", "failed", "cancelled", "dropped", "timed_out", "open"];

export function paymentsView(ctx: Ctx): View {
  const field = (id: string, label: string, control: HTMLElement) => h("div", { class: "fld" }, h("label", { for: id }, label), control);
  const outcome = h("select", { id: "pay-outcome", name: "outcome" },
    h("option", { value: "" }, "Any"), ...outcomes.map((o) => h("option", { value: o }, o.replace("_", " "))));
  const exportButton = h("button", { type: "button", "data-action": "export-csv" }, "Export CSV");
  const form = h("form", { id: "payment-filter", class: "filters", role: "search", "aria-label": "Filter payments" },
    field("pay-from", "From", h("input", { id: "pay-from", name: "from", type: "date" })),
    field("pay-to", "To (inclusive)", h("input", { id: "pay-to", name: "to", type: "date" })),
    field("pay-agent", "Agent", h("input", { id: "pay-agent", name: "agent", type: "text", autocomplete: "off", spellcheck: "false" })),
    field("pay-outcome", "Outcome", outcome),
    h("div", { class: "fld end" }, h("button", { type: "submit", class: "primary" }, "Filter"), exportButton),
  );
  const body = h("tbody");
  const count = h("p", { class: "muted", role: "status" });
  const el = h("section", { "data-view": "payments", "aria-labelledby": "pay-title", class: "view" },
    h("div", { class: "view-head" }, h("h2", { id: "pay-title" }, "Payments")),
    form, count,
    h("div", { class: "scroll" }, h("table", { class: "tbl", "aria-labelledby": "pay-title" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Started"), h("th", { scope: "col" }, "Agent"), h("th", { scope: "col", class: "num" }, "Amount"),
        h("th", { scope: "col" }, "Card"), h("th", { scope: "col" }, "Outcome"), h("th", { scope: "col" }, "Reference"), h("th", { scope: "col" }, "Call"),
      )), body)),
  );

  const filter = () => {
    const fd = new FormData(form);
    const v = (k: string) => String(fd.get(k) ?? "").trim();
    return { from: dayStart(v("from")), to: dayEnd(v("to")), agent: v("agent"), outcome: v("outcome") };
  };

  let generation = 0;
  async function load(): Promise<void> {
    const gen = ++generation;
    setText(count, "Loading…");
    try {
      const list = await json<Payment[]>("GET", `/api/v1/payments${query({ ...filter(), limit: "500" })}`);
      if (gen !== generation) return;
      body.replaceChildren(...list.map((p) => h("tr", { "data-payment": p.id },
        h("td", {}, when(p.started)),
        h("td", {}, p.agent),
        h("td", { class: "num" }, p.amount === 0 ? "card saved" : formatAmount(p.amount, p.currency)),
        h("td", {}, [brandName(p.brand), last4(p.last4) ? `ending ${last4(p.last4)}` : ""].filter(Boolean).join(" ") || "–"),
        h("td", {}, h("span", { class: `pill pay-${p.state}`, "data-field": "outcome" }, paymentWord(p))),
        h("td", { class: "ellipsis", title: p.result?.reference ?? "" }, p.result?.reference ?? ""),
        h("td", { class: "ellipsis", title: p.call }, p.call),
      )));
      setText(count, list.length === 0 ? "No payments match." : `${list.length} payment${list.length === 1 ? "" : "s"}${list.length === 500 ? " (the newest 500; the CSV export has them all)" : ""}`);
    } catch (e) {
      setText(count, "");
      ctx.toast((e as Error).message);
    }
  }

  exportButton.addEventListener("click", () => {
    void download(ctx, exportButton, `/api/v1/payments${query({ ...filter(), format: "csv" })}`, "text/csv", "payments.csv").then((ok) => {
      if (ok) ctx.announce("Payments exported");
    });
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void load();
  });
  return { name: "payments", title: "Payments", el, shown: () => void load() };
}
