package engine

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushphone/hushphone/media/mix"
)

// Device is the agent's Audio on real sound devices (miniaudio through
// malgo): a microphone and a speaker, each opened at its own native rate
// (48 kHz typically), as mono float32.
//
// What it does:
//   - resamples between the device rate and the engine's 8 kHz with a
//     polyphase FIR low-pass (flat to 3.6 kHz, 70 dB down from 4 kHz), in
//     the device callback for the microphone and the speaker alike;
//   - keeps a bounded buffer of 8 kHz audio in each direction between the
//     device callback and the engine's 20 ms frames: it starts once it
//     holds the target latency, an underrun plays or sends silence (and
//     waits for the target again), an overrun drops the oldest audio down
//     to the target; both are counted (Stats);
//   - mutes the microphone (SetMute), meters both directions (MicLevel,
//     SpeakerLevel: peak and RMS in dBFS over 50 ms, safe to read from any
//     goroutine, and running outside calls too, for a device-check screen),
//     and plays a test tone to the speaker (PlayTone);
//   - allocates nothing in the device callbacks or in Mic and Speaker.
//
// What it does not do: echo cancellation, noise suppression, automatic
// gain, clock-drift correction beyond dropping audio when a buffer is full,
// following the system's default device when it changes, or reopening a
// device that was unplugged (the app closes the Device and opens a new
// one). One call's audio at a time: overlapping calls share the one
// microphone and speaker stream. Audio outside calls is metered, not
// buffered.
type Device struct {
	micRate, spkRate int
	micName, spkName string
	log              *slog.Logger

	muted  atomic.Bool
	calls  atomic.Int32
	closed atomic.Bool

	capMu   sync.Mutex // the microphone's resampler and buffer
	down    *resampler
	capOut  []float32
	capPCM  []int16
	mic     sampleRing
	micSeen uint64

	spkMu   sync.Mutex // the speaker's buffer, resampler and test tone
	up      *resampler
	spkPCM  []int16
	spkIn   []float32
	stage   []float32 // resampled speaker audio not yet played
	stageR  int
	stageN  int
	spk     sampleRing
	spkSeen uint64
	tone    testTone

	micMeter, spkMeter meter

	closeOnce sync.Once
	closeErr  error
	shutdown  func() error // stops and frees the sound devices
}

// DeviceInfo is one sound device, for a microphone or speaker choice.
type DeviceInfo struct {
	ID      string `json:"id"` // give it back to WithMicrophone or WithSpeaker
	Name    string `json:"name"`
	Default bool   `json:"default"` // the system's default device
}

// Level is a meter reading in dBFS (0 is full scale), MinDBFS at most
// silence, so that it encodes as JSON.
type Level struct {
	Peak float64 `json:"peak"`
	RMS  float64 `json:"rms"`
}

// MinDBFS is the meters' floor: silence reads as this.
const MinDBFS = -100.0

// BufferStats is one direction's buffer between the device and the
// engine's 20 ms frames, since the Device opened. Samples are at 8 kHz.
type BufferStats struct {
	Frames    uint64        `json:"frames"`    // 20 ms frames taken by Mic or given to Speaker
	Buffered  time.Duration `json:"buffered"`  // audio waiting in the buffer now
	Target    time.Duration `json:"target"`    // what the buffer fills to before it plays
	Max       time.Duration `json:"max"`       // its bound
	Underruns uint64        `json:"underruns"` // times it ran dry in a call: silence instead
	Overruns  uint64        `json:"overruns"`  // times it was full: the oldest audio dropped
	Dropped   uint64        `json:"dropped"`   // samples dropped by overruns
}

// DeviceStats is both directions' buffers.
type DeviceStats struct {
	Mic     BufferStats `json:"mic"`
	Speaker BufferStats `json:"speaker"`
}

// DeviceOption configures OpenDevice and ListDevices.
type DeviceOption func(*deviceOptions)

type deviceOptions struct {
	mic, speaker string
	rate         int
	target, max  time.Duration
	null         bool
	log          *slog.Logger
}

// WithMicrophone opens the microphone with this ID (from ListDevices)
// instead of the system's default.
func WithMicrophone(id string) DeviceOption { return func(o *deviceOptions) { o.mic = id } }

// WithSpeaker opens the speaker with this ID (from ListDevices) instead of
// the system's default.
func WithSpeaker(id string) DeviceOption { return func(o *deviceOptions) { o.speaker = id } }

