// Package mask is the Masker: the one streaming stage every caller leg's
// audio passes through before anyone hears it.
//
// DRAFT API (being implemented): helpers may code against these signatures.
package mask

import (
	"errors"
	"fmt"
	"time"

	"github.com/hushphone/hushphone/media/dtmf"
)

// SampleRate and FrameSamples: the Masker works on 8 kHz audio in 20 ms frames.
const (
	SampleRate   = 8000
	FrameSamples = 160
)

// Mode is what a listener hears in place of a key press.
type Mode uint8

// The masking modes.
const (
	ModeTone    Mode = iota // one flat tone, identical for every key (default)
	ModeSilence             // silence
	ModeNoise               // comfort noise
)

// ErrFrameSize is returned when a frame is not 20 ms of 8 kHz audio.
var ErrFrameSize = errors.New("mask: a frame must be 160 samples (20 ms at 8 kHz)")

// ErrMode is returned by ParseMode for an unknown mode name.
var ErrMode = errors.New("mask: unknown mode")

// ParseMode parses "tone", "silence" or "noise".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "tone", "":
		return ModeTone, nil
	case "silence":
		return ModeSilence, nil
	case "noise":
		return ModeNoise, nil
	}
	return 0, fmt.Errorf("%w %q: use tone, silence or noise", ErrMode, s)
}

// Option configures a Masker.
type Option func(*Masker)

// WithMode sets what replaces a key press (default ModeTone).
func WithMode(mode Mode) Option { return func(m *Masker) { m.mode = mode } }

// WithKeyEvents sets the function that receives key events. It is called
// synchronously from Process, TelephoneEvent and KeyPress; it must not block.
func WithKeyEvents(fn func(dtmf.Event)) Option { return func(m *Masker) { m.onKey = fn } }

// Masker: see package doc. Not safe for concurrent use; one per caller leg.
type Masker struct {
	mode  Mode
	onKey func(dtmf.Event)
}

// Lookahead is the fixed delay between input and output.
func (m *Masker) Lookahead() time.Duration { return 20 * time.Millisecond }

// Process masks one frame: in is the newest 160 samples of caller audio, out
// (160 samples, may not alias in) receives what a listener hears: the input
// delayed by Lookahead, with every key press replaced.
//   func (m *Masker) Process(out, in []int16) error

// TelephoneEvent feeds one RFC 4733 telephone-event payload with its RTP
// timestamp. The packet is consumed: it is never passed on.
//   func (m *Masker) TelephoneEvent(ts uint32, payload []byte) error

// KeyPress reports a key press that arrived out of band (SIP INFO) lasting d;
// listeners hear the flat tone for d.
//   func (m *Masker) KeyPress(digit byte, d time.Duration) error
