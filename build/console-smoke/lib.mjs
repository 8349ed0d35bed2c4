// lib.mjs: what smoke.mjs and load.mjs share: one-time codes (RFC 6238),
// free ports, child processes it can always end, Chromium's flags, signing
// in to the console and moving between its views, the caller's RTP as a
// pcap for sipp, and tone levels (Goertzel) in WAV files and in PCMU.

import { spawn, spawnSync } from "node:child_process";
import { createHmac } from "node:crypto";
import dgram from "node:dgram";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

// totp is the 6-digit code of a base32 secret (SHA-1, 30 s steps, RFC
// 6238) for the step holding time ms.
export function totp(secret, ms = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const key = [];
  for (const c of secret.replace(/=+$/, "").toUpperCase()) {
    const v = alphabet.indexOf(c);
    if (v < 0) throw new Error(`the TOTP secret holds ${JSON.stringify(c)}, not base32`);
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      key.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const h = createHmac("sha1", Buffer.from(key)).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  const n = (h.readUInt32BE(o) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

// freePort is a loopback port free over both UDP and TCP (a server's
// --sip takes both), or over UDP only.
export async function freePort({ udpOnly = false } = {}) {
  for (let i = 0; i < 50; i++) {
    const sock = dgram.createSocket("udp4");
    const port = await new Promise((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(0, "127.0.0.1", () => resolve(sock.address().port));
    });
    if (udpOnly) {
      sock.close();
      return port;
    }
    const ok = await new Promise((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
    });
    sock.close();
    if (ok) return port;
  }
  throw new Error("no loopback port free over UDP and TCP");
}

// Procs starts child processes, each in a process group of its own, with
// their output in files under dir, and ends every one of them in
// killAll (SIGTERM, then SIGKILL for those still there after 3 s).
export class Procs {
  constructor(dir) {
    this.dir = dir;
    this.list = [];
  }

  start(name, cmd, args, { stdin, cwd, env } = {}) {
    const outFile = path.join(this.dir, `${name}.out`);
    const errFile = path.join(this.dir, `${name}.err`);
    const child = spawn(cmd, args, {
      cwd,
      env: env ? { ...process.env, ...env } : process.env,
      detached: true,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const p = { name, child, out: "", err: "", exited: false, code: null, signal: null, outFile, errFile };
    const outStream = fs.createWriteStream(outFile);
    const errStream = fs.createWriteStream(errFile);
    // Only the last 64 KiB of each is kept in memory, for waits and errors.
    const keep = (s, b) => (s + b.toString()).slice(-65536);
    child.stdout.on("data", (b) => {
      p.out = keep(p.out, b);
      outStream.write(b);
    });
    child.stderr.on("data", (b) => {
      p.err = keep(p.err, b);
      errStream.write(b);
    });
    p.done = new Promise((resolve) => {
      child.on("close", (code, signal) => {
        p.exited = true;
        p.code = code;
        p.signal = signal;
        outStream.end();
        errStream.end();
        resolve();
      });
      child.on("error", (e) => {
        p.exited = true;
        p.err += `\n${e.message}`;
        resolve();
      });
    });
    child.stdin.on("error", () => {});
    if (stdin !== undefined) child.stdin.write(stdin);
    child.stdin.end();
    this.list.push(p);
    // For build/console-smoke.sh, which ends these process groups if this
    // script itself is killed before it could.
    fs.appendFileSync(path.join(this.dir, "pids"), `${child.pid}\n`);
    return p;
  }

  // tail is the end of a process's output, for an error message.
  static tail(p, n = 400) {
    return `${p.out}\n${p.err}`.trim().slice(-n);
  }

  async stop(p, signal = "SIGTERM") {
    if (p.exited) return;
    try {
      process.kill(-p.child.pid, signal);
    } catch {
      // gone already
    }
    const t = setTimeout(() => {
      try {
        process.kill(-p.child.pid, "SIGKILL");
      } catch {
        // gone already
      }
    }, 3000);
    await p.done;
    clearTimeout(t);
  }

  async killAll() {
    await Promise.all(this.list.map((p) => this.stop(p)));
  }
}

// sleep waits ms.
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waitFor polls fn (every 200 ms, or every) until it returns something
// truthy, which it returns; after timeoutMs it throws, naming what it
// waited for (and, with detail, what it saw last).
export async function waitFor(what, fn, timeoutMs, { every = 200, detail } = {}) {
  const end = Date.now() + timeoutMs;
  let lastErr;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > end) {
      let msg = `waited ${Math.round(timeoutMs / 1000)} s for ${what}`;
      if (detail) msg += `; ${await Promise.resolve(detail()).catch(() => "")}`;
      if (lastErr) msg += `; last error: ${lastErr.message}`;
      throw new Error(msg);
    }
    await sleep(every);
  }
}

// --- The console in Chromium ---

// chromiumFlags are the flags every run gives Debian's Chromium: headless,
// no GPU, nothing fetched behind the page's back, media allowed without a
// gesture and a fake camera and microphone (smoke.mjs adds the file the
// microphone plays).
export const chromiumFlags = [
  "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
  "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
];

// signIn signs user name (u: its password and TOTP secret) in to the
// console on page, through the page's form; log says when a code was
// refused and tried again.
export async function signIn(page, name, u, log = () => {}) {
  await page.goto("/");
  await page.waitForSelector("form#signin", { timeout: 20_000 });
  for (let attempt = 1; ; attempt++) {
    // A code with under 3 s left may expire on the way: the next one.
    const left = 30_000 - (Date.now() % 30_000);
    if (left < 3000) await sleep(left + 200);
    await page.fill("#signin-user", name);
    await page.fill("#signin-password", u.password);
    const otp = page.locator("#signin-otp");
    if (!(await otp.isVisible())) {
      // Asked for once the server says a code is needed.
      await page.locator("form#signin").evaluate((f) => f.requestSubmit());
      await waitFor("the sign-in form to ask for the one-time code (#signin-otp)", () => otp.isVisible(), 10_000);
    }
    await otp.fill(totp(u.secret));
    await page.locator("form#signin").evaluate((f) => f.requestSubmit());
    const r = await waitFor(
      `${name} signed in (a[data-nav=wallboard]) or #signin-error`,
      async () => {
        if (await page.locator('a[data-nav="wallboard"]').isVisible()) return "in";
        const e = (await page.locator("#signin-error").textContent().catch(() => ""))?.trim();
        return e ? `error: ${e}` : null;
      },
      15_000,
    );
    if (r === "in") return;
    // A code can be refused at a step's edge, or once used: one more try
    // with the next step's code.
    if (attempt >= 2) throw new Error(`${name} could not sign in: ${r}`);
    log(`${name}: sign-in refused (${r}); again with the next code`);
    await sleep(30_000 - (Date.now() % 30_000) + 500);
  }
}

// nav opens one of the console's views by its link, as a user would.
export async function nav(page, view) {
  await page.locator(`a[data-nav="${view}"]`).click();
  await page.waitForSelector(`[data-view="${view}"]`, { timeout: 10_000 });
}

// --- Audio ---

// muLawDecode is the 16-bit sample of a mu-law byte.
export function muLawDecode(u) {
  u = ~u & 0xff;
  const sign = u & 0x80;
  const exp = (u >> 4) & 7;
  const mant = u & 0x0f;
  const s = (((mant << 3) + 0x84) << exp) - 0x84;
  return sign ? -s : s;
}

// levelDb is the level of frequency f in samples (16-bit, at rate), in dB
// relative to a full-scale sine: Goertzel over the whole slice, windowed
// (Hann) so that a loud tone elsewhere does not leak into f.
export function levelDb(samples, f, rate = 8000) {
  const n = samples.length;
  if (n === 0) return -Infinity;
  const w = (2 * Math.PI * f) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const win = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const s0 = (samples[i] / 32768) * win + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const re = s1 - s2 * Math.cos(w);
  const im = s2 * Math.sin(w);
  // A sine of amplitude A gives |X| = A*n/4 under a Hann window.
  const amp = (4 * Math.hypot(re, im)) / n;
  return amp > 0 ? 20 * Math.log10(amp) : -Infinity;
}

// readWav is a 16-bit PCM WAV file's first channel and its rate.
export function readWav(file) {
  const b = fs.readFileSync(file);
  if (b.toString("latin1", 0, 4) !== "RIFF" || b.toString("latin1", 8, 12) !== "WAVE") {
    throw new Error(`${file} is not a WAV file`);
  }
  let rate = 0;
  let channels = 1;
  let bitsPerSample = 16;
  for (let o = 12; o + 8 <= b.length; ) {
    const id = b.toString("latin1", o, o + 4);
    let size = b.readUInt32LE(o + 4);
    if (id === "fmt ") {
      channels = b.readUInt16LE(o + 10);
      rate = b.readUInt32LE(o + 12);
      bitsPerSample = b.readUInt16LE(o + 22);
    } else if (id === "data") {
      if (bitsPerSample !== 16) throw new Error(`${file}: ${bitsPerSample}-bit samples, not 16`);
      // A recording still being written (or cut short) says more than it has.
      if (size === 0 || size === 0xffffffff || o + 8 + size > b.length) size = b.length - o - 8;
      const n = Math.floor(size / 2 / channels);
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = b.readInt16LE(o + 8 + i * 2 * channels);
      return { samples: out, rate };
    }
    o += 8 + size + (size & 1);
  }
  throw new Error(`${file} has no data chunk`);
}

// --- The caller (sipp) ---

// writeCall writes a sipp caller's files into dir with the paycaller tool
// (tools/paycaller, built into bin; its --write, on internal/testing/
// sipptest): caller.pcap, at least lengthS seconds of the caller's audio
// (a quiet 150 Hz hum, or a tone at toneHz and dbfs), with keys from atS
// on as RFC 4733 events, 100 ms down and 100 ms up; and caller.xml, which
// calls from 0123456789, plays caller.pcap once answered, waits waitS
// after it for the server's BYE and otherwise hangs up itself.
export function writeCall(bin, dir, { lengthS = 0, keys = "", atS = 0, waitS, toneHz = 0, dbfs = -12 }) {
  const args = ["--write", dir, "--type", keys, "--after", `${atS}s`, "--rfc4733", "--length", `${lengthS}s`, "--wait", `${waitS}s`];
  if (toneHz) args.push("--tone", String(toneHz), "--tone-dbfs", String(dbfs));
  const r = spawnSync(path.join(bin, "paycaller"), args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`paycaller --write failed: ${r.error?.message ?? ""}${r.stderr}`);
}

// panWindows are the 7-digit windows of a card number: what no text may
// hold.
export function panWindows(pan) {
  const w = new Set();
  for (let i = 0; i + 7 <= pan.length; i++) w.add(pan.slice(i, i + 7));
  return [...w];
}

// analyseInPage runs in a page (page.evaluate): a WebAudio analyser on
// the stream the page receives (stream "console": the console's
// window.hushphoneConsole.remoteStream; "agent": agent.mjs's
// window.__agent.remote), looking for the tone at f Hz for up to ms; the
// best look's tone bin, the loudest other bin and the median bin
// (100-3800 Hz, more than 100 Hz from f), in dB. Self-contained: it runs
// in the browser.
export async function analyseInPage({ f, ms, stream }) {
  const current = () => (stream === "agent" ? window.__agent?.remote : window.hushphoneConsole?.remoteStream);
  const s = current();
  if (!s) return { error: `no ${stream} stream` };
  const t0 = performance.now();
  const ctx = new AudioContext();
  await ctx.resume();
  // Chromium gives WebAudio a remote WebRTC stream's samples only while a
  // media element plays it too: a muted one of our own besides the page's.
  const el = new Audio();
  el.muted = true;
  el.srcObject = s;
  await el.play().catch(() => {});
  const src = ctx.createMediaStreamSource(s);
  const an = ctx.createAnalyser();
  an.fftSize = 8192;
  an.smoothingTimeConstant = 0;
  src.connect(an);
  const bins = new Float32Array(an.frequencyBinCount);
  const hz = ctx.sampleRate / an.fftSize;
  const k = Math.round(f / hz);
  let best = null;
  let looks = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    looks++;
    await new Promise((r) => setTimeout(r, 250));
    an.getFloatFrequencyData(bins);
    let tone = -Infinity;
    for (let i = k - 2; i <= k + 2; i++) tone = Math.max(tone, bins[i]);
    const rest = [];
    for (let i = Math.round(100 / hz); i < Math.round(3800 / hz); i++) if (Math.abs(i * hz - f) > 100) rest.push(bins[i]);
    rest.sort((a, b) => a - b);
    const look = { tone, median: rest[rest.length >> 1], restMax: rest[rest.length - 1], sampleRate: ctx.sampleRate, state: ctx.state };
    if (!best || look.tone - look.restMax > best.tone - best.restMax) best = look;
    if (look.tone > -60 && look.tone - look.restMax >= 15 && look.tone - look.median >= 30) {
      best = { ...look, found: true };
      break;
    }
  }
  src.disconnect();
  el.srcObject = null;
  await ctx.close();
  const tracks = s.getAudioTracks().map((t) => `${t.readyState}${t.muted ? " muted" : ""}`).join(",");
  return { ...best, looks, ms: Math.round(performance.now() - t0), tracks, same: s === current() };
}

// run runs a script's main to its one JSON line on stdout: report() and
// exit 0 once main resolves, or {"ok":false,"step","error"} and exit 1
// when it throws, a signal stops the run, a fault escapes anywhere
// (uncaught exceptions, unhandled rejections) or the run takes over
// overallMs. Either way cleanup() ends what the script started first;
// on a failure, what the processes said last goes to log (with
// explain(), the script's own account of where it stood), and keepEnv
// (the name of a variable set to keep the run's files) says where they
// are.
export function run({ main, procs, log, step, report, cleanup, overallMs, work, keepEnv, explain = async () => {}, done = () => {} }) {
  let finished = false;
  const fail = async (err) => {
    if (finished) return;
    finished = true;
    const msg = err instanceof Error ? err.message : String(err);
    log(`FAILED at ${step()}: ${msg}`);
    await explain().catch(() => {});
    for (const p of procs.list) {
      if (p.name === "server" || !p.exited || p.code !== 0) log(`${p.name} (${p.exited ? `exit ${p.code ?? p.signal}` : "running"}): ${Procs.tail(p, 600)}`);
    }
    if (process.env[keepEnv]) log(`every process's output is in ${work}`);
    await cleanup();
    process.stdout.write(`${JSON.stringify({ ok: false, step: step(), error: msg })}\n`);
    process.exit(1);
  };
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => fail(new Error(`stopped by ${sig}`)));
  process.on("uncaughtException", (e) => fail(e));
  process.on("unhandledRejection", (e) => fail(e));
  setTimeout(() => fail(new Error(`the whole run took over ${overallMs / 1000} s`)), overallMs).unref();
  main().then(
    async () => {
      if (finished) return;
      finished = true;
      await cleanup();
      done();
      process.stdout.write(`${JSON.stringify(report())}\n`);
      process.exit(0);
    },
    (e) => fail(e),
  );
}

// round rounds a figure to d decimals for a report (-Infinity, a tone
// not there at all, as -999; anything else not finite as null).
export function round(x, d = 1) {
  if (x === -Infinity) return -999;
  return Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null;
}

// roundAll is o with each number rounded.
export function roundAll(o) {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? round(v) : v]));
}

