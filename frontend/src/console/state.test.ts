import { describe, expect, it } from "vitest";
import type { AgentSnapshot, CallSnapshot, Payment } from "../protocol";
import { apply, canListen, lingerMs, maxAgents, newLive, prune, queueLive, sortedCalls, type Msg } from "./state";

const agent = (user: string, status: AgentSnapshot["status"] = "available", call?: string): AgentSnapshot =>
  ({ user, status, since: "2026-01-05T09:00:00Z", ...(call ? { call } : {}) });
const call = (id: string, state: CallSnapshot["state"], over: Partial<CallSnapshot> = {}): CallSnapshot =>
  ({ call: id, from: "+441632960001", state, since: "2026-01-05T09:00:00Z", arrived: "2026-01-05T09:00:00Z", ...over });
const pay = (over: Partial<Payment>): Payment => ({
  id: "pay_1", call: "c1", agent: "ann", seq: 1, state: "capturing", amount: 4999, currency: "GBP", method: "card",
  gateway: "sandbox", started: "2026-01-05T09:01:00Z", ...over,
});

describe("snapshots", () => {
  it("builds agents and calls from pages, then says the snapshot is done", () => {
    const s = newLive();
    apply(s, { type: "hello", user: "sue", role: "supervisor" });
    expect(s.user).toBe("sue");
    let ch = apply(s, { type: "agents", agents: [agent("ann"), agent("bob")], more: true });
    expect(s.agentsLoading).toBe(true);
    expect(ch.all).toBe(false);
    expect(ch.agents).toEqual(["ann", "bob"]);
    ch = apply(s, { type: "agents", agents: [agent("cat")] });
    expect(s.agentsLoading).toBe(false);
    expect(ch.all).toBe(true);
    expect([...s.agents.keys()]).toEqual(["ann", "bob", "cat"]);
    ch = apply(s, { type: "calls", calls: [call("c1", "queued")], more: true });
    expect(ch.snapshotDone).toBe(false);
    ch = apply(s, { type: "calls", calls: [call("c2", "active", { agent: "ann" })] });
    expect(ch.snapshotDone).toBe(true);
    expect([...s.calls.keys()]).toEqual(["c1", "c2"]);
  });

  it("starts afresh on a new connection's hello", () => {
    const s = newLive();
    apply(s, { type: "hello", user: "sue", role: "supervisor" });
    apply(s, { type: "agents", agents: [agent("ann")] });
    apply(s, { type: "calls", calls: [call("c1", "active")] });
    apply(s, { type: "pay.progress", call: "c1", payment: pay({}) });
    apply(s, { type: "hello", user: "sue", role: "supervisor" });
    expect(s.agents.size).toBe(0);
    expect(s.calls.size).toBe(0);
    expect(s.payments.size).toBe(0);
    apply(s, { type: "agents", agents: [agent("bob")] });
    expect([...s.agents.keys()]).toEqual(["bob"]);
  });

  it("takes an empty snapshot as one page", () => {
    const s = newLive();
    apply(s, { type: "hello" });
    const ch = apply(s, { type: "calls", calls: [] });
    expect(ch.snapshotDone).toBe(true);
    expect(s.callsLoading).toBe(false);
  });

  it("drops entries that are not entries, and bounds the maps", () => {
    const s = newLive();
    apply(s, { type: "hello" });
    apply(s, { type: "agents", agents: [{ user: "" } as AgentSnapshot, null as unknown as AgentSnapshot, agent("ann")] });
    expect([...s.agents.keys()]).toEqual(["ann"]);
    const many = Array.from({ length: maxAgents + 10 }, (_, i) => agent(`a${i}`));
    apply(s, { type: "agents", agents: many });
    expect(s.agents.size).toBe(maxAgents);
  });
});

