package agentleg

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/internal/opus"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
)

const (
	clockRate  = 8000
	frameBytes = mix.FrameSamples // 20 ms of PCMU, one byte a sample
	// maxFill bounds the silence put in for lost agent packets: longer
	// gaps restart the time line instead.
	maxFill = clockRate // 1 s
	// maxPending bounds candidates held until the remote description.
	maxPending  = 64
	pcmuSilence = 0xFF
)

// State is the leg's connection state, as OnState reports it.
type State int

// The states, in the order a healthy leg goes through them.
const (
	StateNew State = iota
	StateConnecting
	StateConnected
	StateDisconnected // ICE lost the agent; it may come back
	StateFailed       // ICE or DTLS gave up; close the leg
	StateClosed
)

func (s State) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateDisconnected:
		return "disconnected"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

func stateOf(s webrtc.PeerConnectionState) State {
	switch s {
	case webrtc.PeerConnectionStateConnecting:
		return StateConnecting
	case webrtc.PeerConnectionStateConnected:
		return StateConnected
	case webrtc.PeerConnectionStateDisconnected:
		return StateDisconnected
	case webrtc.PeerConnectionStateFailed:
		return StateFailed
	case webrtc.PeerConnectionStateClosed:
		return StateClosed
	default:
		return StateNew
	}
}

// LegParams are a leg's callbacks. Each is called from the leg's own
// goroutines, never two of the same kind at once; none may block for long
// or call Close (Close waits for them).
type LegParams struct {
	// OnAgentAudio receives the peer's voice (the agent's, or a
	// supervisor's who whispers or barges) as 160-byte PCMU frames in
	// order; lost packets (up to 1 s) come as PCMU silence. The slice is
	// reused: copy what you keep. Nil discards the audio.
	OnAgentAudio func(frame []byte)
	// OnCandidate trickles each local ICE candidate to the agent, with its
	// media section (SDPMid, SDPMLineIndex), then an empty one once
	// gathering is over (end-of-candidates). Nil turns trickle off: Offer
	// and Answer then wait for gathering to finish and return a
	// description holding every candidate.
	OnCandidate func(webrtc.ICECandidateInit)
	// OnState reports connection state changes (the latest state, each
	// once). Nil ignores them.
	OnState func(State)
}

// Stats are the leg's counters.
type Stats struct {
	PacketsSent     uint64 // frames handed to pion for the agent (before the leg connects it drops them)
	PacketsReceived uint64 // the agent's RTP packets used
	PacketsLost     uint64 // sequence gaps in the agent's packets (played as silence)
	PacketsLate     uint64 // the agent's packets dropped as late (also counted lost when the gap was seen)
	FramesReceived  uint64 // 160-byte frames given to OnAgentAudio
	// Jitter is the interarrival jitter of the agent's packets (RFC 3550).
	Jitter time.Duration
	// RemoteLost and RemoteJitter are from the agent's latest RTCP receiver
	// report about what we send; RemoteReports counts those reports.
	RemoteLost    uint32
	RemoteJitter  time.Duration
	RemoteReports uint64
}

// Leg is one agent's peer connection. Its methods are safe for concurrent
// use; WriteFrame is meant to be called from one goroutine.
type Leg struct {
	log    *slog.Logger
	pc     *webrtc.PeerConnection
	track  *sendTrack
	sender *webrtc.RTPSender
	params LegParams

	mu      sync.Mutex // closed and wg.Add
	closed  atomic.Bool
	opusOut atomic.Bool // the sent track is Opus (RTCP jitter is in 48 kHz ticks)
	reading atomic.Bool // a track's audio goes to OnAgentAudio
	sends   atomic.Bool // the peer's description has it send audio (sendrecv or sendonly)
	done    chan struct{}
	wg      sync.WaitGroup

	sigMu     sync.Mutex // signalling: one exchange at a time
	remoteSet bool
	pending   []webrtc.ICECandidateInit
	trickled  int // candidates taken, pending or added (MaxCandidates at most)

	stateMu   sync.Mutex
	lastState State

	wmu sync.Mutex // the sending side below, and sendTrack's binding
	hdr rtp.Header
	// The codec pion bound the sent track to: nil stream until then.
	stream   webrtc.TrackLocalWriter
	sendOpus bool
	enc      *opus.Encoder
	pcm      [frameBytes]int16
	opusBuf  [opus.MaxPacket]byte

	sent, received, lost, late, frames, reports atomic.Uint64
	jitterNs, remoteJitterNs                    atomic.Int64
	remoteLost                                  atomic.Uint32
}

