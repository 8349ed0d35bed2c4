// Package mask is the Masker: the one streaming stage that every caller leg's
// audio passes through before anyone hears it.
//
// The Masker delays the caller's audio by a fixed look-ahead (20 ms unless
// set otherwise with WithLookahead), and in
// that time finds every DTMF tone and replaces every sample of it with one
// flat tone that is the same for every key (or silence, or comfort noise), so
// a listener hears that a key was pressed and nothing about which. Key presses
// that arrive as RFC 4733 telephone-events or SIP INFO are never passed on;
// the listener hears the same flat tone for them. The digits themselves go
// out on a separate output, the key-event callback, that only the payment
// side reads.
//
// Why 20 ms: the detector decides on 20 ms windows (the shortest that
// separates 697 Hz from 770 Hz), one every 5 ms. Audio reaches the Masker in
// 20 ms frames, and a frame is only released when the frame after it has
// been analysed. A tone that starts on the last sample of a released frame
// has then been seen for a full 20 ms window, which is enough to find it and
// mask it back to its first sample. Any shorter look-ahead would release a
// tone's first samples before a full window of it had been seen.
//
// A longer look-ahead (WithLookahead, up to 50 ms in 5 ms steps) gives the
// detector more windows to find a tone whose first windows are blurred by
// speech or noise under it, at the cost of that much more delay on every
// call. When the detector asks for its full reach (dtmf.MaskBackBlocks+1
// blocks, 40 ms, back from the window that finds a tone), the Masker masks
// back over all it holds: with 50 ms that stays inside the 40 ms before a
// clean tone's onset that are not counted as speech; a longer look-ahead
// would mask speech before every key press.
package mask

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/media/rfc4733"
)

// SampleRate and FrameSamples: the Masker works on the call path's frames,
// 8 kHz audio in 20 ms frames (media/mix).
const (
	SampleRate   = mix.SampleRate
	FrameSamples = mix.FrameSamples
)

const (
	blockSamples = dtmf.BlockSamples
	frameBlocks  = FrameSamples / blockSamples
	maxLABlocks  = 10 // the longest look-ahead, in blocks: 50 ms
	// ringBlocks holds a frame and the longest look-ahead (14 blocks),
	// rounded up to a power of two so that a block's slot is a mask, not a
	// division; a shorter look-ahead uses the same ring, so the Masker's
	// size does not depend on it.
	ringBlocks = 16
)

// The ring must hold a frame and the longest look-ahead.
var _ [ringBlocks - frameBlocks - maxLABlocks]struct{}

// The look-ahead's bounds: by default one frame, 20 ms (the shortest that
// masks a clean tone from its first sample), at most 50 ms, in steps of the
// detector's 5 ms block.
const (
	DefaultLookahead = time.Duration(frameBlocks*blockSamples) * time.Second / SampleRate
	MinLookahead     = DefaultLookahead
	MaxLookahead     = time.Duration(maxLABlocks*blockSamples) * time.Second / SampleRate
	LookaheadStep    = time.Duration(blockSamples) * time.Second / SampleRate
)

// Mode is what a listener hears in place of a key press.
type Mode uint8

// The masking modes.
const (
	ModeTone    Mode = iota // one flat tone, identical for every key (default)
	ModeSilence             // silence
	ModeNoise               // comfort noise
)

func (m Mode) String() string {
	switch m {
	case ModeTone:
		return "tone"
	case ModeSilence:
		return "silence"
	case ModeNoise:
		return "noise"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Errors.
var (
	ErrFrameSize = errors.New("mask: a frame must be 160 samples (20 ms at 8 kHz)")
	ErrMode      = errors.New("mask: unknown mode")
	ErrDigit     = errors.New("mask: not a DTMF key")
	ErrLaw       = errors.New("mask: unknown G.711 law")
	ErrLookahead = errors.New("mask: the look-ahead must be 20 ms to 50 ms in steps of 5 ms")
)

// CheckLookahead reports whether d is a look-ahead WithLookahead takes as
// it is: MinLookahead to MaxLookahead, a multiple of LookaheadStep.
func CheckLookahead(d time.Duration) error {
	if d < MinLookahead || d > MaxLookahead || d%LookaheadStep != 0 {
		return fmt.Errorf("%w: got %v", ErrLookahead, d)
	}
	return nil
}

// ParseMode parses "tone", "silence" or "noise".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "tone":
		return ModeTone, nil
	case "silence":
		return ModeSilence, nil
	case "noise":
		return ModeNoise, nil
	}
	return 0, fmt.Errorf("%w %q: use tone, silence or noise", ErrMode, s)
}

