package agentleg

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

const (
	clockRate  = 8000
	frameBytes = 160 // 20 ms of PCMU, one byte a sample
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
	// OnAgentAudio receives the agent's voice as 160-byte PCMU frames in
	// order; lost packets (up to 1 s) come as PCMU silence. The slice is
	// reused: copy what you keep. Nil discards the audio.
	OnAgentAudio func(frame []byte)
	// OnCandidate trickles each local ICE candidate to the agent. Nil
	// turns trickle off: Offer and Answer then wait for gathering to
	// finish and return a description holding every candidate.
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
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender
	params LegParams

	mu      sync.Mutex // closed and wg.Add
	closed  atomic.Bool
	reading atomic.Bool // a track's audio goes to OnAgentAudio
	done    chan struct{}
	wg      sync.WaitGroup

	sigMu     sync.Mutex // signalling: one exchange at a time
	remoteSet bool
	pending   []webrtc.ICECandidateInit

	stateMu   sync.Mutex
	lastState State

	wmu sync.Mutex
	pkt rtp.Packet

	sent, received, lost, late, frames, reports atomic.Uint64
	jitterNs, remoteJitterNs                    atomic.Int64
	remoteLost                                  atomic.Uint32
}

// NewLeg makes a leg with one sendrecv PCMU transceiver. It starts the
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
	l.track, err = webrtc.NewTrackLocalStaticRTP(pcmu.RTPCodecCapability, "audio", "hushphone")
	if err != nil {
		return fail("local track", err)
	}
	tr, err := pc.AddTransceiverFromTrack(l.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return fail("audio transceiver", err)
	}
	l.sender = tr.Sender()

	var seed [6]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return fail("random RTP start", err)
	}
	l.pkt.Version = 2
	l.pkt.PayloadType = uint8(pcmu.PayloadType)
	l.pkt.SequenceNumber = binary.BigEndian.Uint16(seed[:2])
	l.pkt.Timestamp = binary.BigEndian.Uint32(seed[2:])
	l.pkt.Marker = true

	if p.OnCandidate != nil {
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil || !l.enter() {
				return
			}
			defer l.wg.Done()
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
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if !l.enter() {
			return
		}
		defer l.wg.Done()
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

// Answer answers the agent's offer, which must carry PCMU audio.
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

// setRemote checks that d has PCMU audio, applies it and adds the
// candidates that came before it. sigMu is held.
func (l *Leg) setRemote(d webrtc.SessionDescription) error {
	if err := checkPCMU(d.SDP); err != nil {
		return fmt.Errorf("%w: the agent's %s: %w", ErrSDP, d.Type, err)
	}
	if err := l.pc.SetRemoteDescription(d); err != nil {
		return fmt.Errorf("%w: the agent's %s: %w", ErrSDP, d.Type, err)
	}
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

// errNoPCMU and errNoAudio say why a description was refused.
var (
	errNoAudio = errors.New("no audio section; the agent must offer audio")
	errNoPCMU  = errors.New("no PCMU/8000 in the audio section; the agent must offer PCMU (Opus is not supported yet)")
)

// checkPCMU parses a description and checks that an audio section offers
// PCMU (static payload type 0 or an rtpmap to PCMU/8000).
func checkPCMU(s string) error {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		return fmt.Errorf("unparsable SDP: %w", err)
	}
	audio := false
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		audio = true
		for _, f := range m.MediaName.Formats {
			if f == "0" {
				return nil
			}
		}
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToUpper(a.Value), " PCMU/8000") {
				return nil
			}
		}
	}
	if !audio {
		return errNoAudio
	}
	return errNoPCMU
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

// AddCandidate adds one of the agent's trickled ICE candidates. An empty
// candidate means the agent has no more. Candidates that arrive before the
// agent's description are held until it comes.
func (l *Leg) AddCandidate(c webrtc.ICECandidateInit) error {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	if err := CheckCandidate(c.Candidate); err != nil {
		return err
	}
	if !l.remoteSet {
		if len(l.pending) >= maxPending {
			return fmt.Errorf("%w: more than %d candidates before the agent's description; send the description first", ErrCandidate, maxPending)
		}
		l.pending = append(l.pending, c)
		return nil
	}
	if err := l.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrCandidate, c.Candidate, err)
	}
	return nil
}

// WriteFrame sends 20 ms of masked caller audio (160 PCMU bytes) to the
// agent as one RTP packet. Before the leg connects, frames are dropped.
func (l *Leg) WriteFrame(frame []byte) error {
	if len(frame) != frameBytes {
		return fmt.Errorf("%w: got %d bytes", ErrFrame, len(frame))
	}
	if l.closed.Load() {
		return ErrClosed
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.pkt.Payload = frame
	err := l.track.WriteRTP(&l.pkt)
	l.pkt.Payload = nil
	l.pkt.Marker = false
	l.pkt.SequenceNumber++
	l.pkt.Timestamp += frameBytes
	if err != nil {
		if l.closed.Load() {
			return ErrClosed
		}
		return fmt.Errorf("%w: sending a frame: %w", ErrWebRTC, err)
	}
	l.sent.Add(1)
	return nil
}

// readTrack reads one remote track until the leg closes, handing
// OnAgentAudio 160-byte frames. Only the first PCMU track is played; any
// other is read and dropped.
func (l *Leg) readTrack(t *webrtc.TrackRemote) {
	use := strings.EqualFold(t.Codec().MimeType, webrtc.MimeTypePCMU)
	if !use {
		l.log.Warn("agent leg: ignoring a track that is not PCMU", "codec", t.Codec().MimeType)
	} else if use = l.reading.CompareAndSwap(false, true); !use {
		l.log.Warn("agent leg: ignoring a second audio track from the agent")
	}
	var (
		buf      [1500]byte
		pkt      rtp.Packet
		frame    [frameBytes]byte
		fill     int // bytes in frame
		started  bool
		lastSeq  uint16
		nextTS   uint32
		transit  uint32
		jitter   float64 // in samples
		start    = time.Now()
		sampleNs = int64(time.Second / clockRate)
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
		if started {
			d := int16(pkt.SequenceNumber - lastSeq)
			if d <= 0 {
				l.late.Add(1)
				continue
			}
			l.lost.Add(uint64(d - 1))
			gap := int32(pkt.Timestamp - nextTS)
			if gap > 0 && gap <= maxFill {
				for gap > 0 {
					k := min(int(gap), frameBytes)
					emit(silence[:k])
					gap -= int32(k)
				}
			}
		}
		// RFC 3550 6.4.1, in samples, modulo 2^32 like the timestamps.
		arrival := uint32(time.Since(start).Nanoseconds() / sampleNs)
		tr := arrival - pkt.Timestamp
		if started {
			dd := float64(int32(tr - transit))
			if dd < 0 {
				dd = -dd
			}
			jitter += (dd - jitter) / 16
			l.jitterNs.Store(int64(jitter * float64(sampleNs)))
		}
		transit = tr
		started = true
		lastSeq = pkt.SequenceNumber
		nextTS = pkt.Timestamp + uint32(len(pkt.Payload))
		l.received.Add(1)
		emit(pkt.Payload)
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
				l.remoteJitterNs.Store(int64(r.Jitter) * int64(time.Second/clockRate))
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
	l.report(StateClosed)
	if err != nil {
		return fmt.Errorf("%w: closing the peer connection: %w", ErrWebRTC, err)
	}
	return nil
}
