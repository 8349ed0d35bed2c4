// agent.mjs: a browser as an agent (issue 12, point 4: "so a browser agent
// works too"), what build/console-smoke.sh runs after smoke.mjs on the
// same build:
//
//   node agent.mjs --bin DIR --work DIR --mic AGENT.wav
//
// Real peers only: hushphone-server on loopback (a data directory of its
// own), sipp calling with a 300 Hz tone, tshark on loopback for what sipp
// receives, and Debian's Chromium (playwright-core, a fresh profile) whose
// fake microphone plays AGENT.wav (700 Hz). The page is the server's own
// origin (/); in it a small agent client in plain JavaScript does what
// docs/protocol.md says an agent does: signs in as carl with POST
// /api/v1/session, opens /api/v1/ws?token=, goes available, answers the
// call, offers sendrecv with the microphone, trickles its candidates as
// Chromium gives them (sdpMid, sdpMLineIndex) and then {"end":true}, and
// applies the server's answer and candidates (those that come before the
// answer held until it), end-of-candidates included (addIceCandidate()).
// Checked: the peer connection connects; a WebAudio analyser in the page
// finds the caller's 300 Hz; sipp receives carl's 700 Hz at the file's
// level (PCMU decoded from the capture); getStats() gives remote-inbound-rtp's round trip (the
// server's RTCP receiver reports); the server's log refuses no candidate.
// It prints one JSON line on stdout, {"ok":true,...} or
// {"ok":false,"step","error"}; its progress goes to stderr. Every process
// it starts is ended on the way out; the run is bounded
// (AGENT_SMOKE_TIMEOUT_MS, 90 s by default).

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
  round,
  roundAll,
  run,
  sleep,
  startServer,
  waitFor,
  writeCall,
} from "./lib.mjs";

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((a, v, i, all) => (v.startsWith("--") ? [...a, [v.slice(2), all[i + 1]]] : a), []),
);
for (const k of ["bin", "work", "mic"]) {
  if (!args[k]) {
    process.stderr.write(`usage: node agent.mjs --bin DIR --work DIR --mic AGENT.wav (missing --${k})\n`);
    process.exit(2);
  }
}
const BIN = path.resolve(args.bin);
const WORK = path.resolve(args.work);
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const OVERALL_MS = Number(process.env.AGENT_SMOKE_TIMEOUT_MS || 90_000);

const CALLER_HZ = 300; // what sipp plays (caller.pcap)
const AGENT_HZ = 700; // carl's fake microphone (AGENT.wav)
const AGENT_DB = -12; // AGENT.wav's level (build/console-smoke.sh makes it)
const CALL_S = 16; // the caller's audio, from the answer
const AGENT = { name: "carl", password: "smoke-agent-carl" };

fs.mkdirSync(WORK, { recursive: true });
const started = Date.now();
const log = (...a) => process.stderr.write(`console-smoke agent: [${((Date.now() - started) / 1000).toFixed(1)}s] ${a.join(" ")}\n`);
const procs = new Procs(WORK);
const report = { ok: true };
let step = "start";
let context = null;
let page = null;
const consoleErrors = [];

async function cleanup() {
  if (context) await context.close().catch(() => {});
  await procs.killAll();
}


// --- The agent client, in the page ---