// NewLeg makes a leg with one sendrecv audio transceiver (PCMU or Opus,
// whichever the exchange puts first). It starts the
// goroutine that reads RTCP for the sent audio; Close stops it.
func (a *API) NewLeg(ctx context.Context, p LegParams) (*Leg, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("agentleg: new leg: %w", err)
	}
	pc, err := a.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("%w: new peer connection: %w", ErrWebRTC, err)
	}
	l := &Leg{log: a.log, pc: pc, params: p, done: make(chan struct{})}
	fail := func(what string, err error) (*Leg, error) {
		_ = pc.GracefulClose()
		return nil, fmt.Errorf("%w: %s: %w", ErrWebRTC, what, err)
	}
	l.track = &sendTrack{l: l}
	tr, err := pc.AddTransceiverFromTrack(l.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return fail("audio transceiver", err)
	}
	l.sender = tr.Sender()

	var seed [6]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return fail("random RTP start", err)
	}
	l.hdr.Version = 2
	l.hdr.PayloadType = uint8(pcmu.PayloadType)
	l.hdr.SequenceNumber = binary.BigEndian.Uint16(seed[:2])
	l.hdr.Timestamp = binary.BigEndian.Uint32(seed[2:])
	l.hdr.Marker = true

	if p.OnCandidate != nil {
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if !l.enter() {
				return
			}
			defer l.wg.Done()
			if c == nil {
				p.OnCandidate(webrtc.ICECandidateInit{}) // gathering is over: end-of-candidates
				return
			}
			p.OnCandidate(c.ToJSON())
		})
	}
	pc.OnConnectionStateChange(func(webrtc.PeerConnectionState) {
		if !l.enter() {
			return
		}
		defer l.wg.Done()
		l.report(stateOf(pc.ConnectionState()))
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		if !l.enter() {
			return
		}
		defer l.wg.Done()
		if l.enter() {
			go l.readReceiverRTCP(r)
		}
		l.readTrack(t)
	})

	l.wg.Add(1)
	go l.readRTCP()
	return l, nil
}

// enter registers a callback goroutine with wg unless the leg is closed.
func (l *Leg) enter() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() {
		return false
	}
	l.wg.Add(1)
	return true
}

// report gives OnState the state s if it is new.
func (l *Leg) report(s State) {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	if s == l.lastState {
		return
	}
	l.lastState = s
	l.log.Info("agent leg state", "state", s.String())
	if l.params.OnState != nil {
		l.params.OnState(s)
	}
}

// Offer makes the server's offer. With trickle it returns at once; without
// (no OnCandidate) it waits for gathering or ctx.
func (l *Leg) Offer(ctx context.Context) (string, error) {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	if l.closed.Load() {
		return "", ErrClosed
	}
	offer, err := l.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: creating the offer (only one offer/answer exchange per leg): %w", ErrSDP, err)
	}
	return l.setLocal(ctx, offer)
}

// Answer answers the agent's offer, which must carry PCMU or Opus audio;
// of the two, the one the offer lists first is used both ways.
func (l *Leg) Answer(ctx context.Context, offer string) (string, error) {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	if l.closed.Load() {
		return "", ErrClosed
	}
	if err := l.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	answer, err := l.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: creating the answer: %w", ErrSDP, err)
	}
	return l.setLocal(ctx, answer)
}