// The flat tone: 2000 Hz, 367 Hz (22 %) above the highest DTMF frequency,
// at -18 dBm0: clearly heard, never loud. At 8 kHz it is the four samples
// 0, A, 0, -A repeated, so it has no harmonics at all, not even after G.711
// quantization, that could fall on or near a DTMF frequency.
const (
	FlatToneHz   = 2000
	FlatToneDBm0 = -18
	flatPeriod   = SampleRate / FlatToneHz
	fadeSamples  = 16 // 2 ms raised-cosine fade in and out, against clicks
	noiseAmp     = 88 // uniform noise of about -50 dBm0 rms
)

var (
	flatTable [flatPeriod]int16
	fadeTable [fadeSamples]float32 // 0 -> 1
)

func init() {
	amp := 22860 * math.Pow(10, FlatToneDBm0/20.0)
	for i := range flatTable {
		flatTable[i] = int16(math.Round(amp * math.Sin(2*math.Pi*float64(i)/flatPeriod)))
	}
	for i := range fadeTable {
		fadeTable[i] = float32(0.5 - 0.5*math.Cos(math.Pi*float64(i+1)/(fadeSamples+1)))
	}
}

// Option configures a Masker.
type Option func(*Masker)

// WithMode sets what replaces a key press (default ModeTone).
func WithMode(mode Mode) Option { return func(m *Masker) { m.mode = mode } }

// WithKeyEvents sets the function that receives key events. It is called
// synchronously from Process and KeyPress and must not block; it is the only
// place digits leave the Masker.
func WithKeyEvents(fn func(dtmf.Event)) Option { return func(m *Masker) { m.onKey = fn } }

// WithLookahead sets the delay between input and output (default
// DefaultLookahead). Check d with CheckLookahead first: one it refuses is
// rounded up to a LookaheadStep and kept within MinLookahead..MaxLookahead,
// so that a Masker never has less than the 20 ms it needs.
func WithLookahead(d time.Duration) Option {
	return func(m *Masker) {
		d = min(max(d, MinLookahead), MaxLookahead)
		m.la = int64((d + LookaheadStep - 1) / LookaheadStep)
	}
}

// Masker is one caller leg's masking stage. It is not safe for concurrent
// use. It allocates nothing after New.
type Masker struct {
	mode  Mode
	onKey func(dtmf.Event)
	det   dtmf.Detector
	la    int64 // the look-ahead, in blocks

	ring  [ringBlocks][blockSamples]int16
	flag  [ringBlocks]bool
	block int64 // blocks received

	// masking forced by out-of-band key presses, in blocks
	forcedUntil int64
	oob         oobKey
	rx          *rfc4733.Receiver
	rtpActive   bool
	rtpStart    time.Duration

	// G.711 path: a block to encode, and the payload bytes of each block in
	// the ring (valid where payValid)
	pcmOut   [blockSamples]int16
	payRing  [ringBlocks][blockSamples]byte
	payValid [ringBlocks]bool

	// replacement synthesis
	masking bool // the last released block was masked
	phase   int  // samples into the flat tone
	fadeOut int  // samples of cross-fade left after a masked run
	noise   uint32
}

// oobKey is a key press that arrived out of band (SIP INFO) and is still
// sounding.
type oobKey struct {
	active   bool
	digit    byte
	start    time.Duration
	endBlock int64
}

