// presence.ts: the header's presence, idle time and connection banner.

import type { State } from "../types";
import { hasLiveCall } from "./call";
import { clock, since } from "./time";

export function presenceText(p: string | undefined): string {
  switch (p) {
    case "available": return "Available";
    case "away": return "Away";
    case "busy": return "On a call";
    case "ringing": return "Ringing";
    default: return p ? p[0].toUpperCase() + p.slice(1) : "Offline";
  }
}

/** idleText is "Idle for mm:ss" when available with no call, else "". */
export function idleText(state: State | null, now: number): string {
  if (!state || state.presence !== "available" || hasLiveCall(state) || !state.idleSince) return "";
  return `Idle for ${clock(since(state.idleSince, now))}`;
}

/** canTogglePresence: available/away can swap while connected and not on a call. */
export function canTogglePresence(state: State | null): boolean {
  return !!state && state.connection === "connected" && (state.presence === "available" || state.presence === "away") && !hasLiveCall(state);
}

export type Banner = { kind: "lost" | "back"; text: string } | null;

/** banner decides the connection banner from the previous and current
 * connection: lost while reconnecting, "Reconnected" on the way back
 * (the UI hides that one after a few seconds). */
export function banner(prev: string | undefined, conn: string | undefined, shown: Banner): Banner {
  if (conn === "reconnecting") return { kind: "lost", text: "Connection lost — reconnecting…" };
  if (conn === "connected" && (prev === "reconnecting" || shown?.kind === "lost")) return { kind: "back", text: "Reconnected" };
  if (conn === "connected" && shown?.kind === "back") return shown;
  return null;
}

/** signedIn: the main view shows once connected (or reconnecting). */
export function signedIn(state: State | null): boolean {
  return !!state && (state.connection === "connected" || state.connection === "reconnecting");
}
