import { describe, expect, it } from "vitest";
import type { PaymentState } from "../types";
import { historyRow, historyRows, timeText } from "./history";

const now = new Date(2025, 2, 4, 15, 0, 0);
const at = (d: number, h: number, m: number) => new Date(2025, 2, d, h, m).toISOString();

describe("history", () => {
  it("time text", () => {
    expect(timeText(at(4, 9, 5), now)).toBe("09:05");
    expect(timeText(at(3, 23, 59), now)).toBe("Yesterday 23:59");
    expect(timeText(at(1, 8, 0), now)).toBe("1 Mar 08:00");
    expect(timeText("junk", now)).toBe("");
  });
  it("an answered inbound call with an approved payment", () => {
    const r = historyRow({ call: "c1", number: "+4411", outbound: false, started: at(4, 14, 0), seconds: 125, payment: "approved", amount: 1250, currency: "GBP", reference: "sb_ch_1" }, now);
    expect(r).toMatchObject({ time: "14:00", number: "+4411", arrow: "↙", directionText: "Incoming", duration: "02:05", durationText: "2 minutes 5 seconds", reference: "sb_ch_1" });
    expect(r.badge).toEqual({ kind: "approved", text: "Approved £12.50" });
  });
  it("outbound not answered; missed inbound", () => {
    const o = historyRow({ call: "c2", number: "", outbound: true, started: at(4, 14, 0), seconds: 0, reason: "no_answer" }, now);
    expect(o).toMatchObject({ arrow: "↗", directionText: "Outgoing", duration: "No answer", durationText: "No answer", number: "Unknown number", badge: null });
    expect(historyRow({ call: "c3", number: "1", outbound: false, started: at(4, 1, 0), seconds: 0 }, now)).toMatchObject({ duration: "Missed", durationText: "Not answered" });
  });
  it("badges", () => {
    const b = (payment: PaymentState, amount?: number) => historyRow({ call: "c", number: "1", outbound: false, started: at(4, 1, 0), seconds: 1, payment, amount, currency: amount ? "EUR" : undefined }, now).badge;
    expect(b("declined", 500)).toEqual({ kind: "declined", text: "Declined €5.00" });
    expect(b("timed_out", 500)).toEqual({ kind: "timed_out", text: "Timed out €5.00" });
    expect(b("approved")).toEqual({ kind: "approved", text: "Approved card saved" });
    expect(b("cancelled")).toEqual({ kind: "cancelled", text: "Cancelled" });
    expect(b("dropped")).toEqual({ kind: "dropped", text: "Dropped" });
    expect(b("failed")).toEqual({ kind: "failed", text: "Failed" });
  });
  it("rows", () => {
    expect(historyRows(null, now)).toEqual([]);
    expect(historyRows([{ call: "a", number: "1", outbound: false, started: at(4, 1, 0), seconds: 0 }], now)).toHaveLength(1);
  });
});