// New returns a Masker at the start of a call.
func New(opts ...Option) *Masker {
	m := &Masker{mode: ModeTone, la: frameBlocks, noise: 0x12345678, rx: rfc4733.NewReceiver()}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Lookahead is the fixed delay between input and output.
func (m *Masker) Lookahead() time.Duration { return time.Duration(m.la) * LookaheadStep }

// LookaheadSamples is Lookahead in samples.
func (m *Masker) LookaheadSamples() int { return int(m.la) * blockSamples }

// Process masks one frame: in is the newest 160 samples of caller audio; out
// (160 samples; it may be the same slice as in) receives what a listener
// hears: the input delayed by Lookahead, with every key press replaced.
func (m *Masker) Process(out, in []int16) error {
	if len(in) != FrameSamples || len(out) != FrameSamples {
		return fmt.Errorf("%w: got %d in, %d out", ErrFrameSize, len(in), len(out))
	}
	m.take(in, nil, 0)
	for b := 0; b < frameBlocks; b++ {
		slot := m.releaseSlot(b)
		m.release(out[b*blockSamples:(b+1)*blockSamples], &m.ring[slot], m.flag[slot])
	}
	return nil
}

// ProcessPayload is Process for one 20 ms G.711 RTP payload (160 bytes): it
// decodes, masks and encodes into out (160 bytes; it may be the same slice
// as in). Unmasked audio comes out as the very bytes that came in, delayed.
func (m *Masker) ProcessPayload(out, in []byte, law g711.Law) error {
	if len(in) != FrameSamples || len(out) != FrameSamples {
		return fmt.Errorf("%w: got %d bytes in, %d out", ErrFrameSize, len(in), len(out))
	}
	if law != g711.ULaw && law != g711.ALaw {
		return fmt.Errorf("%w: %d", ErrLaw, law)
	}
	m.take(nil, in, law)
	for b := 0; b < frameBlocks; b++ {
		slot := m.releaseSlot(b)
		o := out[b*blockSamples : (b+1)*blockSamples]
		if !m.flag[slot] && !m.masking && m.fadeOut == 0 && m.payValid[slot] {
			// The usual case: nothing to mask, nothing fading out.
			copy(o, m.payRing[slot][:])
			continue
		}
		if m.release(m.pcmOut[:blockSamples], &m.ring[slot], m.flag[slot]) && m.payValid[slot] {
			copy(o, m.payRing[slot][:])
			continue
		}
		law.Encode(o, m.pcmOut[:blockSamples])
	}
	return nil
}

// take analyses a new frame, linear samples in or a G.711 payload in law,
// and keeps it (and the payload's bytes) for release. A detection marks
// blocks back to the oldest one not yet released.
func (m *Masker) take(in []int16, payload []byte, law g711.Law) {
	oldest := max(m.block-m.la, 0)
	for b := 0; b < frameBlocks; b++ {
		slot := int(m.block % ringBlocks)
		m.payValid[slot] = payload != nil
		if payload != nil {
			p := payload[b*blockSamples : (b+1)*blockSamples]
			law.Decode(m.ring[slot][:], p)
			copy(m.payRing[slot][:], p)
		} else {
			copy(m.ring[slot][:], in[b*blockSamples:(b+1)*blockSamples])
		}
		m.flag[slot] = false
		res := m.det.Block(m.ring[slot][:])
		back := int64(res.Mask)
		if res.Mask > dtmf.MaskBackBlocks {
			// The detector's full reach: the tone may have begun before
			// it, its first windows blurred by speech under it. A look-ahead
			// longer than the reach holds more of it: mask all it holds.
			back = max(back, m.la+1)
		}
		for i := max(m.block-back+1, oldest); i <= m.block; i++ {
			m.flag[i%ringBlocks] = true
		}
		if m.rtpActive || m.block < m.forcedUntil {
			m.flag[slot] = true
		}
		m.block++
		if res.HasEvent {
			m.emit(res.Event)
		}
		m.endOOB()
	}
	m.rtpChange(m.rx.Tick(m.block * blockSamples))
}

// releaseSlot is the ring slot of block b of the frame to release: the
// blocks a frame and the look-ahead before the newest.
func (m *Masker) releaseSlot(b int) int {
	slot := int((m.block - frameBlocks - m.la + int64(b)) % ringBlocks)
	if slot < 0 {
		slot += ringBlocks
	}
	return slot
}

func (m *Masker) emit(ev dtmf.Event) {
	if m.onKey != nil {
		m.onKey(ev)
	}
}

// release writes one block of output. It reports whether the block went
// out untouched.
func (m *Masker) release(out []int16, in *[blockSamples]int16, masked bool) bool {
	if !masked {
		if m.masking {
			m.masking = false
			m.fadeOut = fadeSamples
		}
		if m.fadeOut == 0 {
			copy(out, in[:])
			return true
		}
		for i, v := range in {
			if m.fadeOut > 0 {
				g := fadeTable[fadeSamples-m.fadeOut] // 0 -> 1 for the caller's audio
				r := m.replacement()
				out[i] = int16(float32(v)*g + float32(r)*(1-g))
				m.fadeOut--
				continue
			}
			out[i] = v
		}
		return false
	}
	if !m.masking {
		m.masking = true
		m.phase = 0
		m.fadeOut = 0
	}
	for i := range out {
		r := m.replacement()
		if m.phase <= fadeSamples {
			r = int16(float32(r) * fadeTable[m.phase-1])
		}
		out[i] = r
	}
	return false
}

// replacement returns the next sample of what replaces a key press.
func (m *Masker) replacement() int16 {
	m.phase++
	switch m.mode {
	case ModeSilence:
		return 0
	case ModeNoise:
		m.noise ^= m.noise << 13
		m.noise ^= m.noise >> 17
		m.noise ^= m.noise << 5
		return int16(int32(m.noise%(2*noiseAmp+1)) - noiseAmp)
	default:
		return flatTable[(m.phase-1)%flatPeriod]
	}
}

// TelephoneEvent feeds one RFC 4733 telephone-event payload with its RTP
// timestamp (clock 8000 Hz). The packet is consumed: it is never passed on.
// Each event is reported once as a key press, and listeners hear the flat
// tone for its duration. A malformed payload is an error and changes nothing.
func (m *Masker) TelephoneEvent(ts uint32, payload []byte) error {
	var p rfc4733.Payload
	if err := p.Unmarshal(payload); err != nil {
		return fmt.Errorf("mask: telephone-event: %w", err)
	}
	m.rtpChange(m.rx.Packet(ts, p, m.block*blockSamples))
	return nil
}

// rtpChange acts on what the RFC 4733 receiver reported.
func (m *Masker) rtpChange(c rfc4733.Change) {
	if c.Prev.Kind == rfc4733.End {
		m.rtpEnd(c.Prev)
	}
	switch c.Kind {
	case rfc4733.Start, rfc4733.StartEnd:
		// Mask from now back over everything not yet released, and on
		// until the event ends; the in-band copy, if the sender also
		// plays one, is masked but not reported.
		m.rtpActive = true
		m.rtpStart = max(m.now()-samplesToDuration(int64(c.Duration)), 0)
		for b := max(m.block-m.la, 0); b < m.block; b++ {
			m.flag[b%ringBlocks] = true
		}
		m.det.SuppressFor(1 << 40)
		m.emit(dtmf.Event{Digit: c.Digit, Phase: dtmf.KeyDown, Source: dtmf.SourceRFC4733, Start: m.rtpStart})
		if c.Kind == rfc4733.StartEnd {
			m.rtpEnd(c.Edge)
		}
	case rfc4733.End:
		m.rtpEnd(c.Edge)
	}
}

// rtpEnd ends an RFC 4733 key press: the flat tone lasts at least the
// event's duration, and in-band reports stay off a little longer for the
// tail of any in-band copy.
func (m *Masker) rtpEnd(e rfc4733.Edge) {
	if !m.rtpActive {
		return
	}
	m.rtpActive = false
	end := m.rtpStart + samplesToDuration(int64(e.Duration))
	m.forcedUntil = max(m.forcedUntil, int64(end*SampleRate/time.Second)/blockSamples+1, m.block+2)
	m.det.SuppressFor(40)
	m.emit(dtmf.Event{Digit: e.Digit, Phase: dtmf.KeyUp, Source: dtmf.SourceRFC4733, Start: m.rtpStart, End: max(end, m.rtpStart)})
}

func samplesToDuration(n int64) time.Duration {
	return time.Duration(n) * time.Second / SampleRate
}

// now is the input time line's current position.
func (m *Masker) now() time.Duration {
	return samplesToDuration(m.block * blockSamples)
}

// KeyPress reports a key press that arrived out of band (SIP INFO), lasting
// d. The payment side gets it like any other; listeners hear the flat tone
// for d (at least 40 ms).
func (m *Masker) KeyPress(digit byte, d time.Duration) error {
	if !dtmf.ValidDigit(digit) {
		return fmt.Errorf("%w: %q", ErrDigit, digit)
	}
	if m.oob.active {
		m.oob.endBlock = m.block
		m.endOOB()
	}
	d = max(d, 40*time.Millisecond)
	blocks := int64(d * SampleRate / time.Second / blockSamples)
	start := m.now()
	m.oob = oobKey{active: true, digit: digit, start: start, endBlock: m.block + blocks}
	m.forcedUntil = max(m.forcedUntil, m.block+blocks+1)
	m.det.SuppressFor(blocks + 20)
	m.emit(dtmf.Event{Digit: digit, Phase: dtmf.KeyDown, Source: dtmf.SourceSIPInfo, Start: start})
	return nil
}

// endOOB reports the end of an out-of-band key press whose time is up.
func (m *Masker) endOOB() {
	if !m.oob.active || m.block < m.oob.endBlock {
		return
	}
	m.oob.active = false
	m.emit(dtmf.Event{Digit: m.oob.digit, Phase: dtmf.KeyUp, Source: dtmf.SourceSIPInfo,
		Start: m.oob.start, End: m.now()})
}
