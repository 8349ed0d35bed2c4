// load.mjs: whether the console's page stays smooth with 500 calls, what
// build/console-load.sh runs once the frontend and the server are built:
//
//   node load.mjs --bin DIR --work DIR [--calls 500] [--churn 10] [--seconds 30]
//
// hushphone-server on loopback (no agents, no ringback, no caps on calls,
// the invite rate or the wait), a supervisor signed in to the console in
// Debian's Chromium (playwright-core), and CALLS callers that wait in the
// queue: bare INVITEs over UDP from one socket that nobody answers
// (e2e/wallboard_bench_test.go's queuedCallers, here in Node). Once the
// wallboard and Live calls show them all, each second CHURN of them give up
// (CANCEL) and CHURN new ones arrive, for SECONDS: the first half on the
// wallboard, the second on Live calls. In each half it measures in the page
// the long tasks, the frames' intervals (requestAnimationFrame), the
// renderer's main-thread time (CDP Performance.getMetrics), the JS heap,
// the DOM's size, the WebSocket's bytes received and the fetches of
// /api/v1/stats. It prints one JSON line on stdout, {"ok":true,...} or
// {"ok":false,"step","error"}; its progress goes to stderr. Every process
// it starts is ended on the way out.

import dgram from "node:dgram";
import path from "node:path";
import { chromium } from "playwright-core";
import { Procs, addUser, chromiumFlags, freePort, nav, round, run, signIn, sleep, startServer, waitFor } from "./lib.mjs";

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]]] : a), []),
);
for (const k of ["bin", "work"]) {
  if (!args[k]) {
    process.stderr.write(`usage: node load.mjs --bin DIR --work DIR [--calls N] [--churn N] [--seconds S] (missing --${k})\n`);
    process.exit(2);
  }
}
const BIN = path.resolve(args.bin);
const WORK = path.resolve(args.work);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CALLS = Number(args.calls || 500);
const CHURN = Number(args.churn || 10); // callers leaving, and as many arriving, each second
const SECONDS = Number(args.seconds || 30); // half on the wallboard, half on Live calls
// The overall bound: every wait has its own, shorter one.
const OVERALL_MS = Number(process.env.CONSOLE_LOAD_TIMEOUT_MS || 150_000);

const started = Date.now();
const log = (...a) => process.stderr.write(`console-load: [${((Date.now() - started) / 1000).toFixed(1)}s] ${a.join(" ")}\n`);
const procs = new Procs(WORK);
const report = { ok: true, calls: CALLS, churnPerS: 2 * CHURN, seconds: SECONDS };
let step = "start";
let browser = null;
let callers = null;

// --- The callers: bare SIP over UDP, nobody answers ---

// Callers sends each caller's INVITE from one UDP socket and, when it
// gives up, the CANCEL of the same transaction (same branch, tags and
// Call-ID), then ACKs the server's 487 so it stops resending it. It counts
// the server's final answers to INVITEs by code: anything but 487 (after a
// CANCEL) means a caller was refused.
class Callers {
  constructor(server) {
    this.server = server; // "127.0.0.1:PORT"
    const [host, port] = server.split(":");
    this.host = host;
    this.port = Number(port);
    this.sock = dgram.createSocket("udp4");
    this.finals = {};
    this.next = 0;
    this.waiting = []; // ids of the callers waiting, oldest first
    this.sock.on("message", (b) => this.answer(b.toString("latin1")));
  }

  async open() {
    await new Promise((resolve, reject) => {
      this.sock.once("error", reject);
      this.sock.bind(0, "127.0.0.1", resolve);
    });
    this.local = `127.0.0.1:${this.sock.address().port}`;
  }

  request(method, id, { body = "", toTag = "" } = {}) {
    let msg = `${method} sip:hushphone@${this.server} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP ${this.local};branch=z9hG4bK-load-${id}\r\n` +
      `From: <sip:0123456789@${this.local}>;tag=load${id}\r\n` +
      `To: <sip:hushphone@${this.server}>${toTag ? `;tag=${toTag}` : ""}\r\n` +
      `Call-ID: load-${id}@${this.local}\r\n` +
      `CSeq: 1 ${method}\r\nContact: <sip:0123456789@${this.local}>\r\nMax-Forwards: 70\r\n`;
    if (body) msg += "Content-Type: application/sdp\r\n";
    return Buffer.from(`${msg}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`, "latin1");
  }

