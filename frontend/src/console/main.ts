// main.ts: the supervisor and admin console, served by the server at /.
// Sign in, then one WebSocket for the live state and the API for the
// rest; the views are sections shown one at a time (#wallboard, #calls...).

import "../style.css";
import "./console.css";
import { h, setAttr, setText } from "../ui/dom";
import { getToken, json, onUnauthorized, setToken, type Me, type Queue, type Stats } from "./api";
import { auditView } from "./audit";
import { callsView } from "./calls";
import type { Ctx, View } from "./context";
import { startOfToday } from "./format";
import { Listener } from "./listen";
import { paymentsView } from "./payments";
import { queuesView } from "./queues";
import { recordingsView } from "./recordings";
import { agentRefusal, signinView } from "./signin";
import { apply, newLive, prune, type Msg } from "./state";
import { usersView } from "./users";
import { wallboardView } from "./wallboard";
import { connect, type Link, type LinkState } from "./ws";

const root = document.getElementById("console") as HTMLElement;

// ---- theme: the system's, or the one chosen (kept in this browser) ----

type Theme = "system" | "light" | "dark";
const themeKey = "hushphone.console.theme";
function theme(): Theme {
  try {
    const t = localStorage.getItem(themeKey);
    return t === "light" || t === "dark" ? t : "system";
  } catch {
    return "system";
  }
}
function setTheme(t: Theme): void {
  document.documentElement.dataset.theme = t;
  try {
    localStorage.setItem(themeKey, t);
  } catch {
    // not kept: this page only
  }
}
setTheme(theme());

// ---- sign-in ----

function showSignin(message = ""): void {
  document.title = "Sign in · Hushphone console";
  const v = signinView((s, name) => {
    setToken(s.token);
    void start({ name: s.name ?? name, role: s.role, expires: s.expires });
  });
  root.replaceChildren(v);
  if (message) {
    const err = v.querySelector("#signin-error") as HTMLElement;
    err.textContent = message;
    err.hidden = false;
  }
}

async function boot(): Promise<void> {
  if (!getToken()) return showSignin();
  try {
    const me = await json<Me>("GET", "/api/v1/me");
    if (me.role === "agent") {
      setToken("");
      return showSignin(agentRefusal);
    }
    await start(me);
  } catch {
    setToken("");
    showSignin();
  }
}

// ---- the console ----

let stop: (() => void) | null = null;