// WithDeviceRate runs both devices at hz instead of their native rate
// (tests; hardware whose native rate is odd).
func WithDeviceRate(hz int) DeviceOption { return func(o *deviceOptions) { o.rate = hz } }

// WithBuffer sets each direction's buffer: it fills to target before it
// plays and holds at most max (defaults 40 ms and 120 ms).
func WithBuffer(target, maximum time.Duration) DeviceOption {
	return func(o *deviceOptions) { o.target, o.max = target, maximum }
}

// WithNullDevices uses miniaudio's null backend: a silent microphone and a
// speaker that discards, both running in real time with no sound card
// (tests, CI).
func WithNullDevices() DeviceOption { return func(o *deviceOptions) { o.null = true } }

// WithDeviceLogger logs the devices' state changes (opened, stopped).
func WithDeviceLogger(l *slog.Logger) DeviceOption { return func(o *deviceOptions) { o.log = l } }

func newDeviceOptions(opts []DeviceOption) deviceOptions {
	o := deviceOptions{target: 40 * time.Millisecond, max: 120 * time.Millisecond}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

// ListDevices lists the microphones and speakers that OpenDevice can use.
// Having none is not an error; having no sound system at all is.
func ListDevices(opts ...DeviceOption) (mics, speakers []DeviceInfo, err error) {
	return listDevices(newDeviceOptions(opts))
}

// OpenDevice opens and starts a microphone and a speaker (the system's
// defaults unless chosen with WithMicrophone and WithSpeaker). Close it
// when done. Errors wrap ErrAudio.
func OpenDevice(opts ...DeviceOption) (*Device, error) {
	o := newDeviceOptions(opts)
	if o.target < 20*time.Millisecond || o.max < o.target+20*time.Millisecond || o.max > 2*time.Second {
		return nil, fmt.Errorf("%w: a buffer of target %v and max %v: the target must be 20 ms or more and the max at least 20 ms more, at most 2 s", ErrAudio, o.target, o.max)
	}
	if o.rate != 0 && (o.rate < 8000 || o.rate > 384000) {
		return nil, fmt.Errorf("%w: a device rate of %d Hz: give 8000 to 384000", ErrAudio, o.rate)
	}
	return openDevice(o)
}

// newDevice builds the processing between devices running at micRate and
// spkRate and the engine; the backend starts calling captured and render
// after it.
func newDevice(micRate, spkRate int, o deviceOptions) (*Device, error) {
	down, err := newResampler(micRate, 8000)
	if err != nil {
		return nil, err
	}
	up, err := newResampler(8000, spkRate)
	if err != nil {
		return nil, err
	}
	target, maxN := int(o.target/time.Millisecond)*8, int(o.max/time.Millisecond)*8
	d := &Device{
		micRate: micRate, spkRate: spkRate, log: o.log,
		down: down, capOut: make([]float32, down.maxOut(captureChunk)), capPCM: make([]int16, down.maxOut(captureChunk)),
		up: up, spkPCM: make([]int16, renderChunk), spkIn: make([]float32, renderChunk), stage: make([]float32, up.maxOut(renderChunk)),
		micMeter: newMeter(micRate), spkMeter: newMeter(spkRate),
		shutdown: func() error { return nil },
	}
	d.mic.init(target, maxN)
	d.spk.init(target, maxN)
	return d, nil
}

const (
	captureChunk = 1024             // device samples resampled at a time
	renderChunk  = mix.FrameSamples // 8 kHz samples resampled at a time: a frame
)

// Mic gives the agent's next 20 ms at 8 kHz: silence while muted, before
// the buffer has filled, or when it ran dry.
func (d *Device) Mic(frame []int16) {
	d.capMu.Lock()
	d.mic.read(frame)
	d.micSeen++
	d.capMu.Unlock()
	if d.muted.Load() {
		clear(frame)
	}
}

// Speaker queues 20 ms at 8 kHz for the speaker.
func (d *Device) Speaker(frame []int16) {
	d.spkMu.Lock()
	d.spk.write(frame)
	d.spkSeen++
	d.spkMu.Unlock()
}

// CallStarted starts buffering both directions, from empty.
func (d *Device) CallStarted(string) {
	if d.calls.Add(1) == 1 {
		d.flush()
	}
}

// CallEnded stops buffering once no call is left, dropping what waits.
func (d *Device) CallEnded(string) {
	if d.calls.Add(-1) == 0 {
		d.flush()
	}
}

func (d *Device) flush() {
	d.capMu.Lock()
	d.mic.reset()
	d.down.reset()
	d.capMu.Unlock()
	d.spkMu.Lock()
	d.spk.reset()
	d.up.reset()
	d.stageR, d.stageN = 0, 0
	d.spkMu.Unlock()
}

// SetMute mutes or unmutes the microphone: muted, Mic gives silence (the
// mic meter still shows what the microphone hears).
func (d *Device) SetMute(muted bool) { d.muted.Store(muted) }

// Muted reports whether the microphone is muted.
func (d *Device) Muted() bool { return d.muted.Load() }

// MicLevel is what the microphone hears, before mute, over the last 50 ms.
func (d *Device) MicLevel() Level { return d.micMeter.level() }

// SpeakerLevel is what the speaker plays (the call and any test tone) over
// the last 50 ms.
func (d *Device) SpeakerLevel() Level { return d.spkMeter.level() }

// PlayTone plays a sine of hz to the speaker for dur at -12 dBFS, with
// 5 ms fades, over any call audio; it returns at once and replaces any
// tone playing. For the device-check screen: PlayTone(440, time.Second).
func (d *Device) PlayTone(hz float64, dur time.Duration) error {
	if !(hz >= 20 && hz < float64(d.spkRate)/2) || dur <= 0 || dur > time.Minute {
		return fmt.Errorf("%w: a test tone of %g Hz for %v: give 20 Hz to %d Hz, for up to a minute", ErrAudio, hz, dur, d.spkRate/2)
	}
	if d.closed.Load() {
		return fmt.Errorf("%w: the device is closed", ErrAudio)
	}
	d.spkMu.Lock()
	d.tone.start(hz, dur, d.spkRate)
	d.spkMu.Unlock()
	return nil
}

// Stats reports both buffers.
func (d *Device) Stats() DeviceStats {
	var s DeviceStats
	d.capMu.Lock()
	s.Mic = d.mic.stats(d.micSeen)
	d.capMu.Unlock()
	d.spkMu.Lock()
	s.Speaker = d.spk.stats(d.spkSeen)
	d.spkMu.Unlock()
	return s
}

// Rates are the devices' sample rates in Hz.
func (d *Device) Rates() (mic, speaker int) { return d.micRate, d.spkRate }

// Names are the opened devices' names.
func (d *Device) Names() (mic, speaker string) { return d.micName, d.spkName }

// Close stops both devices and frees them; the Device then gives silence.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.closed.Store(true)
		d.closeErr = d.shutdown()
	})
	return d.closeErr
}