// agentClient runs in the page (page.evaluate): an agent as
// docs/protocol.md describes it, in plain JavaScript, for one call. What
// it sees goes to window.__agent for the checks.
async function agentClient({ name, password }) {
  const A = {
    presence: "",
    call: "",
    states: [],
    iceStates: [],
    sent: 0,
    sentLocal: 0,
    sentEnd: false,
    received: 0,
    receivedLocal: 0,
    receivedWithoutMid: 0,
    receivedEnd: false,
    beforeAnswer: 0,
    answered: false,
    errors: [],
    ended: "",
    remote: null,
    trace: [],
  };
  window.__agent = A;
  const note = (s) => {
    if (A.trace.length < 200) A.trace.push(s);
  };
  const isLocal = (c) => / [0-9a-f-]+\.local /i.test(c);

  const r = await fetch("/api/v1/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name, password }),
  });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`sign-in: ${r.status} ${j.error || ""} ${j.code || ""}`);
  const ws = new WebSocket(`${location.origin.replace(/^http/, "ws")}/api/v1/ws?token=${encodeURIComponent(j.token)}`);
  A.ws = ws;
  const send = (m) => {
    note(`> ${m.type}${m.kind ? ` ${m.kind}` : ""}${m.end ? " end" : ""}`);
    ws.send(JSON.stringify(m));
  };

  let pc = null;
  let queued = [];
  const addCandidate = async (m) => {
    try {
      if (m.end) await pc.addIceCandidate();
      else await pc.addIceCandidate({ candidate: m.candidate, sdpMid: m.sdpMid, sdpMLineIndex: m.sdpMLineIndex });
    } catch (e) {
      A.errors.push(`addIceCandidate(${m.end ? "" : m.candidate}): ${e.message}`);
    }
  };

  const startMedia = async (call) => {
    // Without Chromium's noise suppression, echo cancelling and gain
    // control: they take some 20 dB off a steady tone (the caller heard
    // -31.5 dB with them, -12 dB without), and the level the caller hears
    // is checked against the file's.
    const audio = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
    const mic = await navigator.mediaDevices.getUserMedia({ audio, video: false });
    pc = new RTCPeerConnection();
    A.pc = pc;
    pc.onconnectionstatechange = () => A.states.push(pc.connectionState);
    pc.oniceconnectionstatechange = () => A.iceStates.push(pc.iceConnectionState);
    pc.onicecandidate = (e) => {
      if (!e.candidate) {
        A.sentEnd = true;
        send({ type: "candidate", call, end: true });
        return;
      }
      if (!e.candidate.candidate) return; // an m-line's end, which null follows
      A.sent++;
      if (isLocal(e.candidate.candidate)) A.sentLocal++;
      send({ type: "candidate", call, candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex });
    };
    pc.ontrack = (e) => {
      A.remote = e.streams[0] || new MediaStream([e.track]);
    };
    for (const t of mic.getAudioTracks()) pc.addTrack(t, mic);
    await pc.setLocalDescription(await pc.createOffer());
    send({ type: "sdp", call, kind: "offer", sdp: pc.localDescription.sdp });
  };

  const handle = async (m) => {
    note(`< ${m.type}${m.kind ? ` ${m.kind}` : ""}${m.end ? " end" : ""}${m.status ? ` ${m.status}` : ""}`);
    switch (m.type) {
      case "hello":
        send({ type: "presence", status: "available" });
        break;
      case "presence":
        if (m.user === name) A.presence = m.status;
        break;
      case "call.offered":
        if (!A.call) {
          A.call = m.call;
          send({ type: "answer", call: m.call });
        }
        break;
      case "call.started":
        if (m.call === A.call) await startMedia(m.call);
        break;
      case "sdp":
        if (m.call !== A.call || m.kind !== "answer" || !pc) break;
        await pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
        A.answered = true;
        for (const q of queued) await addCandidate(q);
        queued = [];
        break;
      case "candidate":
        if (m.call !== A.call) break;
        if (m.end) A.receivedEnd = true;
        else {
          A.received++;
          if (isLocal(m.candidate)) A.receivedLocal++;
          if (m.sdpMid == null && m.sdpMLineIndex == null) A.receivedWithoutMid++;
        }
        if (!pc || !pc.remoteDescription) {
          A.beforeAnswer++;
          queued.push(m);
        } else await addCandidate(m);
        break;
      case "call.ended":
        if (m.call === A.call) A.ended = m.reason || "ended";
        break;
      case "error":
        A.errors.push(`server: ${m.code}: ${m.error || m.message || JSON.stringify(m)}`);
        break;
    }
  };
  // One message at a time, in order: a candidate waits for the answer
  // before it is handled.
  let chain = Promise.resolve();
  ws.onmessage = (ev) => {
    let m;
    try {
      m = JSON.parse(ev.data);
    } catch {
      A.errors.push("a message that is not JSON");
      return;
    }
    chain = chain.then(() => handle(m)).catch((e) => A.errors.push(`${m.type}: ${e.message}`));
  };
  ws.onclose = (e) => note(`closed ${e.code}`);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("the WebSocket failed to open"));
  });
}

