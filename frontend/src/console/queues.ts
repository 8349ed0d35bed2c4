// queues.ts (admins): a queue per dialled number, its members; add, edit
// the members, delete: /api/v1/queues.

import { h } from "../ui/dom";
import { json, type Queue } from "./api";
import { actor, type Ctx, type View } from "./context";
import { confirmClick } from "./users";

/** members reads a comma-separated list of names: trimmed, no empties, no repeats. */
export function members(text: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const part of text.split(/[,;\s]+/)) {
    const n = part.trim();
    if (n && !seen.has(n.toLowerCase())) {
      seen.add(n.toLowerCase());
      out.push(n);
    }
  }
  return out;
}

export function queuesView(ctx: Ctx, reloadQueues: () => Promise<void>): View {
  const name = h("input", { id: "queue-name", name: "name", type: "text", required: true, autocomplete: "off", spellcheck: "false", maxlength: "64" });
  const number = h("input", { id: "queue-number", name: "number", type: "text", required: true, autocomplete: "off", spellcheck: "false", maxlength: "32" });
  const mem = h("input", { id: "queue-members", name: "members", type: "text", autocomplete: "off", spellcheck: "false", placeholder: "ann, bob" });
  const form = h("form", { id: "queue-add", class: "filters", "aria-label": "Add a queue" },
    h("div", { class: "fld" }, h("label", { for: "queue-name" }, "Name"), name),
    h("div", { class: "fld" }, h("label", { for: "queue-number" }, "Number dialled"), number),
    h("div", { class: "fld wide" }, h("label", { for: "queue-members" }, "Members (agents, comma-separated)"), mem),
    h("div", { class: "fld end" }, h("button", { type: "submit", class: "primary" }, "Add queue")),
  );
  const body = h("tbody");
  const el = h("section", { "data-view": "queues", "aria-labelledby": "queues-title", class: "view" },
    h("div", { class: "view-head" }, h("h2", { id: "queues-title" }, "Queues")),
    h("p", { class: "muted" }, "A queue takes the calls to one dialled number and rings its members, the longest idle available one first. The default queue takes every other call; agents in no queue take its calls too."),
    form,
    h("div", { class: "scroll" }, h("table", { class: "tbl", "aria-labelledby": "queues-title" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Queue"), h("th", { scope: "col" }, "Number"), h("th", { scope: "col" }, "Members"), h("th", { scope: "col" }, "Actions"),
      )), body)),
  );

  const act = actor(ctx, load);

  function row(q: Queue): HTMLTableRowElement {
    const path = `/api/v1/queues/${encodeURIComponent(q.name)}`;
    const input = h("input", { type: "text", value: q.members.join(", "), "aria-label": `Members of ${q.name}`, "data-field": "members", spellcheck: "false" });
    const saveB = h("button", { type: "button", class: "small", "data-action": "save-members" }, "Save members");
    saveB.addEventListener("click", () => void act(`Members of ${q.name} saved`, () => json("PUT", `${path}/members`, { members: members(input.value) })));
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") saveB.click();
    });
    const isDefault = q.name === "default" && q.number === "";
    const remove = h("button", { type: "button", class: "small", "data-action": "remove", "aria-label": `Remove queue ${q.name}`, disabled: isDefault, title: isDefault ? "The default queue cannot be removed" : null }, "Remove");
    confirmClick(remove, "Confirm remove", () => void act(`Queue ${q.name} removed`, () => json("DELETE", path)));
    return h("tr", { "data-queue-admin": q.name },
      h("th", { scope: "row" }, q.name),
      h("td", { "data-field": "number" }, q.number || "every other number"),
      h("td", { class: "wide" }, input),
      h("td", { class: "row-actions" }, h("div", { class: "btns" }, saveB, remove)),
    );
  }

  async function load(): Promise<void> {
    try {
      await reloadQueues();
      body.replaceChildren(...ctx.queues.map(row));
    } catch (e) {
      ctx.toast((e as Error).message);
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const n = name.value.trim();
    const num = number.value.trim();
    if (!n || !num) {
      ctx.toast(!n ? "Enter the queue's name." : "Enter the number its callers dial.");
      (!n ? name : number).focus();
      return;
    }
    void act(`Queue ${n} added`, () => json("POST", "/api/v1/queues", { name: n, number: num, members: members(mem.value) })).then((ok) => {
      if (ok) form.reset();
    });
  });
  return { name: "queues", title: "Queues", el, shown: () => void load() };
}
