// state.ts: the console's live picture of agents, calls and payments,
// kept from the WebSocket's messages (docs/protocol.md): the agents and
// calls snapshots, in pages, then the changes. Pure: no DOM, no socket;
// apply returns what changed so the views update only that.

import type { AgentSnapshot, CallSnapshot, Message, Payment } from "../protocol";

/** Mode is how this supervisor is on a call (contract A): listen, whisper, barge. */
export type Mode = "listen" | "whisper" | "barge";

export const modes: readonly Mode[] = ["listen", "whisper", "barge"];

export function isMode(v: unknown): v is Mode {
  return v === "listen" || v === "whisper" || v === "barge";
}

/** Msg is a protocol message with the fields this page reads that may be
 * newer than the generated types (listen's mode). */
export type Msg = Message & { mode?: string };

// Bounds: everything from a network is hostile. A contact centre has at
// most thousands of agents and calls; more is a fault, and is dropped.
export const maxAgents = 5000;
export const maxCalls = 5000;
export const maxPayments = 5000;

export interface Live {
  /** user and role from hello; "" before it. */
  user: string;
  role: string;
  agents: Map<string, AgentSnapshot>;
  calls: Map<string, CallSnapshot>;
  /** payments by call: the newest status (highest seq) of each call's session. */
  payments: Map<string, Payment>;
  /** recent: calls just over that had a payment, kept a little (lingerMs)
   * so the payment's outcome stays in sight after the agent hangs up. */
  recent: Map<string, { call: CallSnapshot; at: number }>;
  /** agentsLoading and callsLoading: a snapshot is still coming in pages. */
  agentsLoading: boolean;
  callsLoading: boolean;
}

export function newLive(): Live {
  return { user: "", role: "", agents: new Map(), calls: new Map(), payments: new Map(), recent: new Map(), agentsLoading: true, callsLoading: true };
}

/** Change says what a message changed, for the views. */
export interface Change {
  /** agents whose rows changed (removed ones included). */
  agents: string[];
  /** calls whose rows changed (removed ones included). */
  calls: string[];
  /** payments: calls whose payment changed. */
  payments: string[];
  /** all: a snapshot began or ended: redraw the lists whole. */
  all: boolean;
  /** snapshotDone: the last page of the calls snapshot came in. */
  snapshotDone: boolean;
  /** ended: calls that ended (call.removed). */
  ended: string[];
  /** counted: something today's figures count happened (a call arrived,
   * was answered or ended): they are fetched again. */
  counted: boolean;
}

function change(): Change {
  return { agents: [], calls: [], payments: [], all: false, snapshotDone: false, ended: [], counted: false };
}

function validAgent(a: unknown): a is AgentSnapshot {
  const x = a as AgentSnapshot;
  return !!x && typeof x.user === "string" && x.user !== "" && typeof x.status === "string";
}

function validCall(c: unknown): c is CallSnapshot {
  const x = c as CallSnapshot;
  return !!x && typeof x.call === "string" && x.call !== "" && typeof x.state === "string";
}

function putAgent(s: Live, a: AgentSnapshot, ch: Change): void {
  if (!s.agents.has(a.user) && s.agents.size >= maxAgents) return;
  s.agents.set(a.user, a);
  ch.agents.push(a.user);
}

function putCall(s: Live, c: CallSnapshot, ch: Change): void {
  const had = s.calls.get(c.call);
  if (!had && s.calls.size >= maxCalls) return;
  if (!had || had.state !== c.state) ch.counted = true;
  s.calls.set(c.call, c);
  ch.calls.push(c.call);
}