async function start(me: Me): Promise<void> {
  stop?.();
  const live = newLive();
  let link: Link | null = null;
  const announcer = h("div", { class: "sr-only", "aria-live": "polite", id: "announce" });
  const toastEl = h("div", { class: "toast", role: "alert", hidden: true, id: "toast" });
  let toastTimer: ReturnType<typeof setTimeout> | null = null;
  const views: View[] = [];
  const ctx: Ctx = {
    me, live, stats: null, queues: [],
    listener: null as unknown as Listener,
    send: (m) => link?.send(m) ?? false,
    announce(text) {
      // Cleared first so the same words said twice are said again.
      announcer.textContent = "";
      setTimeout(() => { announcer.textContent = text; }, 30);
    },
    toast(text) { show(text, false); },
    notice(text) { show(text, true); },
  };
  // show puts text in the toast for 8 s: an error (role=alert, red) or a
  // notice (role=status, the panel's colours).
  const show = (text: string, notice: boolean) => {
    toastEl.textContent = text;
    toastEl.setAttribute("role", notice ? "status" : "alert");
    toastEl.classList.toggle("notice", notice);
    toastEl.hidden = false;
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { toastEl.hidden = true; }, 8000);
  };
  ctx.listener = new Listener(ctx.send, {
    changed: () => views.forEach((v) => v.listening?.()),
    error: (t) => ctx.toast(t),
    notice: (t) => ctx.notice(t),
  });

  const reloadQueues = async () => {
    ctx.queues = await json<Queue[]>("GET", "/api/v1/queues");
  };
  const admin = me.role === "admin";
  views.push(wallboardView(ctx), callsView(ctx), recordingsView(ctx), paymentsView(ctx));
  if (admin) views.push(usersView(ctx), queuesView(ctx, async () => {
    await reloadQueues();
    views[0].figures?.();
  }), auditView(ctx));

  // Header: brand, navigation, connection, theme, who, sign out.
  const conn = h("span", { class: "conn", role: "status", "data-state": "connecting" }, "Connecting…");
  const retry = h("button", { type: "button", class: "small", hidden: true }, "Reconnect");
  const themeB = h("button", { type: "button", class: "small ghost", "aria-label": "Theme" });
  const drawTheme = () => {
    const t = theme();
    setText(themeB, t === "system" ? "Theme: system" : t === "light" ? "Theme: light" : "Theme: dark");
  };
  drawTheme();
  themeB.addEventListener("click", () => {
    const t = theme();
    setTheme(t === "system" ? "light" : t === "light" ? "dark" : "system");
    drawTheme();
  });
  const signOut = h("button", { type: "button", class: "small" }, "Sign out");
  const nav = h("nav", { "aria-label": "Console" }, ...views.map((v) =>
    h("a", { href: `#${v.name}`, "data-nav": v.name }, v.title)));
  const header = h("header", { class: "bar" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), h("span", {}, "Hushphone")),
    nav, h("span", { class: "spacer" }), conn, retry, themeB,
    h("span", { class: "who" }, `${me.name} (${me.role})`), signOut);
  const main = h("main", { id: "main", tabindex: "-1" }, ...views.map((v) => v.el));
  root.replaceChildren(h("a", { href: "#main", class: "skip" }, "Skip to the content"), header, main, toastEl, announcer);

  // Navigation by the address's fragment, so the back button and links work.
  let current = "";
  const route = () => {
    const want = location.hash.replace(/^#/, "");
    const v = views.find((x) => x.name === want) ?? views[0];
    if (v.name === current) return;
    current = v.name;
    for (const x of views) x.el.hidden = x !== v;
    for (const a of nav.querySelectorAll("a")) setAttr(a, "aria-current", a.dataset.nav === v.name ? "page" : null);
    document.title = `${v.title} · Hushphone console`;
    v.shown?.();
  };
  window.addEventListener("hashchange", route);

  // Today's figures: now, after calls arrive, are answered or end (a
  // little later, together: at most one fetch each 1.5 s), and every 30 s.
  let figuresTimer: ReturnType<typeof setTimeout> | null = null;
  const figures = async () => {
    figuresTimer = null;
    try {
      const [stats] = await Promise.all([
        json<Stats>("GET", `/api/v1/stats?from=${encodeURIComponent(startOfToday())}`),
        reloadQueues(),
      ]);
      ctx.stats = stats;
      views.forEach((v) => v.figures?.());
    } catch (e) {
      ctx.toast(`Today's figures: ${(e as Error).message}`);
    }
  };
  const figuresSoon = () => {
    if (!figuresTimer) figuresTimer = setTimeout(() => void figures(), 1500);
  };
  const every30 = setInterval(() => void figures(), 30_000);
  const every1 = setInterval(() => {
    const now = Date.now();
    const gone = prune(live, now);
    if (gone.length) for (const v of views) v.changed?.({ agents: [], calls: gone, payments: gone, all: false, snapshotDone: false, ended: [], counted: false });
    for (const v of views) if (!v.el.hidden) v.tick?.(now);
  }, 1000);

  const connState = (s: LinkState, detail: string) => {
    conn.dataset.state = s;
    const words: Record<LinkState, string> = {
      connecting: "Connecting…", connected: "Live", reconnecting: "Reconnecting…", replaced: "Stopped", ended: "Signed out",
    };
    setText(conn, words[s]);
    setAttr(conn, "title", detail || null);
    retry.hidden = s !== "replaced" && s !== "reconnecting";
    if (s !== "connected") ctx.listener.disconnected();
    if (detail) ctx.announce(detail);
    if (s === "ended") void end(detail);
  };
  const onMessage = (m: Msg) => {
    if (ctx.listener.handle(m)) return;
    if (m.type === "error") {
      if (m.code !== "no_payment") ctx.toast(m.message || "The server refused a request.");
      return;
    }
    const ch = apply(live, m);
    if (ch.snapshotDone) {
      // Where each answered call's payment stands: pushes come only on
      // changes, so ask once after the snapshot.
      for (const c of live.calls.values()) if (c.state === "active" || c.state === "held") ctx.send({ type: "pay.status", call: c.call, id: `ps-${c.call}`.slice(0, 64) });
    }
    if (ch.counted) figuresSoon();
    for (const v of views) v.changed?.(ch);
    if (ch.calls.length || ch.all) views.forEach((v) => v.listening?.());
  };
  retry.addEventListener("click", () => link?.reconnect());
  link = connect(getToken(), { message: onMessage, state: connState });

  const end = async (message: string) => {
    stop?.();
    setToken("");
    showSignin(message);
  };
  onUnauthorized(() => void end("Your session ended: sign in again."));
  signOut.addEventListener("click", () => {
    void (async () => {
      await json("DELETE", "/api/v1/session").catch(() => {});
      await end("");
    })();
  });

  stop = () => {
    stop = null;
    ctx.listener.stop();
    link?.close();
    clearInterval(every30);
    clearInterval(every1);
    if (figuresTimer) clearTimeout(figuresTimer);
    window.removeEventListener("hashchange", route);
    onUnauthorized(() => {});
  };
  route();
  await figures();
}

void boot();
