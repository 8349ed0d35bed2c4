// Package callerleg is the caller's side of a call's media on the server:
// it takes the RTP packets that arrive from the SIP trunk, latches once onto
// the caller's address (the one its SDP names, or, behind a NAT, the first
// inside the trunk allow list: Source) and ignores any other, keeps the caller's audio on
// one continuous time line (lost or suppressed packets become silence),
// runs every 20 ms of it through the call's Masker before anything else sees
// it, and routes telephone-events to the Masker, which consumes them. It
// also reads the caller's RTCP (sender reports, reports of our stream, BYE)
// and writes the reception report block for ours. What
// comes out, in order, is only masked audio: the one stream the agent,
// supervisors and the recorder get.
//
// A Leg is fed by the call's receive loops (its RTP, and its RTCP, which
// the trunk's call serialises under one lock); it is not safe for
// concurrent use and allocates nothing per packet.
package callerleg

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/media/mix"
)

// Errors for packets that are not used. None of them ends the call: the
// packet is counted and dropped.
var (
	ErrMalformed   = errors.New("callerleg: not an RTP packet")
	ErrStranger    = errors.New("callerleg: RTP from an unexpected source")
	ErrPayloadType = errors.New("callerleg: payload type not negotiated")
	ErrLate        = errors.New("callerleg: packet too late or repeated")
	ErrParams      = errors.New("callerleg: bad parameters")
)

const (
	clockRate   = mix.SampleRate
	frameBytes  = mix.FrameSamples // one byte per G.711 sample
	maxFillTime = time.Second      // longer gaps restart the time line
	maxFill     = int(maxFillTime * clockRate / time.Second)
)

// Params describe a negotiated caller leg.
type Params struct {
	// Masker is the call's Masker: every frame goes through it.
	Masker *mask.Masker
	// Law and AudioPT are the audio codec the SDP agreed (PCMU 0 or PCMA 8).
	Law     g711.Law
	AudioPT uint8
	// EventPT is the telephone-event payload type, 0 if none was agreed.
	EventPT uint8
	// Out receives each masked frame (20 ms, mix.FrameSamples G.711 bytes)
	// in order. It is called synchronously and must not block or keep the
	// slice.
	Out func(frame []byte)
	// Source is where the caller's media may come from. Its zero value
	// takes the first source (for legs fed by hand); the trunk always
	// sets it.
	Source Source
}

// Source says which addresses a leg takes the caller's media from. The
// leg latches onto one of them once, with the first packet that comes
// from one (or at Latched), and takes nothing from anywhere else for the
// rest of the call: a stranger who sprays the port first neither becomes
// the caller's address (where the agent's voice would go) nor gets its
// audio or key presses into the Masker.
type Source struct {
	// SDP is the address the caller's SDP names for its RTP.
	SDP netip.AddrPort
	// Allow lists where a caller behind a NAT may send from instead of
	// SDP (the trunk allow list): the source address its NAT gives it.
	Allow []netip.Prefix
	// Latched, if set, is the address already latched onto (the caller's
	// early media, before the leg was made).
	Latched netip.AddrPort
}