describe("changes", () => {
  it("replaces an agent, adds and removes calls, and says which", () => {
    const s = newLive();
    apply(s, { type: "hello" });
    apply(s, { type: "agents", agents: [agent("ann")] });
    apply(s, { type: "calls", calls: [] });
    let ch = apply(s, { type: "agent.changed", agents: [agent("ann", "busy", "c1")] });
    expect(ch.agents).toEqual(["ann"]);
    expect(s.agents.get("ann")?.status).toBe("busy");
    ch = apply(s, { type: "call.changed", calls: [call("c1", "active", { agent: "ann" })] });
    expect(ch.calls).toEqual(["c1"]);
    expect(ch.counted).toBe(true); // a call arrived: the figures count it
    ch = apply(s, { type: "call.changed", calls: [call("c1", "active", { agent: "ann" })] });
    expect(ch.counted).toBe(false); // nothing the figures count
    ch = apply(s, { type: "call.removed", call: "c1" });
    expect(ch.calls).toEqual(["c1"]);
    expect(ch.ended).toEqual(["c1"]);
    expect(ch.counted).toBe(true);
    expect(s.calls.size).toBe(0);
    expect(s.recent.size).toBe(0);
  });

  it("keeps a call over with its payment in sight a little while", () => {
    const s = newLive();
    apply(s, { type: "hello" });
    apply(s, { type: "calls", calls: [call("c1", "active", { agent: "ann" })] });
    apply(s, { type: "pay.progress", call: "c1", payment: pay({ state: "approved", seq: 9 }) });
    const ch = apply(s, { type: "call.removed", call: "c1" }, 1000);
    expect(ch.calls).toEqual(["c1"]);
    expect(ch.payments).toEqual([]);
    expect(s.calls.has("c1")).toBe(false);
    expect(s.recent.get("c1")?.call.agent).toBe("ann");
    expect(s.payments.get("c1")?.state).toBe("approved");
    expect(prune(s, 1000 + lingerMs - 1)).toEqual([]);
    expect(prune(s, 1000 + lingerMs)).toEqual(["c1"]);
    expect(s.recent.size).toBe(0);
    expect(s.payments.size).toBe(0);
  });

  it("ignores unknown messages", () => {
    const s = newLive();
    const ch = apply(s, { type: "pong" } as Msg);
    expect(ch).toEqual({ agents: [], calls: [], payments: [], all: false, snapshotDone: false, ended: [], counted: false });
  });
});

describe("payments", () => {
  it("keeps the highest seq of a session", () => {
    const s = newLive();
    apply(s, { type: "pay.progress", call: "c1", payment: pay({ seq: 5, state: "ready" }) });
    const ch = apply(s, { type: "pay.progress", call: "c1", payment: pay({ seq: 4, state: "capturing" }) });
    expect(ch.payments).toEqual([]);
    expect(s.payments.get("c1")?.state).toBe("ready");
    apply(s, { type: "pay.progress", call: "c1", payment: pay({ seq: 6, state: "approved", last4: "4242" }) });
    expect(s.payments.get("c1")?.state).toBe("approved");
  });

  it("lets a newer session on the call replace an older one, not the reverse", () => {
    const s = newLive();
    apply(s, { type: "pay.progress", call: "c1", payment: pay({ id: "pay_1", seq: 9, state: "declined" }) });
    apply(s, { type: "pay.progress", call: "c1", payment: pay({ id: "pay_2", seq: 1, started: "2026-01-05T09:05:00Z" }) });
    expect(s.payments.get("c1")?.id).toBe("pay_2");
    apply(s, { type: "pay.progress", call: "c1", payment: pay({ id: "pay_1", seq: 10 }) });
    expect(s.payments.get("c1")?.id).toBe("pay_2");
  });

  it("ignores a status without a payment", () => {
    const s = newLive();
    expect(apply(s, { type: "pay.progress", call: "c1" }).payments).toEqual([]);
  });
});

describe("queues", () => {
  it("counts each queue's callers waiting and its oldest", () => {
    const q = queueLive([
      call("a", "queued", { queue: "sales", arrived: "2026-01-05T09:00:10Z" }),
      call("b", "ringing", { queue: "sales", arrived: "2026-01-05T09:00:05Z" }),
      call("c", "active", { queue: "sales" }),
      call("d", "queued"),
      call("e", "queued", { outbound: true }),
    ]);
    expect(q.get("sales")).toEqual({ waiting: 2, oldest: Date.parse("2026-01-05T09:00:05Z") });
    expect(q.get("default")?.waiting).toBe(1);
    expect(q.size).toBe(2);
  });

  it("orders waiting calls first, oldest first", () => {
    const list = sortedCalls([
      call("x", "active", { arrived: "2026-01-05T08:00:00Z" }),
      call("y", "queued", { arrived: "2026-01-05T09:00:00Z" }),
      call("z", "ringing", { arrived: "2026-01-05T08:30:00Z" }),
    ]);
    expect(list.map((c) => c.call)).toEqual(["z", "y", "x"]);
  });

  it("listens only to answered calls", () => {
    expect(canListen(call("a", "active"))).toBe(true);
    expect(canListen(call("a", "held"))).toBe(true);
    expect(canListen(call("a", "queued"))).toBe(false);
    expect(canListen(undefined)).toBe(false);
  });
});
