package rfc4733

import "math"

// DefaultTimeout is how long, in timestamp units, an event lasts past its
// last packet before the Receiver ends it: 4000 units, 500 ms at the
// 8000 Hz clock of telephone-event/8000.
//
// Senders update a running event at about their audio packet interval,
// 20 to 50 ms, so 500 ms is ten or more missing updates:
// jitter and a short burst of loss do not cut a key press short, while a
// press whose end packets were all lost stops being masked half a second
// after its last packet. A timeout can never turn one press into two: later
// packets of a timed-out event are ignored. For another clock rate, use
// WithTimeout(rate/2).
const DefaultTimeout = 4000

// maxSegment is the largest duration field: an event that lasts longer is
// continued in a new segment (RFC 4733 section 2.5.1.3).
const maxSegment = 0xFFFF

// segmentSlack is how far from maxSegment the timestamp of a new segment
// may fall and still be taken as the continuation of the running event
// (512 ms at 8000 Hz). A conforming sender starts the new segment exactly
// maxSegment after the old one; the slack covers senders that cut the old
// segment at a multiple of their packet interval.
const segmentSlack = 0x1000

// minSegment is how long the old segment must have been seen to last for a
// new timestamp with the same event code to be its continuation rather than
// a new press of the same key: within 2*segmentSlack (1 s at 8000 Hz) of the
// maximum, which tolerates the loss of its last second of packets. The same
// key pressed again is only taken for a continuation if the earlier press
// lasted over 7 s, lost all its end packets, and the new press began 7.7 to
// 8.7 s after the earlier one.
const minSegment = maxSegment - 2*segmentSlack

// maxReorder is how much older than the newest event a packet may be and
// still count as late (and be ignored). A packet older still is a timestamp
// discontinuity, a restarted stream, and starts a new event: without this, a
// stream whose timestamps jumped back would be ignored for up to 2^31 units.
// 2^18 units is 32 s at 8000 Hz, far beyond any real reordering.
const maxReorder = 1 << 18

// ChangeKind says what a packet or a tick did to the key press in progress.
type ChangeKind uint8

// The kinds of change.
const (
	// None: nothing to report (an update, a duplicate, a late packet, a
	// non-DTMF event, or a packet older than the current event).
	None ChangeKind = iota
	// Start: a new key press began.
	Start
	// End: the key press in progress ended.
	End
	// StartEnd: a new key press whose first packet seen already has the E
	// bit: it began and ended at once.
	StartEnd
)

func (k ChangeKind) String() string {
	switch k {
	case None:
		return "none"
	case Start:
		return "start"
	case End:
		return "end"
	case StartEnd:
		return "start-end"
	default:
		return "unknown"
	}
}

// Edge is one start or end of a key press.
type Edge struct {
	Kind  ChangeKind
	Digit byte // the event's digit, one of 0123456789*#ABCD; 0 when Kind is None
	// Timestamp is the RTP timestamp of the event's start (of its first
	// segment seen).
	Timestamp uint32
	// Duration is the event's duration in timestamp units as far as known,
	// summed over segments: final on End and StartEnd, the duration so far
	// on Start.
	Duration uint32
	// TimedOut is true when the event ended without its end packet: by the
	// timeout, or cut short by a newer event. Duration is then a lower bound.
	TimedOut bool
}

// Change is what one call to Packet or Tick changed. Its Edge (whose fields
// Kind, Digit, Timestamp, Duration and TimedOut are promoted) is the main
// change. A call reports two changes only when a packet starts a new event
// while an earlier one is still open (its end packets lost, or timed out
// with no Tick since): then Prev is the End of the earlier event, which
// happened first, and Kind is Start or StartEnd. Handle Prev before the Edge:
//
//	c := r.Packet(ts, p, now)
//	if c.Prev.Kind == rfc4733.End {
//		keyUp(c.Prev)
//	}
//	switch c.Kind { ... }
//
// Prev.Kind is always None or End; when Kind is None or End, Prev is empty.
type Change struct {
	Edge
	Prev Edge
}

// Option configures a Receiver.
type Option func(*Receiver)

// WithTimeout sets how long, in timestamp units of the receiver's clock, an
// event lasts after its last packet before it is ended (default
// DefaultTimeout). Zero keeps the default.
func WithTimeout(units uint32) Option {
	return func(r *Receiver) {
		if units > 0 {
			r.timeout = units
		}
	}
}

// Receiver turns the telephone-event packets of one RTP stream into exactly
// one key press per event; see the package documentation for the rules. It
// allocates nothing. Not safe for concurrent use. Call Reset when the
// stream changes (a new SSRC).
type Receiver struct {
	timeout uint32

	seen    bool   // an event has been seen since the last Reset
	active  bool   // that event is in progress (started, not ended)
	lostEnd bool   // it ended without its end packet (timeout or preempted)
	code    uint8  // its event code
	startTs uint32 // RTP timestamp of its first segment seen
	segTs   uint32 // RTP timestamp of its newest segment
	segDur  uint16 // longest duration seen in the newest segment
	base    uint64 // duration of the segments before the newest
	lastNow int64  // receiver clock at its last packet
}