// pageState is window.__agent without the objects.
function pageState() {
  return page.evaluate(() => {
    const { ws, pc, remote, ...rest } = window.__agent || {};
    return { ...rest, pcState: pc?.connectionState, remote: !!remote };
  });
}

// stats runs in the page: the round trip from remote-inbound-rtp, the
// codecs, and the selected pair's candidate types.
async function stats() {
  const pc = window.__agent?.pc;
  if (!pc) return null;
  const all = new Map();
  (await pc.getStats()).forEach((s) => all.set(s.id, s));
  const out = {};
  for (const s of all.values()) {
    if (s.type === "remote-inbound-rtp" && s.kind === "audio" && typeof s.roundTripTime === "number") {
      out.rttMs = s.roundTripTime * 1000;
      out.rttMeasurements = s.roundTripTimeMeasurements;
    }
    if (s.type === "inbound-rtp" && s.kind === "audio") {
      out.packetsReceived = s.packetsReceived;
      out.codecIn = all.get(s.codecId)?.mimeType;
    }
    if (s.type === "outbound-rtp" && s.kind === "audio") {
      out.packetsSent = s.packetsSent;
      out.codecOut = all.get(s.codecId)?.mimeType;
    }
    if (s.type === "transport" && s.selectedCandidatePairId) {
      const p = all.get(s.selectedCandidatePairId);
      out.localCandidate = all.get(p?.localCandidateId)?.candidateType;
      out.remoteCandidate = all.get(p?.remoteCandidateId)?.candidateType;
    }
  }
  return out;
}

// --- The steps ---

