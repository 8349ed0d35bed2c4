// history.ts: the call history list.

import type { HistoryItem } from "../types";
import { historyRows } from "../model/history";
import { h } from "./dom";

export interface HistoryPanel {
  el: HTMLElement;
  show(items: HistoryItem[] | null, now: Date): void;
  error(text: string): void;
}

export function historyPanel(): HistoryPanel {
  const list = h("ol", { class: "history-list", "aria-label": "Recent calls" });
  const empty = h("p", { class: "muted" }, "No calls yet.");
  const el = h("section", { class: "history card", "aria-labelledby": "hist-h" }, h("h2", { id: "hist-h" }, "Recent calls"), empty, list);
  return {
    el,
    show(items, now) {
      const rows = historyRows(items, now);
      empty.textContent = "No calls yet.";
      empty.hidden = rows.length > 0;
      list.replaceChildren(...rows.map((r) =>
        h("li", { class: `h-row ${r.outbound ? "out" : "in"}` },
          h("span", { class: "h-dir", title: r.directionText }, h("span", { "aria-hidden": "true" }, r.arrow), h("span", { class: "sr-only" }, r.directionText)),
          h("span", { class: "h-num" }, r.number),
          h("time", { class: "h-time muted", datetime: items?.find((i) => i.call === r.call)?.started ?? "", title: r.when }, r.time),
          h("span", { class: "h-dur", title: r.durationText }, r.duration),
          r.badge ? h("span", { class: `badge ${r.badge.kind}`, title: r.reference ? `Reference ${r.reference}` : null }, r.badge.text) : h("span", {}),
        )));
    },
    error(text) {
      empty.hidden = false;
      empty.textContent = `Could not load the history: ${text}`;
    },
  };
}