// SetAnswer applies the agent's answer to the server's offer.
func (l *Leg) SetAnswer(answer string) error {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	return l.setRemote(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
}

func (l *Leg) setLocal(ctx context.Context, d webrtc.SessionDescription) (string, error) {
	var gathered <-chan struct{}
	if l.params.OnCandidate == nil {
		gathered = webrtc.GatheringCompletePromise(l.pc)
	}
	if err := l.pc.SetLocalDescription(d); err != nil {
		return "", fmt.Errorf("%w: setting the local %s: %w", ErrSDP, d.Type, err)
	}
	if gathered == nil {
		return d.SDP, nil
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("%w: waiting for ICE gathering: %w", ErrWebRTC, ctx.Err())
	case <-l.done:
		return "", ErrClosed
	}
	return l.pc.LocalDescription().SDP, nil
}

// setRemote checks that d has PCMU or Opus audio, applies it and adds the
// candidates that came before it. sigMu is held.
func (l *Leg) setRemote(d webrtc.SessionDescription) error {
	sends, err := checkAudio(d.SDP)
	if err != nil {
		return fmt.Errorf("%w: the agent's %s: %w", ErrSDP, d.Type, err)
	}
	if err := l.pc.SetRemoteDescription(d); err != nil {
		return fmt.Errorf("%w: the agent's %s: %w", ErrSDP, d.Type, err)
	}
	l.sends.Store(sends)
	l.remoteSet = true
	pending := l.pending
	l.pending = nil
	for _, c := range pending {
		if err := l.pc.AddICECandidate(c); err != nil {
			l.log.Warn("agent leg: dropping an early ICE candidate", "err", err)
		}
	}
	return nil
}

// CheckCandidate reports whether an ICE candidate line parses ("" is the
// end of candidates, which is fine); its error wraps ErrCandidate.
func CheckCandidate(candidate string) error {
	if candidate == "" {
		return nil
	}
	if _, err := ice.UnmarshalCandidate(strings.TrimPrefix(candidate, "candidate:")); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrCandidate, candidate, err)
	}
	return nil
}

// WriteFrame sends 20 ms of masked caller audio (160 PCMU bytes) to the
// agent as one RTP packet: as it is on a PCMU leg, transcoded to Opus on an
// Opus one. Before the leg connects, frames are dropped.
func (l *Leg) WriteFrame(frame []byte) error {
	if len(frame) != frameBytes {
		return fmt.Errorf("%w: got %d bytes", ErrFrame, len(frame))
	}
	if l.closed.Load() {
		return ErrClosed
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	var err error
	ticks := uint32(frameBytes)
	if l.stream != nil {
		payload := frame
		if l.sendOpus {
			ticks = opus.RTPFrameTicks
			g711.DecodeULawTo(l.pcm[:], frame)
			var n int
			if n, err = l.enc.Encode(l.opusBuf[:], l.pcm[:]); err == nil {
				payload = l.opusBuf[:n]
			}
		}
		if err == nil {
			_, err = l.stream.WriteRTP(&l.hdr, payload)
		}
	} else if l.sendOpus {
		ticks = opus.RTPFrameTicks
	}
	l.hdr.Marker = false
	l.hdr.SequenceNumber++
	l.hdr.Timestamp += ticks
	if err != nil {
		if l.closed.Load() {
			return ErrClosed
		}
		return fmt.Errorf("%w: sending a frame: %w", ErrWebRTC, err)
	}
	l.sent.Add(1)
	return nil
}

// sendTrack is the leg's local audio track. pion binds it when the
// exchange is done, offering the negotiated codecs in the order of the
// offer; it takes the first of PCMU and Opus, and WriteFrame sends that.
type sendTrack struct{ l *Leg }

func (t *sendTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	l := t.l
	for _, codec := range c.CodecParameters() {
		isPCMU := strings.EqualFold(codec.MimeType, webrtc.MimeTypePCMU) && codec.ClockRate == clockRate
		isOpus := strings.EqualFold(codec.MimeType, webrtc.MimeTypeOpus) && codec.ClockRate == opus.RTPClockRate
		if !isPCMU && !isOpus {
			continue
		}
		l.wmu.Lock()
		defer l.wmu.Unlock()
		if isOpus && l.enc == nil {
			enc, err := opus.NewEncoder(0)
			if err != nil {
				return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: the Opus encoder: %w", ErrWebRTC, err)
			}
			l.enc = enc
		}
		l.sendOpus = isOpus
		l.opusOut.Store(isOpus)
		l.hdr.SSRC = uint32(c.SSRC())
		l.hdr.PayloadType = uint8(codec.PayloadType)
		l.stream = c.WriteStream()
		l.log.Info("agent leg: sending", "codec", codec.MimeType, "pt", codec.PayloadType)
		return codec, nil
	}
	return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
}

func (t *sendTrack) Unbind(webrtc.TrackLocalContext) error {
	t.l.wmu.Lock()
	defer t.l.wmu.Unlock()
	t.l.stream = nil
	return nil
}

func (t *sendTrack) ID() string                { return "audio" }
func (t *sendTrack) RID() string               { return "" }
func (t *sendTrack) StreamID() string          { return "hushphone" }
func (t *sendTrack) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeAudio }

