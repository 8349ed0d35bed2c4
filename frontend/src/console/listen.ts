// listen.ts: listening in, whispering and barging from the page
// (docs/protocol.md, Listening in). One call at a time: a WebRTC leg of
// its own to the server. The microphone is asked for before the offer, so
// the offer is sendrecv and the mode can change later without a new one
// (the track is disabled while only listening: the server discards it
// anyway); without a microphone the offer is recvonly and only listening
// is possible.

import { isMode, type Mode, type Msg } from "./state";

declare global {
  interface Window {
    /** What tests read: the audio received while listening, and the mode. */
    hushphoneConsole?: { remoteStream: MediaStream | null; mode: string; rttMs: number | null };
  }
}

export interface ListenerEvents {
  /** something changed: the call, the mode, the state. */
  changed(): void;
  /** an error to show, in words. */
  error(text: string): void;
  /** news that is no error (the call listened to ended), in words. */
  notice(text: string): void;
}

export type ListenState = "idle" | "asking" | "connecting" | "connected" | "failed";

let seq = 0;
const nextID = () => `l${++seq}`;

export class Listener {
  call = "";
  mode: Mode | "" = "";
  state: ListenState = "idle";
  /** micState: unknown until asked; "none" when refused or absent. */
  micState: "unknown" | "ok" | "none" = "unknown";
  private mic: MediaStream | null = null;
  private pc: RTCPeerConnection | null = null;
  private pending: RTCIceCandidateInit[] = [];
  private endSeen = false;
  private asked = new Map<string, { call: string; mode: Mode }>();
  private readonly audio: HTMLAudioElement;
  /** rttMs: the round trip to the server, from the server's RTCP
   * receiver reports on what this page sends (null until one came). */
  rttMs: number | null = null;
  private rttTimer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly send: (m: Msg) => boolean, private readonly ev: ListenerEvents) {
    this.audio = document.createElement("audio");
    this.audio.autoplay = true;
    this.audio.setAttribute("aria-label", "Audio of the call you listen to");
    this.audio.dataset.listen = "";
    document.body.append(this.audio);
    window.hushphoneConsole = { remoteStream: null, mode: "", rttMs: null };
  }

  /** canSpeak: whisper and barge need a microphone. */
  canSpeak(): boolean {
    return this.micState !== "none";
  }

  /** start listens to call in mode, or changes the mode on the call listened to. */
  async start(call: string, mode: Mode): Promise<void> {
    if (mode !== "listen" && this.micState === "none") {
      this.ev.error("No microphone: whisper and barge need one (allow the microphone for this page).");
      return;
    }
    if (this.call && this.call !== call) this.stop();
    if (!this.mic && this.micState === "unknown") {
      this.state = "asking";
      this.call = call;
      this.ev.changed();
      await this.getMic();
      if (this.call !== call) return; // stopped meanwhile
      if (mode !== "listen" && !this.canSpeak()) {
        this.ev.error("No microphone: you listen only (allow the microphone for this page to whisper or barge).");
        mode = "listen";
      }
    }
    const id = nextID();
    this.asked.set(id, { call, mode });
    this.call = call;
    if (!this.pc) this.state = "connecting";
    if (!this.send({ type: "listen", call, mode, id })) {
      this.asked.delete(id);
      this.ev.error("Not connected to the server: wait for the connection to come back.");
      this.reset();
    }
    this.ev.changed();
  }

  /** stop stops listening to the call. */
  stop(): void {
    if (!this.call) return;
    this.send({ type: "unlisten", call: this.call, id: nextID() });
    this.reset();
  }

  /** disconnected: the WebSocket closed, which ends every listening. */
  disconnected(): void {
    this.reset();
  }

  private async getMic(): Promise<void> {
    if (!navigator.mediaDevices?.getUserMedia) {
      this.micState = "none";
      return;
    }
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: true }, video: false });
      this.micState = "ok";
    } catch {
      this.micState = "none";
    }
  }

  private reset(): void {
    this.pc?.close();
    this.pc = null;
    if (this.rttTimer) clearInterval(this.rttTimer);
    this.rttTimer = null;
    this.setRTT(null);
    this.pending = [];
    this.endSeen = false;
    this.call = "";
    this.mode = "";
    this.state = "idle";
    this.audio.srcObject = null;
    this.setMicEnabled(false);
    if (window.hushphoneConsole) {
      window.hushphoneConsole.remoteStream = null;
      window.hushphoneConsole.mode = "";
    }
    this.ev.changed();
  }

  private setMicEnabled(on: boolean): void {
    for (const t of this.mic?.getAudioTracks() ?? []) t.enabled = on;
  }

  private setMode(m: Mode): void {
    this.mode = m;
    this.setMicEnabled(m !== "listen");
    if (window.hushphoneConsole) window.hushphoneConsole.mode = m;
  }

  /** handle takes the messages about listening; it returns whether it used m. */
  handle(m: Msg): boolean {
    switch (m.type) {
      case "listen.started": {
        const asked = m.id ? this.asked.get(m.id) : undefined;
        if (m.id) this.asked.delete(m.id);
        if (!m.call || m.call !== this.call) return true;
        const mode = isMode(m.mode) ? m.mode : asked?.mode ?? "listen";
        this.setMode(mode);
        if (!this.pc) void this.offer(m.call);
        this.ev.changed();
        return true;
      }
      case "listen.ended":
        if (m.id) this.asked.delete(m.id);
        if (m.call && m.call === this.call) {
          if (m.reason === "call_ended") this.ev.notice("The call you listened to ended.");
          this.reset();
        }
        return true;
      case "sdp":
        if (m.call === this.call && m.kind === "answer" && m.sdp && this.pc) void this.answer(m.sdp);
        return m.call === this.call;
      case "candidate":
        if (m.call === this.call && this.pc) void this.candidate(m);
        return m.call === this.call;
      case "error": {
        const asked = m.id ? this.asked.get(m.id) : undefined;
        if (!asked) return false;
        this.asked.delete(m.id as string);
        this.ev.error(m.message || "The server refused to let you listen.");
        // A refused mode change leaves the leg as it was; a refused
        // first listen leaves nothing.
        if (!this.pc && asked.call === this.call) this.reset();
        else this.ev.changed();
        return true;
      }
    }
    return false;
  }

  // readRTT reads the round trip the server's RTCP gives (remote-inbound-rtp:
  // its receiver reports on this page's audio, sent even while only
  // listening: the track is disabled, and sends silence).
  private async readRTT(pc: RTCPeerConnection): Promise<void> {
    try {
      const stats = await pc.getStats();
      let rtt: number | null = null;
      stats.forEach((s: { type: string; roundTripTime?: number }) => {
        if (s.type === "remote-inbound-rtp" && typeof s.roundTripTime === "number") rtt = s.roundTripTime * 1000;
      });
      if (this.pc === pc) this.setRTT(rtt);
    } catch {
      // a closed connection: reset clears it
    }
  }

  private setRTT(ms: number | null): void {
    const v = ms === null ? null : Math.round(ms * 10) / 10; // loopback is under a millisecond
    if (window.hushphoneConsole) window.hushphoneConsole.rttMs = v;
    if (v === this.rttMs) return;
    this.rttMs = v;
    this.ev.changed();
  }

  private async offer(call: string): Promise<void> {
    const pc = new RTCPeerConnection({ iceServers: [] });
    this.pc = pc;
    const track = this.mic?.getAudioTracks()[0];
    if (track) {
      track.enabled = this.mode !== "listen" && this.mode !== "";
      pc.addTransceiver(track, { direction: "sendrecv", streams: this.mic ? [this.mic] : [] });
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
    }
    pc.ontrack = (e) => {
      if (this.pc !== pc) return;
      const stream = e.streams[0] ?? new MediaStream([e.track]);
      this.audio.srcObject = stream;
      void this.audio.play().catch(() => {});
      if (window.hushphoneConsole) window.hushphoneConsole.remoteStream = stream;
      this.ev.changed();
    };
    pc.onicecandidate = (e) => {
      if (this.pc !== pc) return;
      if (e.candidate) {
        const c = e.candidate.toJSON();
        this.send({ type: "candidate", call, candidate: c.candidate ?? "", sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined });
      } else {
        this.send({ type: "candidate", call, end: true });
      }
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      const s = pc.connectionState;
      if (s === "connected") {
        this.state = "connected";
        if (!this.rttTimer) this.rttTimer = setInterval(() => void this.readRTT(pc), 2000);
      } else if (s === "failed") {
        this.state = "failed";
        this.ev.error("The audio connection to the server failed: stop and listen again.");
      } else if (s === "connecting" || s === "new") this.state = "connecting";
      this.ev.changed();
    };
    try {
      const o = await pc.createOffer();
      await pc.setLocalDescription(o);
      if (this.pc !== pc) return;
      this.send({ type: "sdp", call, kind: "offer", sdp: pc.localDescription?.sdp ?? o.sdp ?? "" });
    } catch {
      this.ev.error("This browser could not set up the audio.");
      this.stop();
    }
  }

  private async answer(sdp: string): Promise<void> {
    const pc = this.pc;
    if (!pc) return;
    try {
      await pc.setRemoteDescription({ type: "answer", sdp });
      // The server's candidates may come before its answer: added now.
      for (const c of this.pending.splice(0)) await pc.addIceCandidate(c).catch(() => {});
      if (this.endSeen) await pc.addIceCandidate().catch(() => {});
    } catch {
      this.ev.error("The server's audio answer could not be used.");
      this.stop();
    }
  }

  private async candidate(m: Msg): Promise<void> {
    const pc = this.pc;
    if (!pc) return;
    if (m.end) {
      if (pc.remoteDescription) await pc.addIceCandidate().catch(() => {});
      else this.endSeen = true;
      return;
    }
    if (!m.candidate) return;
    const c: RTCIceCandidateInit = { candidate: m.candidate, sdpMid: m.sdpMid ?? "0", sdpMLineIndex: m.sdpMLineIndex ?? 0 };
    if (!pc.remoteDescription) {
      if (this.pending.length < 64) this.pending.push(c);
      return;
    }
    await pc.addIceCandidate(c).catch(() => {});
  }
}