// captured takes what the microphone recorded, at micRate (the device
// callback).
func (d *Device) captured(x []float32) {
	d.micMeter.add(x)
	if d.calls.Load() == 0 {
		return
	}
	d.capMu.Lock()
	for len(x) > 0 {
		n := min(len(x), captureChunk)
		m := d.down.process(x[:n], d.capOut)
		for i, v := range d.capOut[:m] {
			d.capPCM[i] = toPCM(v)
		}
		d.mic.write(d.capPCM[:m])
		x = x[n:]
	}
	d.capMu.Unlock()
}

// render fills out with what the speaker plays next, at spkRate (the
// device callback).
func (d *Device) render(out []float32) {
	d.spkMu.Lock()
	if d.calls.Load() == 0 {
		clear(out)
	} else {
		w := 0
		for w < len(out) {
			if d.stageR < d.stageN {
				k := copy(out[w:], d.stage[d.stageR:d.stageN])
				w += k
				d.stageR += k
				continue
			}
			need := len(out) - w
			n := min(max((need*d.up.down+d.up.up-1)/d.up.up, 1), renderChunk)
			pcm := d.spkPCM[:n]
			d.spk.read(pcm)
			for i, v := range pcm {
				d.spkIn[i] = float32(v) / 32768
			}
			d.stageN = d.up.process(d.spkIn[:n], d.stage)
			d.stageR = 0
		}
	}
	d.tone.mix(out)
	d.spkMu.Unlock()
	d.spkMeter.add(out)
}

func toPCM(v float32) int16 {
	s := v * 32768
	switch {
	case s >= 32767:
		return 32767
	case s <= -32768:
		return -32768
	}
	return int16(math.Round(float64(s)))
}