// readTrack reads one remote track until the leg closes, handing
// OnAgentAudio 160-byte PCMU frames (Opus decoded and encoded to PCMU).
// Only the first PCMU or Opus track is played; any other is read and
// dropped.
func (l *Leg) readTrack(t *webrtc.TrackRemote) {
	mime := t.Codec().MimeType
	isOpus := strings.EqualFold(mime, webrtc.MimeTypeOpus)
	use := isOpus || strings.EqualFold(mime, webrtc.MimeTypePCMU)
	if !use {
		l.log.Warn("agent leg: ignoring a track that is neither PCMU nor Opus", "codec", mime)
	} else if use = l.reading.CompareAndSwap(false, true); !use {
		l.log.Warn("agent leg: ignoring a second audio track from the agent")
	}
	// ticks is RTP clock ticks per 8 kHz sample: 1 for PCMU, 6 for Opus.
	ticks, rate := uint32(1), int64(clockRate)
	var (
		dec *opus.Decoder
		pcm []int16
		ulw []byte
	)
	if use && isOpus {
		var err error
		if dec, err = opus.NewDecoder(); err != nil {
			l.log.Error("agent leg: no Opus decoder; the agent's audio is dropped", "err", err)
			use = false
		} else {
			defer dec.Close()
			ticks, rate = opus.RTPClockRate/clockRate, opus.RTPClockRate
			pcm = make([]int16, opus.MaxFrameSamples)
			ulw = make([]byte, opus.MaxFrameSamples)
		}
	}
	var (
		buf     [1500]byte
		pkt     rtp.Packet
		frame   [frameBytes]byte
		fill    int // bytes in frame
		started bool
		lastSeq uint16
		nextTS  uint32
		transit uint32
		jitter  float64 // in clock ticks
		start   = time.Now()
		tickNs  = int64(time.Second) / rate
	)
	emit := func(b []byte) {
		for len(b) > 0 {
			n := copy(frame[fill:], b)
			fill += n
			b = b[n:]
			if fill == frameBytes {
				fill = 0
				l.frames.Add(1)
				if l.params.OnAgentAudio != nil {
					l.params.OnAgentAudio(frame[:])
				}
			}
		}
	}
	var silence [frameBytes]byte
	for i := range silence {
		silence[i] = pcmuSilence
	}
	for {
		n, _, err := t.Read(buf[:])
		if err != nil {
			return
		}
		if !use {
			continue // drained, not played
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		audio := pkt.Payload
		if dec != nil {
			// Decoded before the time line moves: a packet that is not
			// Opus is skipped, and the next one fills its time with silence.
			if started && int16(pkt.SequenceNumber-lastSeq) <= 0 {
				l.late.Add(1)
				continue
			}
			k, err := dec.Decode(pcm, pkt.Payload)
			if err != nil {
				l.log.Debug("agent leg: dropping an undecodable Opus packet", "err", err)
				continue
			}
			audio = ulw[:k]
			g711.EncodeULawTo(audio, pcm[:k])
		}
		if started {
			d := int16(pkt.SequenceNumber - lastSeq)
			if d <= 0 {
				l.late.Add(1)
				continue
			}
			l.lost.Add(uint64(d - 1))
			gap := int32(pkt.Timestamp-nextTS) / int32(ticks)
			if gap > 0 && gap <= maxFill {
				for gap > 0 {
					k := min(int(gap), frameBytes)
					emit(silence[:k])
					gap -= int32(k)
				}
			}
		}
		// RFC 3550 6.4.1, in clock ticks, modulo 2^32 like the timestamps.
		arrival := uint32(time.Since(start).Nanoseconds() / tickNs)
		tr := arrival - pkt.Timestamp
		if started {
			dd := float64(int32(tr - transit))
			if dd < 0 {
				dd = -dd
			}
			jitter += (dd - jitter) / 16
			l.jitterNs.Store(int64(jitter * float64(tickNs)))
		}
		transit = tr
		started = true
		lastSeq = pkt.SequenceNumber
		nextTS = pkt.Timestamp + uint32(len(audio))*ticks
		l.received.Add(1)
		emit(audio)
	}
}

// readReceiverRTCP reads the RTCP for a received track until the leg
// closes: the peer's sender reports pass through the report interceptor
// this way only, and without them our receiver reports carry no LSR and
// DLSR, from which the peer (a browser: remote-inbound-rtp's
// roundTripTime) works out its round trip. What it reads is dropped.
func (l *Leg) readReceiverRTCP(r *webrtc.RTPReceiver) {
	defer l.wg.Done()
	var buf [1500]byte
	for {
		if _, _, err := r.Read(buf[:]); err != nil {
			return
		}
	}
}

// readRTCP reads RTCP for the sent track (which also runs the interceptors)
// and keeps the agent's receiver reports.
func (l *Leg) readRTCP() {
	defer l.wg.Done()
	var buf [1500]byte
	for {
		n, _, err := l.sender.Read(buf[:])
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			var reports []rtcp.ReceptionReport
			switch p := p.(type) {
			case *rtcp.ReceiverReport:
				reports = p.Reports
			case *rtcp.SenderReport:
				reports = p.Reports
			}
			for _, r := range reports {
				l.reports.Add(1)
				l.remoteLost.Store(r.TotalLost)
				rate := int64(clockRate)
				if l.opusOut.Load() {
					rate = opus.RTPClockRate
				}
				l.remoteJitterNs.Store(int64(r.Jitter) * int64(time.Second) / rate)
			}
		}
	}
}

