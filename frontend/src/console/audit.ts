// audit.ts (admins): the access log, newest first: plays and downloads of
// recordings, payment exports, changes to users (GET /api/v1/audit).

import { h, setText } from "../ui/dom";
import { json, query, type AuditEntry } from "./api";
import type { Ctx, View } from "./context";
import { dayEnd, dayStart, when } from "./format";

export function auditView(ctx: Ctx): View {
  const field = (id: string, label: string, control: HTMLElement) => h("div", { class: "fld" }, h("label", { for: id }, label), control);
  const form = h("form", { id: "audit-filter", class: "filters", role: "search", "aria-label": "Filter the access log" },
    field("audit-user", "User", h("input", { id: "audit-user", name: "user", type: "text", autocomplete: "off", spellcheck: "false" })),
    field("audit-action", "Action", h("select", { id: "audit-action", name: "action" },
      h("option", { value: "" }, "Any"),
      ...["recording.play", "recording.download", "payments.export", "user.add", "user.change", "user.remove", "user.mfa_enrol", "user.mfa_reset", "queue.change"]
        .map((a) => h("option", { value: a }, a)))),
    field("audit-from", "From", h("input", { id: "audit-from", name: "from", type: "date" })),
    field("audit-to", "To (inclusive)", h("input", { id: "audit-to", name: "to", type: "date" })),
    h("div", { class: "fld end" }, h("button", { type: "submit", class: "primary" }, "Filter")),
  );
  const body = h("tbody");
  const count = h("p", { class: "muted", role: "status" });
  const el = h("section", { "data-view": "audit", "aria-labelledby": "audit-title", class: "view" },
    h("div", { class: "view-head" }, h("h2", { id: "audit-title" }, "Access log")),
    form, count,
    h("div", { class: "scroll" }, h("table", { class: "tbl", "aria-labelledby": "audit-title" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "When"), h("th", { scope: "col" }, "Who"), h("th", { scope: "col" }, "Action"), h("th", { scope: "col" }, "What"))),
      body)),
  );
  async function load(): Promise<void> {
    const fd = new FormData(form);
    const v = (k: string) => String(fd.get(k) ?? "").trim();
    try {
      const list = await json<AuditEntry[]>("GET", `/api/v1/audit${query({ user: v("user"), action: v("action"), from: dayStart(v("from")), to: dayEnd(v("to")), limit: "500" })}`);
      body.replaceChildren(...list.map((a) => h("tr", { "data-audit": String(a.id) },
        h("td", {}, when(a.at)), h("td", {}, a.user), h("td", {}, a.action), h("td", { class: "ellipsis", title: a.object }, a.object))));
      setText(count, list.length === 0 ? "Nothing logged matches." : `${list.length} entr${list.length === 1 ? "y" : "ies"}`);
    } catch (e) {
      ctx.toast((e as Error).message);
    }
  }
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void load();
  });
  return { name: "audit", title: "Access log", el, shown: () => void load() };
}