async function main() {
  step = "server";
  const httpPort = await freePort();
  const sipPort = await freePort();
  const base = `http://127.0.0.1:${httpPort}`;
  const data = path.join(WORK, "data");
  await addUser(procs, BIN, data, { name: AGENT.name, role: "agent", password: AGENT.password });
  const server = await startServer(procs, BIN, data, { httpPort, sipPort });
  log(`server on ${base}, SIP 127.0.0.1:${sipPort}`);

  step = "browser";
  const profile = path.join(WORK, "profile");
  fs.rmSync(profile, { recursive: true, force: true });
  // A persistent context: the profile (--user-data-dir) is a fresh folder
  // of this run's.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    timeout: 30_000,
    baseURL: base,
    args: [...chromiumFlags, `--use-file-for-fake-audio-capture=${path.resolve(args.mic)}`],
  });
  await context.grantPermissions(["microphone"], { origin: base });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text().slice(0, 200));
  });
  page.on("pageerror", (e) => consoleErrors.push(`page error: ${String(e).slice(0, 200)}`));
  report.browser = context.browser()?.version() || (await page.evaluate(() => navigator.userAgent)).match(/Chrome\/([0-9.]+)/)?.[1];

  step = "agent carl available";
  await page.goto("/");
  await page.evaluate(agentClient, AGENT);
  await waitFor("carl to be available (presence from the server)", async () => (await pageState()).presence === "available", 10_000, {
    detail: async () => JSON.stringify(await pageState()),
  });
  log("carl is available, in the page");

  step = "call";
  const sippSip = await freePort();
  const sippMedia = await freePort({ udpOnly: true });
  const capFile = path.join(WORK, "caller-rtp.pcapng");
  const tshark = await captureRTP(procs, sippMedia, capFile);
  const dir = path.join(WORK, "sipp");
  fs.mkdirSync(dir, { recursive: true });
  // sipp hangs up itself 2 s after its audio ends.
  writeCall(BIN, dir, { lengthS: CALL_S, waitS: 2, toneHz: CALLER_HZ, dbfs: -12 });
  const sipp = procs.start("sipp", "sipp", [
    "-sf", "caller.xml", "-s", "hushphone", "-m", "1", "-i", "127.0.0.1", "-p", String(sippSip), "-mp", String(sippMedia),
    "-timeout", `${CALL_S + 40}s`, "-nostdin", `127.0.0.1:${sipPort}`,
  ], { cwd: dir });

  step = "connected";
  await waitFor("the page's peer connection to be connected", async () => {
    if (sipp.exited) throw new Error(`sipp exited (${sipp.code}): ${Procs.tail(sipp)}`);
    const a = await pageState();
    if (a.states.includes("failed")) throw new Error(`the peer connection failed (states: ${a.states.join(", ")})`);
    return a.pcState === "connected";
  }, 20_000, { detail: async () => JSON.stringify(await pageState()) });
  const connectedAt = Date.now();
  log(`the page's peer connection is connected (call ${(await pageState()).call})`);

  step = "the caller's tone in the page";
  let tone;
  for (let i = 0; i < 3; i++) {
    tone = await page.evaluate(analyseInPage, { f: CALLER_HZ, ms: 3000, stream: "agent" });
    if (tone?.found) break;
    log(`the analyser's look ${i + 1} found no ${CALLER_HZ} Hz: ${JSON.stringify(roundAll(tone || {}))}`);
  }
  report.callerToneInPageDb = round(tone.tone);
  report.callerToneOverRestDb = round(tone.tone - tone.restMax);
  report.callerToneOverMedianDb = round(tone.tone - tone.median);
  if (!tone.found) throw new Error(`the page's analyser did not find the caller's ${CALLER_HZ} Hz: ${JSON.stringify(roundAll(tone))}`);
  log(`the page hears the caller's ${CALLER_HZ} Hz at ${report.callerToneInPageDb} dB (${report.callerToneOverRestDb} dB over the loudest other bin)`);

  step = "round trip";
  const st = await waitFor("remote-inbound-rtp with a roundTripTime in the page's getStats()", async () => {
    const s = await page.evaluate(stats);
    return s && typeof s.rttMs === "number" ? s : null;
  }, 15_000, { every: 500, detail: async () => JSON.stringify(await page.evaluate(stats)) });
  report.rttMs = round(st.rttMs);
  report.rttMeasurements = st.rttMeasurements;
  report.codecIn = st.codecIn;
  report.codecOut = st.codecOut;
  report.selectedPair = `${st.localCandidate}/${st.remoteCandidate}`;
  log(`the page's round trip: ${report.rttMs} ms (${st.rttMeasurements} measurements); codecs ${st.codecIn} in, ${st.codecOut} out`);

  step = "call ends";
  await waitFor("sipp to end the call", () => sipp.exited, (CALL_S + 25) * 1000, { every: 500 });
  if (sipp.code !== 0) throw new Error(`sipp exited ${sipp.code}: ${Procs.tail(sipp)}`);
  const endedAt = Date.now();
  await waitFor("call.ended in the page", async () => (await pageState()).ended, 10_000);
  await sleep(500);
  await procs.stop(tshark, "SIGINT");

  step = "candidates";
  const a = await pageState();
  report.candidates = {
    sent: a.sent,
    sentLocal: a.sentLocal,
    sentEnd: a.sentEnd,
    received: a.received,
    receivedLocal: a.receivedLocal,
    receivedEnd: a.receivedEnd,
    beforeAnswer: a.beforeAnswer,
  };
  report.states = a.states;
  log(`candidates: ${JSON.stringify(report.candidates)}; states ${a.states.join(" ")}`);
  if (a.errors.length > 0) throw new Error(`the page's agent had errors: ${a.errors.slice(0, 5).join("; ")}`);
  if (a.sent < 1 || !a.sentEnd) throw new Error(`the page sent ${a.sent} candidates${a.sentEnd ? "" : " and no end-of-candidates"}`);
  if (a.received < 1 || !a.receivedEnd) throw new Error(`the page received ${a.received} candidates${a.receivedEnd ? "" : " and no end-of-candidates"}`);
  if (a.receivedWithoutMid > 0) throw new Error(`${a.receivedWithoutMid} of the server's candidates came without sdpMid and sdpMLineIndex`);
  const serverLog = fs.readFileSync(server.errFile, "latin1") + fs.readFileSync(server.outFile, "latin1");
  // What says a candidate was refused or dropped: the hub's refusal, the
  // leg's early candidates, pion's remote candidates and mDNS names.
  // (pion's "Failed to ping without candidate pairs" before the page's
  // first candidate is no refusal: ICE checks start with the offer.)
  const lines = serverLog.split("\n");
  const refused = lines.filter((l) => /media refused|dropping an early ICE candidate|remote candidate|mDNS candidate|Failed to parse address/i.test(l));
  report.serverCandidateWarnings = refused.length;
  report.serverWarnings = lines.filter((l) => /level=(WARN|ERROR)/.test(l)).length;
  if (refused.length > 0) throw new Error(`the server's log has ${refused.length} warnings about candidates: ${refused.slice(0, 3).map((l) => l.slice(0, 300)).join(" | ")}`);

  step = "carl's tone at the caller";
  callerHears(capFile, sippMedia, connectedAt + 1000, endedAt - 2500);
  report.seconds = Math.round((Date.now() - started) / 1000);
}