// Stats returns the leg's counters so far.
func (l *Leg) Stats() Stats {
	return Stats{
		PacketsSent:     l.sent.Load(),
		PacketsReceived: l.received.Load(),
		PacketsLost:     l.lost.Load(),
		PacketsLate:     l.late.Load(),
		FramesReceived:  l.frames.Load(),
		Jitter:          time.Duration(l.jitterNs.Load()),
		RemoteLost:      l.remoteLost.Load(),
		RemoteJitter:    time.Duration(l.remoteJitterNs.Load()),
		RemoteReports:   l.reports.Load(),
	}
}

// Close ends the peer connection, waits for every goroutine the leg
// started, and reports StateClosed. Calling it again does nothing. Do not
// call it from a LegParams callback.
func (l *Leg) Close() error {
	l.mu.Lock()
	if l.closed.Load() {
		l.mu.Unlock()
		return nil
	}
	l.closed.Store(true)
	close(l.done)
	l.mu.Unlock()

	err := l.pc.GracefulClose()
	l.wg.Wait()
	l.wmu.Lock()
	if l.enc != nil {
		l.enc.Close()
		l.enc = nil
	}
	l.stream = nil
	l.wmu.Unlock()
	l.report(StateClosed)
	if err != nil {
		return fmt.Errorf("%w: closing the peer connection: %w", ErrWebRTC, err)
	}
	return nil
}