  send(buf) {
    // Nothing once closed (on the way out, the churn may still be going).
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => this.sock.send(buf, this.port, this.host, (e) => (e ? reject(e) : resolve())));
  }

  // invite queues a new caller.
  async invite() {
    const id = this.next++;
    const port = this.sock.address().port + 2;
    const sdp = `v=0\r\no=- ${id} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;
    this.waiting.push(id);
    await this.send(this.request("INVITE", id, { body: sdp }));
  }

  // cancel: the caller waiting longest gives up.
  async cancel() {
    const id = this.waiting.shift();
    if (id !== undefined) await this.send(this.request("CANCEL", id));
  }

  answer(text) {
    const m = /^SIP\/2\.0 (\d{3})/.exec(text);
    const cseq = /^CSeq:\s*\d+\s+(\w+)/im.exec(text);
    if (!m || !cseq || cseq[1] !== "INVITE") return;
    const code = Number(m[1]);
    if (code < 200) return;
    this.finals[code] = (this.finals[code] || 0) + 1;
    // A final answer to an INVITE other than 2xx is ACKed in its
    // transaction (RFC 3261 17.1.1.3), with the To tag it came with.
    const id = /^Call-ID:\s*load-(\d+)@/im.exec(text)?.[1];
    const toTag = /^To:.*;tag=([^;\s]+)/im.exec(text)?.[1] || "";
    if (id !== undefined && code >= 300) void this.send(this.request("ACK", id, { toTag })).catch(() => {});
  }

  refused() {
    return Object.entries(this.finals).filter(([c]) => c !== "487").reduce((n, [, v]) => n + v, 0);
  }

  close() {
    this.closed = true;
    try {
      this.sock.close();
    } catch {
      // closed already
    }
  }
}

// --- What the page measures (addInitScript) ---

// probe runs in the page before its own scripts: long tasks and frame
// intervals, recorded between window.__load.start() and .stop().
const probe = () => {
  const st = { on: false, lt: [], frames: [], t0: 0 };
  window.__load = {
    start() {
      st.on = true;
      st.lt = [];
      st.frames = [];
      st.t0 = performance.now();
      let last = -1;
      const loop = (t) => {
        if (!st.on) return;
        if (last >= 0) st.frames.push(t - last);
        last = t;
        requestAnimationFrame(loop);
      };
      requestAnimationFrame(loop);
    },
    stop() {
      st.on = false;
      return { ms: performance.now() - st.t0, longTasks: st.lt, frames: st.frames, elements: document.getElementsByTagName("*").length };
    },
  };
  new PerformanceObserver((list) => {
    if (st.on) for (const e of list.getEntries()) st.lt.push(e.duration);
  }).observe({ type: "longtask" });
};

// shows is what the page shows now: callers waiting on the wallboard's
// default queue, and rows on Live calls (hidden or not).
const shows = () => {
  const q = document.querySelector('[data-view="wallboard"] [data-queue="default"] [data-field="waiting"]');
  return {
    waiting: q ? Number(q.textContent.trim()) || 0 : 0,
    rows: document.querySelectorAll('[data-view="calls"] tr[data-call]').length,
  };
};

// --- Failure and cleanup ---

async function cleanup() {
  callers?.close();
  if (browser) await browser.close().catch(() => {});
  await procs.killAll();
}


// --- Figures ---

function quantile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// --- The steps ---

async function main() {
  step = "server";
  const httpPort = await freePort();
  const sipPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const data = path.join(WORK, "data");
  const sup = { password: "load-supervisor-pw" };
  sup.secret = await addUser(procs, BIN, data, { name: "sup", role: "supervisor", password: sup.password });
  // Room for every caller from one address at once, for as long as the
  // run lasts, and no ringback (500 streams of early media would load the
  // machine, not the page).
  await startServer(procs, BIN, data, { httpPort, sipPort, extra: [
    "--max-calls", String(4 * CALLS), "--invite-rate", "0", "--max-queue-wait", "0", "--rtp-timeout", "0",
    "--ringback", "off", "--log-level", "warn",
  ] });
  log(`server on ${base}, SIP 127.0.0.1:${sipPort}`);

  step = "browser";
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, chromiumSandbox: false, timeout: 30_000, args: chromiumFlags });
  report.browser = browser.version();
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: base });
  await ctx.addInitScript(probe);
  const page = await ctx.newPage();
  page.setDefaultTimeout(15_000);
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e).slice(0, 200)));
  // What reaches the page: WebSocket bytes and /api/v1/stats fetches, as
  // running totals the windows take differences of.
  const net = { wsBytes: 0, wsFrames: 0, stats: 0 };
  page.on("websocket", (ws) => {
    ws.on("framereceived", (f) => {
      net.wsFrames++;
      net.wsBytes += typeof f.payload === "string" ? Buffer.byteLength(f.payload) : f.payload.length;
    });
  });
  page.on("request", (r) => {
    if (new URL(r.url()).pathname === "/api/v1/stats") net.stats++;
  });
  const cdp = await ctx.newCDPSession(page);
  await cdp.send("Performance.enable", { timeDomain: "timeTicks" });
  const metrics = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));

  step = "sign-in";
  await signIn(page, "sup", sup, log);
  await nav(page, "wallboard");
  await waitFor("the console's WebSocket to be live", () => page.evaluate(() => document.querySelector(".conn")?.dataset.state === "connected"), 15_000);

  step = "callers arrive";
  callers = new Callers(`127.0.0.1:${sipPort}`);
  await callers.open();
  const firstInvite = Date.now();
  for (let i = 0; i < CALLS; i++) {
    await callers.invite();
    // In bursts of 50, as the Go benchmark does, so the socket's buffers
    // keep up.
    if (i % 50 === 49) await sleep(20);
  }
  const shownAt = await waitFor(
    `the wallboard and Live calls to show ${CALLS} callers waiting`,
    async () => {
      const s = await page.evaluate(shows);
      return s.waiting === CALLS && s.rows === CALLS ? Date.now() : null;
    },
    30_000,
    { every: 50, detail: async () => `the page shows ${JSON.stringify(await page.evaluate(shows))}; the server answered ${JSON.stringify(callers.finals)}` },
  );
  report.fillMs = shownAt - firstInvite;
  if (callers.refused()) throw new Error(`the server refused callers: final answers ${JSON.stringify(callers.finals)}`);
  log(`the page shows ${CALLS} callers waiting, ${report.fillMs} ms after the first INVITE`);
  await sleep(1000); // the figures fetched after the last arrival

  // --- The churn: CHURN leave and CHURN arrive each second ---
  step = "churn";
  let churning = true;
  const churned = { invites: 0, cancels: 0, late: 0 };
  let churnErr = null;
  const churnDone = (async () => {
    const t0 = Date.now();
    for (let s = 0; churning; s++) {
      // Spread over the second, one leaving and one arriving at a time.
      for (let i = 0; i < CHURN && churning; i++) {
        await callers.cancel();
        await callers.invite();
        churned.cancels++;
        churned.invites++;
        const at = t0 + s * 1000 + ((i + 1) * 1000) / CHURN;
        const wait = at - Date.now();
        if (wait > 0) await sleep(wait);
        else if (wait < -200) churned.late++;
      }
    }
  })().catch((e) => {
    churnErr = e;
  });

  const measure = async (view, seconds) => {
    const m0 = await metrics();
    const n0 = { ...net };
    const t0 = Date.now();
    await page.evaluate(() => window.__load.start());
    // The renderer's main thread, second by second.
    const perS = [];
    let prev = m0;
    let prevT = t0;
    for (let s = 0; s < seconds; s++) {
      await sleep(t0 + (s + 1) * 1000 - Date.now());
      const m = await metrics();
      const now = Date.now();
      perS.push((100 * (m.TaskDuration - prev.TaskDuration)) / ((now - prevT) / 1000));
      prev = m;
      prevT = now;
    }
    const got = await page.evaluate(() => window.__load.stop());
    const m1 = await metrics();
    const wallS = (Date.now() - t0) / 1000;
    const lt = got.longTasks;
    const fr = [...got.frames].sort((a, b) => a - b);
    const pct = (k) => round((100 * (m1[k] - m0[k])) / wallS);
    return {
      view,
      seconds: round(wallS, 2),
      longTasks: { count: lt.length, totalMs: round(lt.reduce((a, b) => a + b, 0)), maxMs: round(Math.max(0, ...lt)) },
      frames: {
        count: fr.length,
        medianMs: round(quantile(fr, 0.5)),
        p95Ms: round(quantile(fr, 0.95)),
        maxMs: round(fr[fr.length - 1]),
        over50: fr.filter((x) => x > 50).length,
        over100: fr.filter((x) => x > 100).length,
      },
      // Percent of one core: the main thread's tasks, and within them
      // script, layout and style.
      cpu: {
        taskPct: pct("TaskDuration"),
        scriptPct: pct("ScriptDuration"),
        layoutPct: pct("LayoutDuration"),
        stylePct: pct("RecalcStyleDuration"),
        maxTaskPctPerS: round(Math.max(...perS)),
      },
      heapMB: round(m1.JSHeapUsedSize / 1048576),
      elements: got.elements,
      nodes: m1.Nodes,
      wsBytesPerS: Math.round((net.wsBytes - n0.wsBytes) / wallS),
      wsFramesPerS: round((net.wsFrames - n0.wsFrames) / wallS),
      statsPerS: round((net.stats - n0.stats) / wallS, 2),
    };
  };

  const half = Math.floor(SECONDS / 2);
  log(`churn: ${CHURN} leave and ${CHURN} arrive each second; measuring the wallboard for ${half} s`);
  const wallboard = await measure("wallboard", half);
  // Switching to Live calls lays out its rows at once: timed apart.
  const sw0 = Date.now();
  await nav(page, "calls");
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  report.switchToCallsMs = Date.now() - sw0;
  log(`on Live calls (${report.switchToCallsMs} ms to switch); measuring for ${SECONDS - half} s`);
  // CONSOLE_LOAD_TRACE=FILE: a Chromium trace of this window too (for
  // chrome://tracing or Perfetto), to see where the time goes.
  const trace = process.env.CONSOLE_LOAD_TRACE;
  if (trace) await browser.startTracing(page, { path: path.resolve(trace), screenshots: false });
  const calls = await measure("calls", SECONDS - half);
  if (trace) await browser.stopTracing();
  churning = false;
  await churnDone;
  if (churnErr) throw new Error(`the callers' churn failed: ${churnErr.message}`);
  report.churn = churned;
  report.wallboard = wallboard;
  report.liveCalls = calls;

  step = "after the churn";
  // Still CALLS waiting, on both views, and nobody refused.
  await waitFor(
    `the page to show ${CALLS} callers waiting after the churn`,
    async () => {
      const s = await page.evaluate(shows);
      return s.waiting === CALLS && s.rows === CALLS;
    },
    15_000,
    { detail: async () => `the page shows ${JSON.stringify(await page.evaluate(shows))}` },
  );
  if (callers.refused()) throw new Error(`the server refused callers: final answers ${JSON.stringify(callers.finals)}`);
  report.finals = callers.finals;
  if (pageErrors.length) throw new Error(`the page threw: ${pageErrors.slice(0, 3).join(" | ")}`);
  report.elapsedS = round((Date.now() - started) / 1000);
}

run({
  main, procs, log, report: () => report, cleanup, work: WORK, keepEnv: "CONSOLE_LOAD_KEEP", overallMs: OVERALL_MS,
  step: () => step,
});