// addUser adds a user with `hushphone-server user add` (bin: the folder
// of the binaries, data: the data directory) and, for a supervisor or an
// admin, enrols the second factor; it resolves to the TOTP secret ("" for
// an agent).
export async function addUser(procs, bin, data, { name, role, password }) {
  const cli = async (label, args, stdin) => {
    const p = procs.start(label, path.join(bin, "hushphone-server"), [...args, "--data", data], { stdin });
    await p.done;
    if (p.code !== 0) throw new Error(`hushphone-server ${args.join(" ")} failed: ${Procs.tail(p)}`);
    return p.out;
  };
  await cli(`user-add-${name}`, ["user", "add", "--name", name, "--role", role, "--password-stdin"], `${password}\n`);
  if (role === "agent") return "";
  const out = await cli(`mfa-${name}`, ["user", "mfa", "enroll", "--name", name]);
  const m = out.match(/[?&]secret=([A-Z2-7]+)/);
  if (!m) throw new Error(`user mfa enroll printed no otpauth secret for ${name}`);
  return m[1];
}

// captureRTP starts tshark on loopback capturing the UDP that reaches
// ports port..port+9 (a sipp caller's media) into file, and resolves once
// it captures (it needs root).
export async function captureRTP(procs, port, file) {
  const tshark = procs.start("tshark", "tshark", ["-q", "-i", "lo", "-f", `udp and dst portrange ${port}-${port + 9}`, "-w", file]);
  await waitFor("tshark to start capturing on lo (it needs root)", () => {
    if (tshark.exited) throw new Error(`tshark exited: ${Procs.tail(tshark)}`);
    return /Capturing on/.test(tshark.err);
  }, 20_000);
  return tshark;
}

// startServer starts `hushphone-server serve` on loopback (HTTP on
// httpPort, SIP on sipPort, /metrics on a free port, data in data, extra
// flags after) and resolves to its process once /healthz answers.
export async function startServer(procs, bin, data, { httpPort, sipPort, extra = [] }) {
  const server = procs.start("server", path.join(bin, "hushphone-server"), [
    "serve", "--data", data, "--http", `127.0.0.1:${httpPort}`, "--metrics", "127.0.0.1:0", "--sip", `127.0.0.1:${sipPort}`, ...extra,
  ]);
  const base = `http://127.0.0.1:${httpPort}`;
  await waitFor(`the server to answer ${base}/healthz`, async () => {
    if (server.exited) throw new Error(`the server exited: ${Procs.tail(server)}`);
    return (await fetch(`${base}/healthz`)).ok;
  }, 20_000);
  return server;
}