// sampleRing is a bounded FIFO of 8 kHz samples that plays once it holds
// target samples, gives silence when it runs dry (then waits for target
// again) and, when a write would overfill it, drops its oldest samples
// down to target. Not safe for concurrent use.
type sampleRing struct {
	buf                 []int16
	r, n                int
	target              int
	playing             bool
	underruns, overruns uint64
	dropped             uint64
}

func (q *sampleRing) init(target, capacity int) {
	q.buf = make([]int16, capacity)
	q.target = target
}

func (q *sampleRing) write(p []int16) {
	c := len(q.buf)
	if q.n+len(p) > c {
		// Full (the producer's clock runs fast, or a burst): drop the
		// oldest down to the target, so latency goes back to it rather
		// than staying at the bound.
		keep := max(q.target, min(len(p), c))
		drop := q.n + len(p) - keep
		q.overruns++
		q.dropped += uint64(drop)
		old := min(drop, q.n)
		q.r = (q.r + old) % c
		q.n -= old
		p = p[drop-old:]
	}
	w := (q.r + q.n) % c
	k := copy(q.buf[w:], p)
	copy(q.buf, p[k:])
	q.n += len(p)
}

func (q *sampleRing) read(p []int16) {
	if !q.playing {
		if q.n < q.target {
			clear(p)
			return
		}
		q.playing = true
	}
	c := len(q.buf)
	k := min(len(p), q.n)
	got := copy(p[:k], q.buf[q.r:])
	copy(p[got:k], q.buf)
	q.r = (q.r + k) % c
	q.n -= k
	if k < len(p) {
		clear(p[k:])
		q.underruns++
		q.playing = false
	}
}

func (q *sampleRing) reset() {
	q.r, q.n, q.playing = 0, 0, false
}

func (q *sampleRing) stats(frames uint64) BufferStats {
	return BufferStats{
		Frames:    frames,
		Buffered:  time.Duration(q.n) * time.Second / 8000,
		Target:    time.Duration(q.target) * time.Second / 8000,
		Max:       time.Duration(len(q.buf)) * time.Second / 8000,
		Underruns: q.underruns, Overruns: q.overruns, Dropped: q.dropped,
	}
}

// meter measures peak and RMS over windows of 50 ms; add runs on one
// goroutine (the device callback), level on any.
type meter struct {
	window, n   int
	peak, sumSq float64
	last        atomic.Uint64 // float32 bits: peak high, RMS low
}

func newMeter(rate int) meter { return meter{window: rate / 20} }

func (m *meter) add(x []float32) {
	for _, v := range x {
		a := math.Abs(float64(v))
		m.peak = max(m.peak, a)
		m.sumSq += a * a
		m.n++
		if m.n == m.window {
			rms := math.Sqrt(m.sumSq / float64(m.n))
			m.last.Store(uint64(math.Float32bits(float32(m.peak)))<<32 | uint64(math.Float32bits(float32(rms))))
			m.peak, m.sumSq, m.n = 0, 0, 0
		}
	}
}

func (m *meter) level() Level {
	v := m.last.Load()
	return Level{Peak: dBFS(float64(math.Float32frombits(uint32(v >> 32)))), RMS: dBFS(float64(math.Float32frombits(uint32(v))))}
}

// dBFS is an amplitude (1: full scale) in dBFS, MinDBFS at the least.
func dBFS(a float64) float64 {
	if a <= 0 {
		return MinDBFS
	}
	return max(20*math.Log10(a), MinDBFS)
}

// testTone is the test tone's oscillator.
type testTone struct {
	step, phase float64
	pos, left   int
	ramp        int
}

const testToneAmp = 0.25 // -12 dBFS

func (t *testTone) start(hz float64, dur time.Duration, rate int) {
	t.step = 2 * math.Pi * hz / float64(rate)
	t.phase, t.pos = 0, 0
	t.left = int(dur.Seconds() * float64(rate))
	t.ramp = max(rate/200, 1)
}

func (t *testTone) mix(out []float32) {
	for i := range out {
		if t.left == 0 {
			return
		}
		g := min(1, float64(t.pos)/float64(t.ramp), float64(t.left)/float64(t.ramp))
		out[i] += float32(testToneAmp * g * math.Sin(t.phase))
		t.phase += t.step
		if t.phase > 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
		t.pos++
		t.left--
	}
}
