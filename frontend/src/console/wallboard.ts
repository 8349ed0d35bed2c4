// wallboard.ts: every queue (callers waiting, longest wait, today's
// figures) and every agent (state, time in state, current call, calls
// handled today), updated in place from the live state.

import type { AgentSnapshot } from "../protocol";
import { h, setAttr, setText } from "../ui/dom";
import { since } from "../model/time";
import type { QueueStats } from "./api";
import type { Ctx, View } from "./context";
import { agentStateText, clock, int, ms, percent, timeOfDay } from "./format";
import { queueLive, type QueueLive } from "./state";
import { cell, rows } from "./table";

interface QueueRow {
  name: string;
  number: string;
  live: QueueLive;
  stats: QueueStats | null;
}

const agentOrder: Record<string, number> = { ringing: 0, busy: 1, available: 2, away: 3, offline: 4 };

export function wallboardView(ctx: Ctx): View {
  const td = (field: string, cls = "num") => h("td", { "data-field": field, class: cls });

  const qBody = h("tbody");
  const queues = rows<QueueRow>(qBody, (q) => q.name, (q) =>
    h("tr", { "data-queue": q.name },
      h("th", { scope: "row", "data-field": "name" }, q.name),
      td("waiting"), td("longest"), td("offered"), td("answered"), td("abandoned"), td("service-level"), td("average-wait"), td("average-handle"),
    ), (tr, q) => {
    setAttr(cell(tr, "name"), "title", q.number ? `Calls to ${q.number}` : "Every call to a number no other queue takes");
    setText(cell(tr, "waiting"), int(q.live.waiting));
    setAttr(tr, "data-waiting", q.live.waiting > 0 ? "yes" : null);
    setText(cell(tr, "offered"), int(q.stats?.offered));
    setText(cell(tr, "answered"), int(q.stats?.answered));
    setText(cell(tr, "abandoned"), int(q.stats?.abandoned));
    setText(cell(tr, "service-level"), q.stats && q.stats.answered + q.stats.abandoned > 0 ? percent(q.stats.service_level) : "–");
    setText(cell(tr, "average-wait"), q.stats?.answered ? ms(q.stats.average_wait_ms) : "–");
    setText(cell(tr, "average-handle"), q.stats?.average_handle_ms ? ms(q.stats.average_handle_ms) : "–");
  });
  const queueTable = h("table", { class: "tbl", "aria-labelledby": "wb-queues" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Queue"), h("th", { scope: "col", class: "num" }, "Waiting"), h("th", { scope: "col", class: "num" }, "Longest wait"),
      h("th", { scope: "col", class: "num" }, "Offered"), h("th", { scope: "col", class: "num" }, "Answered"), h("th", { scope: "col", class: "num" }, "Abandoned"),
      h("th", { scope: "col", class: "num", title: "Answered within the threshold, over answered and abandoned" }, "Service level"),
      h("th", { scope: "col", class: "num" }, "Avg wait"), h("th", { scope: "col", class: "num", title: "Average handle time" }, "AHT"),
    )), qBody);

  const aBody = h("tbody");
  const agents = rows<AgentSnapshot>(aBody, (a) => a.user, (a) =>
    h("tr", { "data-agent": a.user },
      h("th", { scope: "row" }, a.user),
      h("td", {}, h("span", { class: "dot", "aria-hidden": "true" }), " ", h("span", { "data-field": "state" }), h("span", { class: "sr-only", "data-field": "state-text" })),
      td("in-state"), h("td", { "data-field": "call" }), td("handled"),
    ), (tr, a) => {
    setText(cell(tr, "state"), a.status);
    setText(cell(tr, "state-text"), ` (${agentStateText(a.status)})`);
    setAttr(tr, "data-state", a.status);
    fillAgentCall(tr, a);
    setText(cell(tr, "handled"), int(handled(a.user)));
    setText(cell(tr, "in-state"), clock(since(a.since, Date.now())));
  });
  const agentTable = h("table", { class: "tbl", "aria-labelledby": "wb-agents" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Agent"), h("th", { scope: "col" }, "State"), h("th", { scope: "col", class: "num" }, "Time in state"),
      h("th", { scope: "col" }, "Current call"), h("th", { scope: "col", class: "num" }, "Handled today"),
    )), aBody);

  const tiles = {
    waiting: h("strong", { class: "num" }, "0"),
    available: h("strong", { class: "num" }, "0"),
    busy: h("strong", { class: "num" }, "0"),
    calls: h("strong", { class: "num" }, "0"),
  };
  const updated = h("span", { class: "muted small" });
  const empty = h("p", { class: "muted" }, "No agents connected: an agent appears here once signed in to the desktop app.");

  const el = h("section", { "data-view": "wallboard", "aria-labelledby": "wb-title", class: "view" },
    h("div", { class: "view-head" }, h("h2", { id: "wb-title" }, "Wallboard"), updated),
    h("div", { class: "tiles", role: "group", "aria-label": "Now" },
      h("div", { class: "tile" }, tiles.waiting, h("span", {}, "callers waiting")),
      h("div", { class: "tile" }, tiles.available, h("span", {}, "agents available")),
      h("div", { class: "tile" }, tiles.busy, h("span", {}, "agents on a call")),
      h("div", { class: "tile" }, tiles.calls, h("span", {}, "calls in progress")),
    ),
    h("h3", { id: "wb-queues" }, "Queues today"),
    h("div", { class: "scroll" }, queueTable),
    h("h3", { id: "wb-agents" }, "Agents"),
    h("div", { class: "scroll" }, agentTable, empty),
  );

  function handled(user: string): number {
    return ctx.stats?.agents.find((x) => x.agent.toLowerCase() === user.toLowerCase())?.handled ?? 0;
  }

  function fillAgentCall(tr: HTMLTableRowElement, a: AgentSnapshot): void {
    const c = a.call ? ctx.live.calls.get(a.call) : undefined;
    const text = !a.call ? "" : c ? `${c.outbound ? "to" : "from"} ${c.from ?? "unknown"}${c.queue ? ` (${c.queue})` : ""}` : "a call";
    setText(cell(tr, "call"), text);
  }

  function queueRows(): QueueRow[] {
    const live = queueLive(ctx.live.calls.values());
    const names = new Map<string, string>();
    names.set("default", "");
    for (const q of ctx.queues) names.set(q.name, q.number);
    for (const q of ctx.stats?.queues ?? []) if (!names.has(q.queue)) names.set(q.queue, "");
    for (const q of live.keys()) if (!names.has(q)) names.set(q, "");
    return [...names].map(([name, number]) => ({
      name, number, live: live.get(name) ?? { waiting: 0, oldest: 0 },
      stats: ctx.stats?.queues.find((s) => s.queue === name) ?? null,
    }));
  }

  let oldest = new Map<string, number>();
  function drawQueues(): void {
    const qs = queueRows();
    oldest = new Map(qs.map((q) => [q.name, q.live.oldest]));
    queues.sync(qs);
    tickQueues(Date.now());
    let waiting = 0;
    for (const q of qs) waiting += q.live.waiting;
    setText(tiles.waiting, String(waiting));
    setText(tiles.calls, String([...ctx.live.calls.values()].filter((c) => c.state === "active" || c.state === "held").length));
  }

  function drawAgents(): void {
    const list = [...ctx.live.agents.values()].sort((a, b) =>
      (agentOrder[a.status] ?? 9) - (agentOrder[b.status] ?? 9) || a.user.localeCompare(b.user));
    agents.sync(list);
    empty.hidden = list.length > 0;
    let available = 0;
    let busy = 0;
    for (const a of list) {
      if (a.status === "available") available++;
      if (a.status === "busy") busy++;
    }
    setText(tiles.available, String(available));
    setText(tiles.busy, String(busy));
  }

  function tickQueues(now: number): void {
    for (const [name, t] of oldest) {
      const tr = queues.row(name);
      if (tr) setText(cell(tr, "longest"), t ? clock((now - t) / 1000) : "–");
    }
  }

  // A change of state reorders the agents (ringing and busy on top), so
  // the list is synced whole; that moves only the rows out of place.
  let pending = false;
  const redraw = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      drawAgents();
      drawQueues();
    });
  };

  return {
    name: "wallboard",
    title: "Wallboard",
    el,
    shown: redraw,
    changed(ch) {
      if (ch.all || ch.agents.length || ch.calls.length) redraw();
    },
    figures() {
      if (ctx.stats) setText(updated, `Figures since ${timeOfDay(ctx.stats.from)}, updated ${timeOfDay(ctx.stats.to)}`);
      for (const k of agents.keys()) {
        const a = ctx.live.agents.get(k);
        if (a) agents.update(a);
      }
      drawQueues();
    },
    tick(now) {
      for (const k of agents.keys()) {
        const a = ctx.live.agents.get(k);
        const tr = agents.row(k);
        if (a && tr) setText(cell(tr, "in-state"), clock(since(a.since, now)));
      }
      tickQueues(now);
    },
  };
}
