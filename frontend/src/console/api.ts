// api.ts: the HTTP API (docs/openapi.yaml), same origin, with the
// session's token in the Authorization header. The token lives in
// sessionStorage: one tab's, gone when the tab closes.

import { apiErrorText } from "./format";

const tokenKey = "hushphone.console.token";

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly code: string = "") {
    super(message);
  }
}

export function getToken(): string {
  try {
    return sessionStorage.getItem(tokenKey) ?? "";
  } catch {
    return "";
  }
}

export function setToken(t: string): void {
  try {
    if (t) sessionStorage.setItem(tokenKey, t);
    else sessionStorage.removeItem(tokenKey);
  } catch {
    // storage refused (private mode): the session lasts this page only
  }
  memoryToken = t;
}

let memoryToken = "";

function token(): string {
  return getToken() || memoryToken;
}

/** onUnauthorized is told when a call gets 401 with a token: the session ended. */
let unauthorized: () => void = () => {};
export function onUnauthorized(f: () => void): void {
  unauthorized = f;
}

async function send(method: string, path: string, body?: unknown, accept = "application/json"): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let r: Response;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch {
    throw new ApiError(0, apiErrorText(0, null));
  }
  if (!r.ok) {
    let j: unknown = null;
    try {
      j = await r.json();
    } catch {
      // not JSON: the status says it
    }
    const code = typeof (j as { code?: unknown })?.code === "string" ? (j as { code: string }).code : "";
    if (r.status === 401 && t && path !== "/api/v1/session") unauthorized();
    throw new ApiError(r.status, apiErrorText(r.status, j), code);
  }
  return r;
}

/** json calls the API and reads its JSON answer (null for 204). */
export async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await send(method, path, body);
  if (r.status === 204) return null as T;
  return (await r.json()) as T;
}

/** blob fetches a file (a recording, a CSV export) with the token. */
export async function blob(path: string, accept = "*/*"): Promise<{ blob: Blob; filename: string }> {
  const r = await send("GET", path, undefined, accept);
  const cd = r.headers.get("Content-Disposition") ?? "";
  const m = /filename="?([^";]+)"?/.exec(cd);
  return { blob: await r.blob(), filename: m ? m[1] : "" };
}

/** query builds a query string from the non-empty values. */
export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** save hands a blob to the browser as a download. */
export function save(b: Blob, filename: string): void {
  const url = URL.createObjectURL(b);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// ---- the API's shapes (docs/openapi.yaml) ----

export type Role = "agent" | "supervisor" | "admin";

export interface SignedIn { token: string; role: Role; expires: string; name?: string }
export interface Me { name: string; role: Role; expires: string }
export interface User { name: string; role: Role; created: string; disabled: boolean; mfa: boolean }
export interface Queue { name: string; number: string; members: string[] }
export interface Recording { id: number; call: string; agent: string; started: string; duration_ms: number; url: string; verdict: string;
  /** The caller's number as the call log keeps it ("…4242" when it could be a card number; "" when unknown). */
  caller: string }
export interface Proof {
  recording: number; verdict: string; keys_masked: number; hit_count: number;
  hits: { channel: number; at_ms: number }[]; flat_tones: number; detector: string; detector_version: string;
  sha256: string; duration_ms: number; channels: number; checked: string;
}
export interface QueueStats {
  queue: string; offered: number; answered: number; abandoned: number; within_threshold: number;
  service_level: number; average_wait_ms: number; average_handle_ms: number;
}
export interface Stats { from: string; to: string; threshold_ms: number; queues: QueueStats[]; agents: { agent: string; handled: number }[] }
export interface MFAEnrolled { uri: string; secret: string; recovery_codes: string[] }
export interface AuditEntry { id: number; at: string; user: string; action: string; object: string }
