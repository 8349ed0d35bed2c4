// smoke.mjs: the console's smoke run in a real browser (issue 12, point 8),
// what build/console-smoke.sh runs once the frontend and the binaries are
// built:
//
//   node smoke.mjs --bin DIR --out OUT_DIR --work DIR --tone TONE.wav --mic SUP.wav
//
// Real peers only: hushphone-server (sandbox gateway) on loopback, the
// headless agent hushphone-agent, sipp as the caller typing the sandbox's
// approved test card as RFC 4733 events, tshark on loopback for what the
// caller receives, and Debian's Chromium driven by playwright-core as the
// supervisor and the admin (the page's DOM contract: the console's
// section of docs, "B" in the helpers' contract). It prints one JSON line
// on stdout, {"ok":true,...} or {"ok":false,"step","error"}; its progress
// goes to stderr. Every process it starts is ended on the way out.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";
import {
  Procs,
  addUser,
  analyseInPage,
  captureRTP,
  chromiumFlags,
  freePort,
  levelDb,
  muLawDecode,
  nav,
  panWindows,
  readWav,
  signIn,
  sleep,
  startServer,
  waitFor,
  round,
  roundAll,
  run,
  writeCall,
} from "./lib.mjs";

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]]] : a), []),
);
for (const k of ["bin", "out", "work", "tone", "mic"]) {
  if (!args[k]) {
    process.stderr.write(`usage: node smoke.mjs --bin DIR --out DIR --work DIR --tone TONE.wav --mic SUP.wav (missing --${k})\n`);
    process.exit(2);
  }
}
const BIN = path.resolve(args.bin);
const OUT = path.resolve(args.out);
const WORK = path.resolve(args.work);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// The overall bound: every wait has its own, shorter one.
const OVERALL_MS = Number(process.env.CONSOLE_SMOKE_TIMEOUT_MS || 240_000);

// The sandbox's approved test card, then #, the expiry 09/31 and the
// security code 737: what sipp types.
const PAN = "4242424242424242";
const KEYS = `${PAN}#0931737`;
// When the caller starts typing, after the answer: time to listen and
// whisper first.
const KEYS_AT_S = 18;
const AGENT_TONE_HZ = 1000; // ann's voice (TONE.wav)
const MIC_TONE_HZ = 600; // the supervisor's fake microphone (SUP.wav)
const WHISPER_MS = 5000;

const started = Date.now();
const log = (...a) => process.stderr.write(`console-smoke: [${((Date.now() - started) / 1000).toFixed(1)}s] ${a.join(" ")}\n`);
const procs = new Procs(WORK);
const report = { ok: true, screenshots: [] };
let step = "start";
let browser = null;

// --- What the browser saw, searched for the card number ---

const windows = panWindows(PAN);
const searched = { dom: 0, responses: 0, wsFrames: 0, console: 0, other: 0 };
const hits = [];
const pendingBodies = new Set();
function scan(kind, where, text) {
  searched[kind] = (searched[kind] || 0) + 1;
  for (const w of windows) {
    const i = text.indexOf(w);
    if (i >= 0) {
      // The place only, never the digits around it.
      hits.push(`${kind}: ${where} (at ${i})`);
      return;
    }
  }
}
const consoleErrors = [];
const httpErrors = [];