// callerHears checks the RTP that reached sipp between from and to (ms):
// PCMU with carl's 700 Hz in it at AGENT.wav's level (within 4 dB: Opus
// from the browser, PCMU to the caller), in every second.
function callerHears(capFile, mediaPort, from, to) {
  const a = ["-r", capFile];
  for (let p = mediaPort; p < mediaPort + 10; p++) a.push("-d", `udp.port==${p},rtp`);
  a.push("-Y", "rtp", "-T", "fields", "-e", "frame.time_epoch", "-e", "udp.dstport", "-e", "rtp.p_type", "-e", "rtp.payload");
  const r = spawnSync("tshark", a, { encoding: "utf8", maxBuffer: 256 << 20, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`tshark -r: ${r.error?.message || r.stderr.slice(-300)}`);
  const byPort = {};
  for (const l of r.stdout.split("\n")) {
    const [t, port, pt, payload] = l.split("\t");
    if (pt !== "0" || !payload) continue;
    (byPort[port] ||= []).push([Number(t) * 1000, Buffer.from(payload.replace(/:/g, ""), "hex")]);
  }
  const pkts = Object.values(byPort).sort((x, y) => y.length - x.length)[0] || [];
  const inCall = pkts.filter(([t]) => t >= from && t <= to);
  if (inCall.length < 200) throw new Error(`tshark saw ${inCall.length} PCMU packets to sipp's media port while carl was connected (${pkts.length} in all)`);
  const pcm = [];
  for (const [, b] of inCall) for (const u of b) pcm.push(muLawDecode(u));
  const perS = [];
  for (let i = 0; i + 8000 <= pcm.length; i += 8000) perS.push(levelDb(pcm.slice(i, i + 8000), AGENT_HZ));
  report.agentToneAtCallerDb = round(levelDb(pcm, AGENT_HZ));
  report.otherToneAtCallerDb = round(levelDb(pcm, 1000)); // a reference: nothing plays 1000 Hz
  report.agentToneSecondsHeard = perS.filter((l) => Math.abs(l - AGENT_DB) <= 6).length;
  report.agentToneSeconds = perS.length;
  report.callerPackets = inCall.length;
  if (!(Math.abs(report.agentToneAtCallerDb - AGENT_DB) <= 4) || report.agentToneAtCallerDb - report.otherToneAtCallerDb < 40) {
    throw new Error(`the caller did not hear carl's ${AGENT_HZ} Hz at its level: ${report.agentToneAtCallerDb} dB, want ${AGENT_DB} ± 4 (1000 Hz: ${report.otherToneAtCallerDb} dB; per second: ${perS.map(round).join(" ")})`);
  }
  if (report.agentToneSecondsHeard < perS.length - 1) {
    throw new Error(`the caller heard carl's ${AGENT_HZ} Hz in only ${report.agentToneSecondsHeard} of ${perS.length} seconds (${perS.map(round).join(" ")})`);
  }
  log(`the caller hears carl's ${AGENT_HZ} Hz at ${report.agentToneAtCallerDb} dB (1000 Hz: ${report.otherToneAtCallerDb} dB), in ${report.agentToneSecondsHeard} of ${perS.length} s, ${inCall.length} packets`);
}



run({
  main, procs, log, report: () => report, cleanup, work: WORK, keepEnv: "CONSOLE_SMOKE_KEEP", overallMs: OVERALL_MS,
  step: () => step,
  explain: async () => {
    for (const e of consoleErrors.slice(-10)) log(`browser console error: ${e}`);
    const a = page ? await pageState().catch(() => null) : null;
    if (a) log(`the page's agent: ${JSON.stringify(a)}`);
  },
  done: () => {
    for (const e of consoleErrors) log(`browser console error: ${e}`);
  },
});