/** apply folds one message into s and says what changed. */
export function apply(s: Live, m: Msg, now: number = Date.now()): Change {
  const ch = change();
  switch (m.type) {
    case "hello":
      // A new connection: its snapshots replace everything known.
      s.user = m.user ?? "";
      s.role = m.role ?? "";
      s.agents.clear();
      s.calls.clear();
      s.payments.clear();
      s.recent.clear();
      s.agentsLoading = true;
      s.callsLoading = true;
      ch.all = true;
      break;
    case "agents": {
      // The first page of a snapshot starts it afresh; the pages after
      // it add to it.
      if (!s.agentsLoading) s.agents.clear();
      for (const a of m.agents ?? []) if (validAgent(a)) putAgent(s, a, ch);
      s.agentsLoading = !!m.more;
      if (!m.more) ch.all = true;
      break;
    }
    case "calls": {
      if (!s.callsLoading) s.calls.clear();
      for (const c of m.calls ?? []) if (validCall(c)) putCall(s, c, ch);
      s.callsLoading = !!m.more;
      if (!m.more) {
        ch.all = true;
        ch.snapshotDone = true;
        // Payments of calls that are gone by now are of no use.
        for (const id of [...s.payments.keys()]) if (!s.calls.has(id) && !s.recent.has(id)) s.payments.delete(id);
      }
      break;
    }
    case "agent.changed":
      for (const a of m.agents ?? []) if (validAgent(a)) putAgent(s, a, ch);
      break;
    case "call.changed":
      for (const c of m.calls ?? []) if (validCall(c)) putCall(s, c, ch);
      break;
    case "call.removed":
      if (m.call) {
        const c = s.calls.get(m.call);
        if (c) {
          s.calls.delete(m.call);
          ch.calls.push(m.call);
          if (s.payments.has(m.call) && s.recent.size < maxCalls) s.recent.set(m.call, { call: c, at: now });
        }
        if (!s.recent.has(m.call) && s.payments.delete(m.call)) ch.payments.push(m.call);
        ch.ended.push(m.call);
        ch.counted = true;
      }
      break;
    case "pay.progress": {
      const p = m.payment;
      const call = p?.call || m.call;
      if (!p || !call || typeof p.seq !== "number") break;
      const had = s.payments.get(call);
      // A status of another session on the same call (a new payment)
      // replaces the old one; of the same session, only a newer one.
      if (had && had.id === p.id && had.seq >= p.seq) break;
      if (had && had.id !== p.id && Date.parse(had.started) > Date.parse(p.started)) break;
      if (!had && s.payments.size >= maxPayments) break;
      s.payments.set(call, p);
      ch.payments.push(call);
      break;
    }
  }
  return ch;
}

/** lingerMs is how long a call just over stays listed with its payment. */
export const lingerMs = 20_000;

/** prune forgets the calls over for longer than lingerMs, and says which. */
export function prune(s: Live, now: number): string[] {
  const gone: string[] = [];
  for (const [id, r] of s.recent) {
    if (now - r.at >= lingerMs) {
      s.recent.delete(id);
      s.payments.delete(id);
      gone.push(id);
    }
  }
  return gone;
}

// ---- queues ----

export interface QueueLive {
  waiting: number;
  /** oldest: the earliest arrival of a call waiting, ms since the epoch, or 0. */
  oldest: number;
}

/** waitingCall: a queued or ringing inbound call waits in its queue. */
export function waitingCall(c: CallSnapshot): boolean {
  return !c.outbound && (c.state === "queued" || c.state === "ringing");
}

/** queueLive counts each queue's callers waiting and its oldest arrival. */
export function queueLive(calls: Iterable<CallSnapshot>): Map<string, QueueLive> {
  const out = new Map<string, QueueLive>();
  for (const c of calls) {
    if (!waitingCall(c)) continue;
    const q = c.queue || "default";
    const e = out.get(q) ?? { waiting: 0, oldest: 0 };
    e.waiting++;
    const t = Date.parse(c.arrived);
    if (!Number.isNaN(t) && (e.oldest === 0 || t < e.oldest)) e.oldest = t;
    out.set(q, e);
  }
  return out;
}

/** sortedCalls orders calls for the live list: waiting first (oldest
 * first), then the answered ones, oldest first. */
export function sortedCalls(calls: Iterable<CallSnapshot>): CallSnapshot[] {
  const rank = (c: CallSnapshot) => (waitingCall(c) ? 0 : 1);
  return [...calls].sort((a, b) => rank(a) - rank(b) || a.arrived.localeCompare(b.arrived) || a.call.localeCompare(b.call));
}

/** canListen: only a call an agent answered can be listened to. */
export function canListen(c: CallSnapshot | undefined): boolean {
  return !!c && (c.state === "active" || c.state === "held");
}