function watch(page, who) {
  page.on("console", (m) => {
    scan("console", `${who} console`, m.text());
    if (m.type() === "error") consoleErrors.push(`${who}: ${m.text().slice(0, 200)}`);
  });
  page.on("pageerror", (e) => {
    scan("console", `${who} page error`, String(e));
    consoleErrors.push(`${who}: page error: ${String(e).slice(0, 200)}`);
  });
  page.on("websocket", (ws) => {
    const text = (f) => (typeof f.payload === "string" ? f.payload : Buffer.from(f.payload).toString("latin1"));
    ws.on("framereceived", (f) => scan("wsFrames", `${who} websocket frame received`, text(f)));
    ws.on("framesent", (f) => scan("wsFrames", `${who} websocket frame sent`, text(f)));
  });
  page.on("response", (r) => {
    if (r.status() >= 400) httpErrors.push(`${who}: ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    const p = r
      .body()
      .then((b) => scan("responses", `${who} response ${r.request().method()} ${new URL(r.url()).pathname}`, b.toString("latin1")))
      .catch(() => {}) // a redirect or a body the page dropped: nothing to read
      .finally(() => pendingBodies.delete(p));
    pendingBodies.add(p);
  });
}

async function snapshot(page, who) {
  scan("dom", `${who} DOM (${step})`, await page.content());
}

// What the page's observer (addInitScript below) saw between polls: every
// text of every call's payment field, every state of every agent, and
// whether a recording's player played.
const observer = () => {
  const seen = { pay: {}, agents: {}, played: false };
  window.__smoke = seen;
  const look = () => {
    for (const el of document.querySelectorAll("[data-call]")) {
      const f = el.querySelector('[data-field="payment"]');
      if (!f) continue;
      const id = el.getAttribute("data-call");
      const list = (seen.pay[id] ||= []);
      const t = f.textContent.trim();
      if (t && list[list.length - 1] !== t) list.push(t);
    }
    for (const el of document.querySelectorAll("[data-agent]")) {
      const f = el.querySelector('[data-field="state"]');
      if (!f) continue;
      const name = el.getAttribute("data-agent");
      const list = (seen.agents[name] ||= []);
      const t = f.textContent.trim();
      if (t && list[list.length - 1] !== t) list.push(t);
    }
  };
  document.addEventListener(
    "playing",
    (e) => {
      if (e.target instanceof HTMLAudioElement && e.target.hasAttribute("data-player")) seen.played = true;
    },
    true,
  );
  const start = () => {
    new MutationObserver(look).observe(document.documentElement, { subtree: true, childList: true, characterData: true, attributes: true });
    look();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
};

// --- Failure and cleanup ---

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  await procs.killAll();
}


// --- The steps ---

async function main() {
  step = "server";
  const httpPort = await freePort();
  const sipPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const data = path.join(WORK, "data");
  const users = {
    sup: { role: "supervisor", password: "smoke-supervisor-pw" },
    root: { role: "admin", password: "smoke-admin-pw-1" },
    ann: { role: "agent", password: "smoke-agent-ann" },
  };
  for (const [name, u] of Object.entries(users)) u.secret = await addUser(procs, BIN, data, { name, ...u });
  const server = await startServer(procs, BIN, data, { httpPort, sipPort });
  const page0 = await fetch(`${base}/`);
  if (!page0.ok || !/html/.test(page0.headers.get("content-type") || "")) {
    throw new Error(`the server serves no console page at / (${page0.status} ${page0.headers.get("content-type")})`);
  }
  log(`server on ${base}, SIP 127.0.0.1:${sipPort}`);

  step = "browser";
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    timeout: 30_000,
    // Playwright gives the browser a fresh profile in a temporary folder
    // of its own (the user data dir), removed on close.
    args: [...chromiumFlags, `--use-file-for-fake-audio-capture=${path.resolve(args.mic)}`],
  });
  report.browser = browser.version();
  const newPage = async (who) => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: base });
    await ctx.grantPermissions(["microphone"], { origin: base });
    await ctx.addInitScript(observer);
    const page = await ctx.newPage();
    page.setDefaultTimeout(15_000);
    watch(page, who);
    return page;
  };

  step = "supervisor sign-in";
  const sup = await newPage("supervisor");
  await signIn(sup, "sup", users.sup, log);
  await snapshot(sup, "supervisor");

  step = "agent ann available";
  const heard = path.join(WORK, "heard.wav");
  const ann = procs.start("agent-ann", path.join(BIN, "hushphone-agent"), [
    "--server", base, "--user", "ann", "--password-stdin", "--auto-answer", "--play", path.resolve(args.tone),
    "--record", heard, "--pay", "1250:GBP", "--calls", "1",
  ], { stdin: `${users.ann.password}\n` });
  await nav(sup, "wallboard");
  await waitAgentState(sup, "ann", "available", ann, 20_000);
  await snapshot(sup, "supervisor");
  log("ann is available on the wallboard");

  step = "call arrives";
  // tshark captures what reaches sipp's media port from before the call:
  // the caller's side of the whisper check.
  const sippSip = await freePort();
  const sippMedia = await freePort({ udpOnly: true });
  const capFile = path.join(WORK, "caller-rtp.pcapng");
  const tshark = await captureRTP(procs, sippMedia, capFile);
  const typingS = KEYS.length * 0.2;
  const call1 = sippCall("sipp-call1", { service: "hushphone", sipPort, sippSip, sippMedia, totalS: KEYS_AT_S + typingS + 1, keys: KEYS, atS: KEYS_AT_S, pauseS: 40 });
  await nav(sup, "calls");
  const callID = await waitFor(
    "a row [data-call] in the calls view with agent ann and state active",
    () => sup.evaluate(() => {
      for (const el of document.querySelectorAll("[data-call]")) {
        const f = (n) => el.querySelector(`[data-field="${n}"]`)?.textContent.trim();
        if (f("state") === "active" && f("agent") === "ann") return el.getAttribute("data-call");
      }
      return null;
    }),
    30_000,
    { detail: () => callsDetail(sup, call1.proc) },
  );
  const callActiveAt = Date.now();
  const row = sup.locator(`[data-call="${cssEscape(callID)}"]`);
  await snapshot(sup, "supervisor");
  log(`call ${callID} is active with ann`);

  step = "listen";
  await row.locator('button[data-action="listen"]').click();
  await waitFor(`the row of ${callID} to have data-mode="listen"`, async () => (await row.getAttribute("data-mode")) === "listen", 15_000, {
    detail: async () => `data-mode=${await row.getAttribute("data-mode")}, page errors: ${consoleErrors.slice(-3).join(" | ")}`,
  });
  await waitFor("window.hushphoneConsole.remoteStream with an audio track", () => sup.evaluate(() => {
    const s = window.hushphoneConsole?.remoteStream;
    return !!s && s.getAudioTracks().some((t) => t.readyState === "live");
  }), 15_000);
  // Up to three looks of 5 s, each with the stream the page has then (it
  // may replace it when the connection settles).
  let tone;
  for (let i = 0; i < 3; i++) {
    tone = await sup.evaluate(analyseInPage, { f: AGENT_TONE_HZ, ms: 5000, stream: "console" });
    if (tone.found) break;
    log(`the analyser's look ${i + 1} found no tone: ${JSON.stringify(roundAll(tone))}`);
  }
  report.toneLevelDb = round(tone.tone);
  report.toneOverRestDb = round(tone.tone - tone.restMax);
  report.toneOverMedianDb = round(tone.tone - tone.median);
  if (!tone.found) {
    throw new Error(`the page's analyser did not find ann's ${AGENT_TONE_HZ} Hz tone in remoteStream: ${JSON.stringify(roundAll(tone))}`);
  }
  log(`the page hears ann's tone at ${report.toneLevelDb} dB (${report.toneOverRestDb} dB over the loudest other bin)`);
  // The browser's round trip, from the server's RTCP receiver reports
  // (remote-inbound-rtp), as the page reads it every 2 s.
  // (0 ms is a real answer on loopback: hence the object.)
  report.rttMs = (await waitFor("a round-trip time from the server's RTCP (window.hushphoneConsole.rttMs)", () => sup.evaluate(() => {
    const v = window.hushphoneConsole?.rttMs;
    return typeof v === "number" ? { v } : null;
  }), 15_000)).v;
  log(`the page's round trip to the server: ${report.rttMs} ms`);

  step = "whisper";
  await row.locator('button[data-action="whisper"]').click();
  await waitFor(`the row of ${callID} to have data-mode="whisper"`, async () => (await row.getAttribute("data-mode")) === "whisper", 10_000, {
    detail: async () => `data-mode=${await row.getAttribute("data-mode")}; page errors: ${consoleErrors.slice(-3).join(" | ")}`,
  });
  const whisperFrom = Date.now();
  await sleep(WHISPER_MS);
  await row.locator('button[data-action="listen"]').click();
  await waitFor(`the row of ${callID} to go back to data-mode="listen"`, async () => (await row.getAttribute("data-mode")) === "listen", 10_000);
  const whisperTo = Date.now();
  await snapshot(sup, "supervisor");
  log(`whispered for ${((whisperTo - whisperFrom) / 1000).toFixed(1)} s, from ${((whisperFrom - callActiveAt) / 1000).toFixed(1)} s into the call`);

  step = "payment progress";
  const payTexts = () => sup.evaluate((id) => window.__smoke.pay[id] || [], callID);
  // The screenshot once the caller is typing: several texts seen since
  // the first, and none final yet.
  const firstText = (await payTexts())[0] || "";
  await waitFor(
    "the payment field of the call to show the caller's typing (its text changing)",
    async () => {
      await snapshot(sup, "supervisor");
      const t = await payTexts();
      return t.length >= 4 && !/approved|declined/i.test(t[t.length - 1]);
    },
    KEYS_AT_S * 1000 + 20_000,
    { every: 250, detail: async () => `texts seen: ${JSON.stringify(await payTexts())}` },
  );
  await shot(sup, "live-call.png");
  await waitFor(
    "the payment field to show approved",
    async () => {
      await snapshot(sup, "supervisor");
      return (await payTexts()).some((t) => /approved/i.test(t));
    },
    30_000,
    { every: 250, detail: async () => `texts seen: ${JSON.stringify(await payTexts())}` },
  );
  const texts = await payTexts();
  report.paymentTexts = texts.length;
  report.paymentFirst = firstText;
  report.paymentLast = texts[texts.length - 1];
  log(`payment: ${texts.length} texts, the last ${JSON.stringify(report.paymentLast)}`);

  step = "call ends";
  await waitFor("hushphone-agent ann to exit after its one call (--calls 1)", () => ann.exited, 30_000, { detail: () => Procs.tail(ann) });
  if (ann.code !== 0) throw new Error(`hushphone-agent ann exited ${ann.code}: ${Procs.tail(ann)}`);
  const outcome = ann.out.split("\n").find((l) => l.startsWith("{"));
  if (!outcome || JSON.parse(outcome).result !== "approved") throw new Error(`ann's payment outcome is not approved: ${outcome}`);
  await waitFor("sipp (call 1) to end", () => call1.proc.exited, 20_000);
  if (call1.proc.code !== 0) throw new Error(`sipp (call 1) exited ${call1.proc.code}: ${Procs.tail(call1.proc)}`);
  await procs.stop(tshark, "SIGINT");
  // hushphone-agent prints the server's supervisor messages (the desktop
  // app shows them on the call): ann is told when sup starts whispering
  // and when sup is no longer heard, and never of the silent listening.
  const told = ann.out.split("\n").filter((l) => /^ann: sup (is whispering|is no longer heard|has joined)/.test(l));
  report.agentTold = told.map((l) => l.replace(/ on .*/, ""));
  if (!/is whispering/.test(told[0] || "") || !/is no longer heard/.test(told[1] || "") || told.some((l) => /has joined/.test(l))) {
    throw new Error(`ann was not told of the whisper as it happened (told: ${JSON.stringify(told)})`);
  }

  step = "whisper: what the agent heard";
  whisperAgent(heard, whisperTo - whisperFrom);
  step = "whisper: what the caller heard";
  callerSide(capFile, sippMedia, whisperFrom, whisperTo);

  step = "recordings";
  await nav(sup, "recordings");
  const form = sup.locator("form#recording-search");
  // By the agent and the caller's number, typed as a person would (the
  // server matches its digits against the number the call log kept).
  await form.locator('input[name="agent"]').fill("ann");
  await form.locator('input[name="caller"]').fill("012 345 6789");
  const rec = await waitFor(
    "a recording of ann's call from 012 345 6789 with verdict clean in the recordings view",
    async () => {
      await form.evaluate((f) => f.requestSubmit());
      await sleep(700);
      return sup.evaluate(() => {
        for (const el of document.querySelectorAll("[data-recording]")) {
          if (el.querySelector('[data-field="verdict"]')?.textContent.trim() === "clean") return el.getAttribute("data-recording");
        }
        return null;
      });
    },
    60_000,
    {
      every: 1500,
      detail: () => sup.evaluate(() => [...document.querySelectorAll("[data-recording]")].map((el) => `${el.getAttribute("data-recording")}: ${el.querySelector('[data-field="verdict"]')?.textContent.trim()}`).join(", ") || "no rows"),
    },
  );
  const recRow = sup.locator(`[data-recording="${cssEscape(rec)}"]`);
  report.recordingKeys = (await recRow.locator('[data-field="keys"]').textContent().catch(() => ""))?.trim();
  const recCaller = (await recRow.locator('[data-field="caller"]').textContent().catch(() => ""))?.trim();
  if (recCaller !== "0123456789") throw new Error(`the recording's caller reads ${JSON.stringify(recCaller)}, want "0123456789"`);
  await recRow.locator('button[data-action="play"]').click();
  await waitFor("the recording's <audio data-player> to play (a playing event or currentTime > 0)", () => sup.evaluate(() =>
    window.__smoke.played || [...document.querySelectorAll("audio[data-player]")].some((a) => a.currentTime > 0)), 15_000);
  await snapshot(sup, "supervisor");
  await shot(sup, "recordings.png");
  log(`recording ${rec} is clean and plays`);

  step = "admin sign-in";
  const adm = await newPage("admin");
  await signIn(adm, "root", users.root, log);
  await snapshot(adm, "admin");

  step = "admin adds a user";
  await nav(adm, "users");
  await adm.fill("#user-name", "bea");
  const role = adm.locator("select#user-role");
  await role.selectOption({ value: "agent" }).catch(() => role.selectOption({ label: "agent" }));
  const beaPassword = "smoke-agent-bea";
  await adm.fill("#user-password", beaPassword);
  await adm.locator("form#user-add").evaluate((f) => f.requestSubmit());
  await waitFor("a row [data-user=bea] in the users view", () => adm.locator('[data-user="bea"]').count(), 15_000, {
    detail: () => adm.locator('[role="alert"]').allTextContents().then((t) => `alerts: ${t.join(" | ")}`),
  });
  await snapshot(adm, "admin");
  await shot(adm, "users.png");

  step = "admin adds a queue";
  await nav(adm, "queues");
  await adm.fill("#queue-name", "sales");
  await adm.fill("#queue-number", "2000");
  await adm.fill("#queue-members", "bea");
  await adm.locator("form#queue-add").evaluate((f) => f.requestSubmit());
  await waitFor("a row [data-queue-admin=sales] in the queues view", () => adm.locator('[data-queue-admin="sales"]').count(), 15_000, {
    detail: () => adm.locator('[role="alert"]').allTextContents().then((t) => `alerts: ${t.join(" | ")}`),
  });
  await snapshot(adm, "admin");
  log("the admin added bea and the queue sales (2000)");

  step = "a call to 2000 rings bea";
  // ann takes calls again meanwhile (not a member of sales): the call to
  // 2000 must still go to bea.
  const bea = procs.start("agent-bea", path.join(BIN, "hushphone-agent"), [
    "--server", base, "--user", "bea", "--password-stdin", "--auto-answer", "--calls", "1",
  ], { stdin: `${beaPassword}\n` });
  const ann2 = procs.start("agent-ann-again", path.join(BIN, "hushphone-agent"), [
    "--server", base, "--user", "ann", "--password-stdin", "--auto-answer", "--calls", "1",
  ], { stdin: `${users.ann.password}\n` });
  await nav(sup, "wallboard");
  await waitAgentState(sup, "bea", "available", bea, 20_000);
  await waitAgentState(sup, "ann", "available", ann2, 20_000);
  const annBefore = (await sup.evaluate(() => window.__smoke.agents.ann || [])).length;
  const call2 = sippCall("sipp-call2", { service: "2000", sipPort, sippSip: await freePort(), sippMedia: await freePort({ udpOnly: true }), totalS: 8, pauseS: 1 });
  await waitFor(
    "the wallboard to show bea busy",
    async () => (await sup.evaluate(() => window.__smoke.agents.bea || [])).includes("busy"),
    20_000,
    { detail: async () => `states seen: ${JSON.stringify(await sup.evaluate(() => window.__smoke.agents))}; sipp: ${Procs.tail(call2.proc, 200)}` },
  );
  // The new queue's figures on the supervisor's wallboard, which was open
  // before the admin added it: the call's arrival refreshes them.
  const salesOffered = sup.locator('[data-view="wallboard"] [data-queue="sales"] [data-field="offered"]');
  await waitFor("the wallboard's row of the queue sales to show 1 call offered", async () =>
    (await salesOffered.count()) > 0 && (await salesOffered.first().textContent()).trim() === "1", 10_000, {
    detail: async () => `queues on the wallboard: ${(await sup.locator('[data-view="wallboard"] [data-queue]').evaluateAll((els) => els.map((e) => e.getAttribute("data-queue")))).join(", ")}`,
  });
  await snapshot(sup, "supervisor");
  await shot(sup, "wallboard.png");
  await waitFor("hushphone-agent bea to report its call ended", () => /bea: call ended/.test(bea.out), 30_000, { detail: () => Procs.tail(bea) });
  const annStates = (await sup.evaluate(() => window.__smoke.agents.ann || [])).slice(annBefore);
  if (annStates.includes("busy") || annStates.includes("ringing") || /call ended/.test(ann2.out)) {
    throw new Error(`the call to 2000 reached ann, who is not in the queue sales (ann's states: ${annStates.join(", ")})`);
  }
  await waitFor("sipp (call 2) to end", () => call2.proc.exited, 20_000);
  if (call2.proc.code !== 0) throw new Error(`sipp (call 2) exited ${call2.proc.code}: ${Procs.tail(call2.proc)}`);
  report.queueCall = "bea";
  log("the call to 2000 rang bea");

  step = "card digits";
  for (const [p, who] of [[sup, "supervisor"], [adm, "admin"]]) {
    for (const v of ["wallboard", "calls", "recordings", "payments"]) {
      await nav(p, v);
      await sleep(300);
      await snapshot(p, who);
    }
  }
  await Promise.race([Promise.all([...pendingBodies]), sleep(5000)]);
  scan("other", "server log", fs.readFileSync(server.errFile, "latin1") + fs.readFileSync(server.outFile, "latin1"));
  report.cardDigitsFound = hits.length;
  report.searched = searched;
  if (hits.length > 0) throw new Error(`7 digits of the card number in: ${[...new Set(hits)].slice(0, 10).join("; ")}`);
  report.consoleErrors = consoleErrors.length;
  report.seconds = Math.round((Date.now() - started) / 1000);
}

// --- Helpers of the steps ---

async function waitAgentState(page, name, state, proc, ms) {
  const f = page.locator(`[data-view="wallboard"] [data-agent="${name}"] [data-field="state"]`);
  await waitFor(`[data-agent=${name}] [data-field=state] on the wallboard to read ${state}`, async () => {
    if (proc.exited) throw new Error(`hushphone-agent ${name} exited (${proc.code}): ${Procs.tail(proc)}`);
    return (await f.count()) > 0 && (await f.first().textContent()).trim() === state;
  }, ms, { detail: async () => `it reads ${JSON.stringify(await f.first().textContent().catch(() => "(no such element)"))}` });
}

async function callsDetail(page, sipp) {
  const rows = await page.evaluate(() => [...document.querySelectorAll("[data-call]")].map((el) => el.textContent.trim().replace(/\s+/g, " ").slice(0, 120)));
  return `rows: ${JSON.stringify(rows)}; sipp: ${Procs.tail(sipp, 300)}`;
}

async function shot(page, name) {
  const file = path.join(OUT, name);
  await page.screenshot({ path: file, fullPage: false });
  report.screenshots.push(file);
}

// sippCall has sipp call the server's SIP address with request user
// service, playing totalS s of caller audio with keys from atS, then
// waiting up to pauseS for the server's BYE.
function sippCall(name, { service, sipPort, sippSip, sippMedia, totalS, keys = "", atS = 0, pauseS }) {
  const dir = path.join(WORK, name);
  fs.mkdirSync(dir, { recursive: true });
  writeCall(BIN, dir, { lengthS: totalS, keys, atS, waitS: pauseS });
  const proc = procs.start(name, "sipp", [
    "-sf", "caller.xml", "-s", service, "-m", "1", "-i", "127.0.0.1", "-p", String(sippSip), "-mp", String(sippMedia),
    "-timeout", `${Math.ceil(totalS + pauseS + 60)}s`, "-nostdin", `127.0.0.1:${sipPort}`,
  ], { cwd: dir });
  return { proc };
}

// whisperAgent checks what ann heard (--record): the supervisor's tone in
// one stretch about as long as the whisper, not before or after it.
function whisperAgent(file, whisperMs) {
  const { samples, rate } = readWav(file);
  if (rate !== 8000) throw new Error(`${file} is at ${rate} Hz, not 8000`);
  const block = 1600; // 200 ms
  const levels = [];
  for (let i = 0; i + block <= samples.length; i += block) levels.push(levelDb(samples.subarray(i, i + block), MIC_TONE_HZ));
  const on = levels.map((l) => l > -45);
  let best = [0, 0];
  for (let i = 0; i < on.length; ) {
    if (!on[i]) {
      i++;
      continue;
    }
    let j = i;
    while (j < on.length && on[j]) j++;
    if (j - i > best[1] - best[0]) best = [i, j];
    i = j;
  }
  const runS = ((best[1] - best[0]) * block) / rate;
  const inRun = levels.slice(best[0], best[1]).sort((a, b) => a - b);
  const outside = [...levels.slice(0, best[0]), ...levels.slice(best[1])].sort((a, b) => a - b);
  report.whisperAgentDb = round(inRun[inRun.length >> 1] ?? -Infinity);
  report.whisperAgentOtherDb = round(outside[outside.length >> 1] ?? -Infinity);
  report.whisperAgentSeconds = round(runS);
  report.whisperAgentAtS = round((best[0] * block) / rate);
  const otherOn = on.filter((x, i) => x && (i < best[0] || i >= best[1])).length;
  if (runS < (whisperMs / 1000) * 0.6 || runS > whisperMs / 1000 + 2) {
    throw new Error(`ann heard the supervisor's ${MIC_TONE_HZ} Hz tone for ${runS} s in one stretch, for a whisper of ${(whisperMs / 1000).toFixed(1)} s (levels per 200 ms: ${levels.map(round).join(" ")})`);
  }
  if (otherOn > 5) {
    throw new Error(`ann heard the supervisor's ${MIC_TONE_HZ} Hz tone outside the whisper too (${otherOn} blocks of 200 ms)`);
  }
  log(`ann heard the whisper: ${report.whisperAgentDb} dB for ${runS} s, ${report.whisperAgentOtherDb} dB elsewhere`);
}

// callerSide checks the RTP that reached sipp during the whisper (the
// tshark capture): PCMU with ann's tone in it and not the supervisor's.
function callerSide(capFile, mediaPort, from, to) {
  const a = ["-r", capFile];
  for (let p = mediaPort; p < mediaPort + 10; p++) a.push("-d", `udp.port==${p},rtp`);
  a.push("-Y", "rtp", "-T", "fields", "-e", "frame.time_epoch", "-e", "udp.dstport", "-e", "rtp.p_type", "-e", "rtp.payload");
  const r = spawnSyncText("tshark", a);
  const byPort = {};
  for (const l of r.split("\n")) {
    const [t, port, pt, payload] = l.split("\t");
    if (pt !== "0" || !payload) continue;
    (byPort[port] ||= []).push([Number(t) * 1000, Buffer.from(payload.replace(/:/g, ""), "hex")]);
  }
  // sipp's media port for the call: the one that received the most PCMU.
  const pkts = Object.values(byPort).sort((x, y) => y.length - x.length)[0] || [];
  if (pkts.length < 100) throw new Error(`tshark saw ${pkts.length} PCMU packets to sipp's media ports ${mediaPort}-${mediaPort + 9}: the capture missed the call`);
  // The whisper's middle: a second after it was asked for, to its end.
  const inWhisper = pkts.filter(([t]) => t >= from + 1000 && t <= to - 200);
  if (inWhisper.length < 50) throw new Error(`only ${inWhisper.length} PCMU packets reached sipp during the whisper`);
  const pcm = [];
  for (const [, b] of inWhisper) for (const u of b) pcm.push(muLawDecode(u));
  report.whisperCallerDb = round(levelDb(pcm, MIC_TONE_HZ));
  report.callerToneDb = round(levelDb(pcm, AGENT_TONE_HZ));
  report.whisperCallerPackets = inWhisper.length;
  if (!(report.callerToneDb > -40)) throw new Error(`the caller did not hear ann's ${AGENT_TONE_HZ} Hz tone during the whisper (${report.callerToneDb} dB): the capture is not of the call`);
  if (!(report.whisperCallerDb < -50)) throw new Error(`the caller heard the supervisor's whisper: ${MIC_TONE_HZ} Hz at ${report.whisperCallerDb} dB`);
  log(`the caller heard ann at ${report.callerToneDb} dB and the whisper's tone at ${report.whisperCallerDb} dB (${inWhisper.length} packets)`);
}

function spawnSyncText(cmd, a) {
  const r = spawnSync(cmd, a, { encoding: "utf8", maxBuffer: 256 << 20, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${a.join(" ")}: ${r.error?.message || r.stderr.slice(-300)}`);
  return r.stdout;
}

function cssEscape(s) {
  return String(s).replace(/["\\]/g, "\\$&");
}

run({
  main, procs, log, report: () => report, cleanup, work: WORK, keepEnv: "CONSOLE_SMOKE_KEEP", overallMs: OVERALL_MS,
  step: () => step,
  explain: async () => {
    for (const e of consoleErrors.slice(-10)) log(`browser console error: ${e}`);
    for (const e of httpErrors.slice(-10)) log(`HTTP error the browser saw: ${e}`);
  },
  done: () => {
    for (const e of consoleErrors) log(`browser console error: ${e}`);
    for (const e of httpErrors) log(`HTTP error the browser saw: ${e}`);
  },
});
