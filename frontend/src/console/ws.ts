// ws.ts: the signalling WebSocket (docs/protocol.md), same origin, with
// the token in the query (browsers cannot set headers on a WebSocket).
// It reconnects with a growing wait, except when the session ended (sign
// in again) or another tab of the same user took the connection.

import { backoff } from "./format";
import type { Msg } from "./state";

export type LinkState = "connecting" | "connected" | "reconnecting" | "replaced" | "ended";

export interface Link {
  send(m: Msg): boolean;
  close(): void;
  /** reconnect now (after "replaced", or to skip the wait). */
  reconnect(): void;
}

export interface LinkHandlers {
  message(m: Msg): void;
  state(s: LinkState, detail: string): void;
}

/** wsURL is the WebSocket's address on this page's origin. */
export function wsURL(loc: { protocol: string; host: string }, token: string): string {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/api/v1/ws?token=${encodeURIComponent(token)}`;
}

export function connect(token: string, h: LinkHandlers): Link {
  let ws: WebSocket | null = null;
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let closed = false;

  const open = () => {
    if (closed) return;
    timer = null;
    h.state(attempt === 0 ? "connecting" : "reconnecting", "");
    const s = new WebSocket(wsURL(location, token));
    ws = s;
    s.onopen = () => {
      attempt = 0;
      h.state("connected", "");
    };
    s.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      let m: Msg;
      try {
        m = JSON.parse(e.data) as Msg;
      } catch {
        return;
      }
      if (m && typeof m === "object" && typeof m.type === "string") h.message(m);
    };
    s.onclose = (e) => {
      if (ws !== s) return;
      ws = null;
      if (closed) return;
      if (e.code === 4001) {
        h.state("ended", "Your session ended: sign in again.");
        return;
      }
      if (e.code === 4000) {
        h.state("replaced", "The console was opened in another tab or window; this one stopped.");
        return;
      }
      const wait = backoff(attempt++);
      h.state("reconnecting", `Connection lost: trying again in ${Math.ceil(wait / 1000)} s.`);
      timer = setTimeout(open, wait);
    };
  };
  open();

  return {
    send(m) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return false;
      ws.send(JSON.stringify(m));
      return true;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      ws?.close(1000);
      ws = null;
    },
    reconnect() {
      if (closed) return;
      if (timer) clearTimeout(timer);
      if (ws) return;
      attempt = 0;
      open();
    },
  };
}
