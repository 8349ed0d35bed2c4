// Package dtmf detects DTMF key presses in 8 kHz linear audio and defines the
// key events that every source of key presses (in-band tones, RFC 4733
// telephone-events, SIP INFO) reports in one shape.
package dtmf

import "time"

// Source says how a key press reached the server.
type Source uint8

// The sources of key presses.
const (
	SourceInband  Source = iota + 1 // tones in the caller's audio
	SourceRFC4733                   // RTP telephone-event packets
	SourceSIPInfo                   // SIP INFO application/dtmf-relay or application/dtmf
)

func (s Source) String() string {
	switch s {
	case SourceInband:
		return "in-band"
	case SourceRFC4733:
		return "rfc4733"
	case SourceSIPInfo:
		return "sip-info"
	default:
		return "unknown"
	}
}

// Phase says whether an event opens or closes a key press.
type Phase uint8

// The phases of a key press. Every key press is reported exactly once as
// KeyDown (as soon as it is known to be valid) and once as KeyUp (when it
// ends, with its end time).
const (
	KeyDown Phase = iota + 1
	KeyUp
)

func (p Phase) String() string {
	switch p {
	case KeyDown:
		return "down"
	case KeyUp:
		return "up"
	default:
		return "unknown"
	}
}

// Event is one key press, or its end. Times are offsets on the input time
// line of the stage that reported it (the first input sample is at 0).
//
// An Event carries the digit: it must only ever reach the payment side, never
// a log, a metric, or a listener.
type Event struct {
	Digit  byte // one of 0123456789*#ABCD
	Phase  Phase
	Source Source
	Start  time.Duration
	End    time.Duration // zero on KeyDown
}

// Digits are the sixteen DTMF keys in RFC 4733 event-code order (0-9, *, #, A-D).
const Digits = "0123456789*#ABCD"

// ValidDigit reports whether d is one of the sixteen DTMF keys.
func ValidDigit(d byte) bool {
	switch {
	case d >= '0' && d <= '9', d == '*', d == '#', d >= 'A' && d <= 'D':
		return true
	}
	return false
}