// NewReceiver returns a Receiver with the default timeout, changed by opts.
func NewReceiver(opts ...Option) *Receiver {
	r := &Receiver{timeout: DefaultTimeout}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Reset forgets all state, keeping the options. An event in progress is
// dropped without an End.
func (r *Receiver) Reset() {
	*r = Receiver{timeout: r.timeout}
}

// Packet feeds one telephone-event packet: its RTP timestamp, its parsed
// payload (the first report, see Payload.Unmarshal), and now, the
// receiver's clock in the same units as the timestamps (any monotonic count
// of samples). It first ends an event that has timed out, as Tick would, and
// returns what changed.
func (r *Receiver) Packet(ts uint32, p Payload, now int64) Change {
	var c Change
	c.Prev = r.expire(now)
	edge, preempted := r.packet(ts, p, now)
	c.Edge = edge
	if preempted.Kind == End {
		// expire and preemption exclude each other: expire closes the
		// event that preemption would close.
		c.Prev = preempted
	}
	if c.Kind == None && c.Prev.Kind == End {
		c.Edge, c.Prev = c.Prev, Edge{}
	}
	return c
}

// Tick advances the clock to now without a packet, ending the event in
// progress if its last packet is at least the timeout old.
func (r *Receiver) Tick(now int64) Change {
	return Change{Edge: r.expire(now)}
}

// expire ends the event in progress if it has timed out.
func (r *Receiver) expire(now int64) Edge {
	if !r.active || now <= r.lastNow {
		return Edge{}
	}
	// now > lastNow, so the unsigned difference is exact even where the
	// signed one would overflow.
	if uint64(now)-uint64(r.lastNow) < uint64(r.timeout) {
		return Edge{}
	}
	return r.finish(true)
}

// packet applies one packet after expiry. It returns the change, and the End
// of an event in progress that a new event cut short.
func (r *Receiver) packet(ts uint32, p Payload, now int64) (edge, preempted Edge) {
	if r.seen {
		d := int32(ts - r.segTs) // serial-number arithmetic: wraps correctly
		switch {
		case d == 0:
			return r.update(p, now), Edge{}
		case d < 0 && d >= -maxReorder:
			// A late packet of an earlier event or segment.
			return Edge{}, Edge{}
		case d > 0 && r.continues(d, p):
			return r.segment(ts, uint32(d), p, now), Edge{}
		}
	}
	if r.active {
		preempted = r.finish(true)
	}
	return r.start(ts, p, now), preempted
}

// update applies a packet of the newest segment.
func (r *Receiver) update(p Payload, now int64) Edge {
	if p.Event != r.code {
		// A report that contradicts the event this timestamp names.
		return Edge{}
	}
	if !r.active {
		// A duplicate or late packet of an ended event. If it ended without
		// its end packet, keep its length up to date all the same, so that
		// its next segment is still recognised as one (see continues).
		// A late end packet settles that the event is over.
		if r.lostEnd {
			r.segDur = max(r.segDur, p.Duration)
			r.lostEnd = !p.End
		}
		return Edge{}
	}
	r.lastNow = now
	r.segDur = max(r.segDur, p.Duration)
	if p.End {
		return r.finish(false)
	}
	return Edge{}
}

// continues reports whether a packet d units newer than the newest segment
// starts the next segment of the same long event (RFC 4733 section 2.5.1.3).
func (r *Receiver) continues(d int32, p Payload) bool {
	if p.Event != r.code || r.segDur < minSegment {
		return false
	}
	if !r.active && !r.lostEnd {
		return false // it ended with an end packet: this is a new press
	}
	return d >= maxSegment-segmentSlack && d <= maxSegment+segmentSlack
}

// segment starts the next segment of the event, d units after the last one.
// A new segment of an event that already timed out is absorbed silently: the
// press was reported once and ended; it must not start again.
func (r *Receiver) segment(ts, d uint32, p Payload, now int64) Edge {
	r.base += uint64(d)
	r.segTs = ts
	r.segDur = p.Duration
	if !r.active {
		return Edge{}
	}
	r.lastNow = now
	if p.End {
		return r.finish(false)
	}
	return Edge{}
}

// start begins a new event with its first packet seen.
func (r *Receiver) start(ts uint32, p Payload, now int64) Edge {
	r.seen = true
	r.active = true
	r.lostEnd = false
	r.code = p.Event
	r.startTs = ts
	r.segTs = ts
	r.segDur = p.Duration
	r.base = 0
	r.lastNow = now
	e := r.edge(Start, false)
	if p.End {
		r.active = false
		e = r.edge(StartEnd, false)
	}
	return e
}

// finish ends the event in progress.
func (r *Receiver) finish(lost bool) Edge {
	r.active = false
	r.lostEnd = lost
	return r.edge(End, lost)
}

// edge reports the current event; non-DTMF events report nothing.
func (r *Receiver) edge(kind ChangeKind, timedOut bool) Edge {
	digit, ok := EventDigit(r.code)
	if !ok {
		return Edge{}
	}
	total := r.base + uint64(r.segDur)
	return Edge{
		Kind:      kind,
		Digit:     digit,
		Timestamp: r.startTs,
		Duration:  uint32(min(total, math.MaxUint32)),
		TimedOut:  timedOut,
	}
}