// Accepts reports whether the caller's media may come from from: SDP's
// address, or any inside Allow. A zero Source accepts any.
func (s Source) Accepts(from netip.AddrPort) bool {
	if !s.SDP.IsValid() && len(s.Allow) == 0 {
		return true
	}
	a := from.Addr().Unmap()
	if a == s.SDP.Addr().Unmap() && from.Port() == s.SDP.Port() {
		return true
	}
	for _, p := range s.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Stats are the leg's counters, for /metrics and the call's record.
type Stats struct {
	Received  uint64         // audio packets used
	Events    uint64         // telephone-event packets consumed
	Lost      int64          // audio packets expected but never seen (RFC 3550 A.3)
	Late      uint64         // packets dropped as too late or repeated
	Ignored   uint64         // packets from other sources than the latched one
	Malformed uint64         // packets that are not RTP, or not negotiated
	Jitter    time.Duration  // interarrival jitter (RFC 3550 A.8)
	Frames    uint64         // masked frames given out
	Remote    netip.AddrPort // the address latched onto
	SSRC      uint32         // the caller's RTP stream

	RTCPReceived  uint64        // RTCP datagrams from the caller that parsed
	RTCPMalformed uint64        // datagrams on the RTCP port that did not
	RTCPBye       bool          // the caller sent an RTCP BYE
	RTT           time.Duration // round trip, from the caller's last report of our stream (0 if none)
}

// Leg is one caller leg.
type Leg struct {
	p      Params
	pkt    rtp.Packet
	stats  Stats
	silent byte // G.711 code for silence in Law

	latched bool
	ssrc    uint32

	// sequence tracking (RFC 3550 A.1)
	started  bool
	maxSeq   uint16
	cycles   uint32
	baseSeq  uint32
	nextTS   uint32 // RTP timestamp of the next audio sample expected
	received int64

	// jitter (RFC 3550 A.8), in timestamp units, scaled by 16
	transit int64
	jitter  int64
	clock0  time.Time

	// RTCP: the interval's baseline for the fraction lost, and the
	// caller's last sender report (middle 32 bits of its NTP time)
	expectedPrior, receivedPrior int64
	lastSR                       uint32
	lastSRAt                     time.Time

	pend        [frameBytes]byte // audio waiting to fill a frame
	pendN       int
	out         [frameBytes]byte
	haveTransit bool
}

// New returns a leg for the negotiated parameters.
func New(p Params) (*Leg, error) {
	switch {
	case p.Masker == nil:
		return nil, fmt.Errorf("%w: no Masker", ErrParams)
	case p.Law != g711.ULaw && p.Law != g711.ALaw:
		return nil, fmt.Errorf("%w: law %v (PCMU or PCMA)", ErrParams, p.Law)
	case p.AudioPT > 127 || p.EventPT > 127 || p.EventPT != 0 && p.EventPT == p.AudioPT:
		return nil, fmt.Errorf("%w: payload types %d and %d", ErrParams, p.AudioPT, p.EventPT)
	case p.Out == nil:
		return nil, fmt.Errorf("%w: no Out", ErrParams)
	}
	l := &Leg{p: p, silent: 0xFF}
	if p.Source.Latched.IsValid() {
		l.latched, l.stats.Remote = true, p.Source.Latched
	}
	if p.Law == g711.ALaw {
		l.silent = 0xD5
	}
	return l, nil
}

// Stats returns the counters so far.
func (l *Leg) Stats() Stats {
	s := l.stats
	if l.started {
		expected := int64(l.cycles) + int64(l.maxSeq) - int64(l.baseSeq) + 1
		s.Lost = expected - l.received
	}
	s.Jitter = time.Duration(l.jitter/16) * time.Second / clockRate
	s.SSRC = l.ssrc
	return s
}

// Remote is the caller's address, once latched (zero before).
func (l *Leg) Remote() netip.AddrPort { return l.stats.Remote }

// Packet takes one datagram from the caller's side, received from from at
// arrival. It returns why a packet was not used (counted in Stats); no
// error ends the call.
func (l *Leg) Packet(from netip.AddrPort, b []byte, arrival time.Time) error {
	if len(b) < 12 || b[0]>>6 != 2 {
		l.stats.Malformed++
		return fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	if err := l.pkt.Unmarshal(b); err != nil {
		l.stats.Malformed++
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	h := &l.pkt.Header
	if h.PayloadType != l.p.AudioPT && (l.p.EventPT == 0 || h.PayloadType != l.p.EventPT) {
		l.stats.Malformed++
		return fmt.Errorf("%w: %d", ErrPayloadType, h.PayloadType)
	}
	// Symmetric latching, once: the first good packet from an address
	// the caller may use (its SDP's, or behind a NAT one inside the allow
	// list) fixes the caller's address; every other is ignored, before
	// and after. The bare sentinel: a flood of strangers costs nothing.
	if !l.latched && l.p.Source.Accepts(from) {
		l.latched, l.stats.Remote = true, from
	}
	if !l.latched || from != l.stats.Remote {
		l.stats.Ignored++
		return ErrStranger
	}
	if l.p.EventPT != 0 && h.PayloadType == l.p.EventPT {
		// Consumed by the Masker: never passed on.
		if err := l.p.Masker.TelephoneEvent(h.Timestamp, l.pkt.Payload); err != nil {
			l.stats.Malformed++
			return fmt.Errorf("callerleg: %w", err)
		}
		l.stats.Events++
		return nil
	}
	if !l.sequence(h.SequenceNumber, h.SSRC) {
		l.stats.Late++
		return fmt.Errorf("%w: sequence %d", ErrLate, h.SequenceNumber)
	}
	l.measureJitter(h.Timestamp, arrival)
	l.audio(h.Timestamp, l.pkt.Payload)
	return nil
}

// sequence tracks the sequence number and reports whether the packet is new
// (RFC 3550 A.1, without its probation: a call's first packet is trusted).
func (l *Leg) sequence(seq uint16, ssrc uint32) bool {
	if !l.started || ssrc != l.ssrc {
		// A first packet, or a new stream (re-INVITE, a new SSRC).
		l.started, l.ssrc = true, ssrc
		l.maxSeq, l.cycles, l.baseSeq, l.received = seq, 0, uint32(seq), 1
		l.expectedPrior, l.receivedPrior = 0, 0
		l.haveTransit = false
		return true
	}
	delta := seq - l.maxSeq
	switch {
	case delta == 0 || delta >= 0x8000:
		return false // repeated, or older than what was already played
	case seq < l.maxSeq:
		l.cycles += 1 << 16 // wrapped
	}
	l.maxSeq = seq
	l.received++
	return true
}

func (l *Leg) measureJitter(ts uint32, arrival time.Time) {
	if l.clock0.IsZero() {
		l.clock0 = arrival
	}
	now := int64(arrival.Sub(l.clock0) * clockRate / time.Second)
	transit := now - int64(ts)
	if l.haveTransit {
		d := transit - l.transit
		if d < 0 {
			d = -d
		}
		l.jitter += d - (l.jitter+8)>>4
	}
	l.transit, l.haveTransit = transit, true
}

// audio puts a payload on the time line: silence first for any samples
// missing since the last packet (lost, or suppressed), then the payload,
// giving out every whole frame.
func (l *Leg) audio(ts uint32, payload []byte) {
	if l.stats.Received > 0 {
		if gap := int32(ts - l.nextTS); gap > 0 && int(gap) <= maxFill {
			for range gap {
				l.push(l.silent)
			}
		}
	}
	for _, c := range payload {
		l.push(c)
	}
	l.nextTS = ts + uint32(len(payload))
	l.stats.Received++
}

func (l *Leg) push(c byte) {
	l.pend[l.pendN] = c
	l.pendN++
	if l.pendN < frameBytes {
		return
	}
	l.pendN = 0
	// The frame and the Masker's sizes agree by construction.
	if err := l.p.Masker.ProcessPayload(l.out[:], l.pend[:], l.p.Law); err != nil {
		return
	}
	l.stats.Frames++
	l.p.Out(l.out[:])
}
