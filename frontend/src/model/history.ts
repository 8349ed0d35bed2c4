// history.ts: the call history list as rows.

import type { HistoryItem } from "../types";
import { endReasonText } from "./call";
import { formatAmount } from "./payment";
import { clock, spoken } from "./time";

export interface HistoryRow {
  call: string;
  time: string;
  /** when says the full date and time (tooltip, screen readers). */
  when: string;
  number: string;
  outbound: boolean;
  arrow: string;
  directionText: string;
  duration: string;
  durationText: string;
  badge: { kind: string; text: string } | null;
  reference: string;
}

const badgeText: Record<string, string> = {
  approved: "Approved",
  declined: "Declined",
  failed: "Failed",
  cancelled: "Cancelled",
  dropped: "Dropped",
  timed_out: "Timed out",
};

function two(n: number) {
  return String(n).padStart(2, "0");
}

const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** timeText: "14:05" today, "Yesterday 14:05", else "3 Mar 14:05" (local time). */
export function timeText(iso: string, now: Date): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  const day = (x: Date) => `${x.getFullYear()}-${x.getMonth()}-${x.getDate()}`;
  if (day(d) === day(now)) return hm;
  const y = new Date(now);
  y.setDate(now.getDate() - 1);
  if (day(d) === day(y)) return `Yesterday ${hm}`;
  return `${d.getDate()} ${months[d.getMonth()]} ${hm}`;
}

export function historyRow(h: HistoryItem, now: Date): HistoryRow {
  const answered = h.seconds > 0;
  const d = new Date(h.started);
  let badge: HistoryRow["badge"] = null;
  if (h.payment) {
    const t = badgeText[h.payment] ?? h.payment;
    const amt = h.amount && h.currency ? formatAmount(h.amount, h.currency) : h.payment === "approved" && !h.amount ? "card saved" : "";
    badge = { kind: h.payment, text: amt ? `${t} ${amt}` : t };
  }
  return {
    call: h.call,
    time: timeText(h.started, now),
    when: Number.isNaN(d.getTime()) ? "" : d.toLocaleString(),
    number: h.number || "Unknown number",
    outbound: h.outbound,
    arrow: h.outbound ? "↗" : "↙",
    directionText: h.outbound ? "Outgoing" : "Incoming",
    duration: answered ? clock(h.seconds) : h.outbound ? "No answer" : "Missed",
    durationText: answered ? spoken(h.seconds) : h.reason ? endReasonText(h.reason) : "Not answered",
    badge,
    reference: h.reference ?? "",
  };
}

export function historyRows(items: HistoryItem[] | null | undefined, now: Date): HistoryRow[] {
  return (items ?? []).map((h) => historyRow(h, now));
}
