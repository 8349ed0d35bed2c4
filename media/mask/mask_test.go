package mask

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/rfc4733"
)

var keyHz = map[byte][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
}

// addTone adds a key's tone pair to s from start for n samples.
func addTone(s []int16, start, n int, key byte, lowDB, highDB, lowOff, highOff float64, r *rand.Rand) {
	f := keyHz[key]
	al, ah := 22860*math.Pow(10, lowDB/20), 22860*math.Pow(10, highDB/20)
	pl, ph := r.Float64()*2*math.Pi, r.Float64()*2*math.Pi
	for i := 0; i < n; i++ {
		x := float64(i) / SampleRate
		v := float64(s[start+i]) + al*math.Sin(2*math.Pi*f[0]*(1+lowOff)*x+pl) + ah*math.Sin(2*math.Pi*f[1]*(1+highOff)*x+ph)
		s[start+i] = int16(max(-32768, min(32767, math.Round(v))))
	}
}

// speechLike is a deterministic stand-in for a voice: a few drifting
// harmonics under an amplitude envelope, at about -20 dBm0.
func speechLike(n int, r *rand.Rand) []int16 {
	s := make([]int16, n)
	f0 := 110 + r.Float64()*80
	for i := range s {
		t := float64(i) / SampleRate
		env := 0.5 + 0.5*math.Sin(2*math.Pi*3*t)
		pitch := f0 * (1 + 0.05*math.Sin(2*math.Pi*0.7*t))
		var v float64
		for h := 1; h <= 6; h++ {
			v += math.Sin(2*math.Pi*pitch*float64(h)*t) / float64(h)
		}
		s[i] = int16(900 * env * v)
	}
	return s
}

// runMasker feeds s (padded to whole frames, plus enough to drain the
// look-ahead) and returns the output and the key events.
func runMasker(t testing.TB, m *Masker, s []int16) ([]int16, []dtmf.Event) {
	t.Helper()
	var evs []dtmf.Event
	prev := m.onKey
	m.onKey = func(e dtmf.Event) {
		evs = append(evs, e)
		if prev != nil {
			prev(e)
		}
	}
	frames := (len(s)+FrameSamples-1)/FrameSamples + m.LookaheadSamples()/FrameSamples + 1 // and the look-ahead flushed out
	in := make([]int16, frames*FrameSamples)
	copy(in, s)
	out := make([]int16, len(in))
	for f := 0; f < frames; f++ {
		if err := m.Process(out[f*FrameSamples:(f+1)*FrameSamples], in[f*FrameSamples:(f+1)*FrameSamples]); err != nil {
			t.Fatal(err)
		}
	}
	return out, evs
}

// checkToneMasked checks a silence-mode Masker's output out (delayed by la
// samples) of s, which holds one key press key over [start, start+n): no
// sample of the tone came through, everything outside 40 ms before to
// 80 ms after it is untouched, and the key was reported once.
func checkToneMasked(t *testing.T, s, out []int16, evs []dtmf.Event, la, start, n int, key byte) {
	t.Helper()
	for i := start; i < start+n; i++ {
		if out[i+la] != 0 {
			t.Fatalf("key %q at %d: sample %d (%d ms into the tone) came through", key, start, i, (i-start)/8)
		}
	}
	for i := range s {
		if i >= start-320 && i < start+n+640 {
			continue
		}
		if out[i+la] != s[i] {
			t.Fatalf("key %q at %d: speech sample %d changed (%d -> %d)", key, start, i, s[i], out[i+la])
		}
	}
	if got := downs(evs); got != string(key) {
		t.Fatalf("key %q at %d: reported %q", key, start, got)
	}
}

func downs(evs []dtmf.Event) string {
	var b []byte
	for _, e := range evs {
		if e.Phase == dtmf.KeyDown {
			b = append(b, e.Digit)
		}
	}
	return string(b)
}

// TestNoSampleOfAToneGetsThrough starts a tone at every position against
// the frame and block grid, in the hardest valid conditions, and checks every
// one of its samples was replaced (silence mode: replaced means zero), while
// the audio around it comes through bit-exact.
func TestNoSampleOfAToneGetsThrough(t *testing.T) {
	type cond struct {
		name                             string
		ms, lowDB, highDB, lowOff, hiOff float64
	}
	conds := []cond{
		{"nominal", 40, -10, -10, 0, 0},
		{"quiet", 40, -26, -26, 0, 0},
		{"twist -8", 40, -18, -26, 0, 0},
		{"twist +4", 40, -26, -22, 0, 0},
		{"offset", 40, -20, -20, 0.015, -0.015},
		{"loud", 40, 0, 0, 0, 0},
	}
	r := rand.New(rand.NewPCG(7, 7))
	const keys = "0123456789*#ABCD"
	speech := speechLike(9000, r)
	for _, c := range conds {
		t.Run(c.name, func(t *testing.T) {
			for start := 4000; start < 4000+FrameSamples; start += 3 {
				key := keys[start%len(keys)]
				s := append([]int16(nil), speech...)
				n := int(c.ms * 8)
				addTone(s, start, n, key, c.lowDB, c.highDB, c.lowOff, c.hiOff, r)
				m := New(WithMode(ModeSilence))
				out, evs := runMasker(t, m, s)
				checkToneMasked(t, s, out, evs, m.LookaheadSamples(), start, n, key)
			}
		})
	}
}

// TestFlatToneIsTheSameForEveryKey checks a listener hears the identical
// replacement whatever the key.
func TestFlatToneIsTheSameForEveryKey(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var ref []int16
	for _, key := range []byte("0123456789*#ABCD") {
		s := make([]int16, 8000)
		addTone(s, 1600, 800, key, -8, -8, 0, 0, r) // 100 ms
		m := New()
		out, _ := runMasker(t, m, s)
		// the masked run: find its first non-zero sample
		first := -1
		for i, v := range out {
			if v != 0 {
				first = i
				break
			}
		}
		if first < 0 {
			t.Fatalf("key %q: nothing heard", key)
		}
		got := out[first : first+640]
		// It is the flat tone: 500 Hz, -18 dBm0 (past its 2 ms fade-in).
		var ps, pc float64
		for i, v := range got[16:] {
			w := 2 * math.Pi * FlatToneHz * float64(i) / SampleRate
			ps += float64(v) * math.Sin(w)
			pc += float64(v) * math.Cos(w)
		}
		amp := 2 * math.Hypot(ps, pc) / float64(len(got)-16)
		if want := 22860 * math.Pow(10, FlatToneDBm0/20.0); math.Abs(amp-want)/want > 0.05 {
			t.Fatalf("key %q: flat tone amplitude %.0f, want %.0f", key, amp, want)
		}
		if ref == nil {
			ref = append([]int16(nil), got...)
			continue
		}
		for i := range got {
			if got[i] != ref[i] {
				t.Fatalf("key %q: replacement differs from key '0' at sample %d", key, i)
			}
		}
	}
}

func TestModes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name     string
		min, max float64 // rms of the replacement
	}{{"silence", 0, 0}, {"noise", 20, 80}, {"tone", 1900, 2200}} {
		mode, err := ParseMode(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if mode.String() != c.name {
			t.Fatalf("mode %q prints as %q", c.name, mode)
		}
		s := make([]int16, 8000)
		addTone(s, 1600, 800, '5', -8, -8, 0, 0, r)
		m := New(WithMode(mode))
		out, evs := runMasker(t, m, s)
		d := m.LookaheadSamples()
		var sum float64
		for _, v := range out[1600+d+40 : 2400+d-40] {
			sum += float64(v) * float64(v)
		}
		rms := math.Sqrt(sum / 720)
		if rms < c.min || rms > c.max {
			t.Fatalf("%s: replacement rms %.1f, want %v..%v", c.name, rms, c.min, c.max)
		}
		if downs(evs) != "5" {
			t.Fatalf("%s: events %v", c.name, evs)
		}
	}
	if _, err := ParseMode("beep"); !errors.Is(err, ErrMode) {
		t.Fatalf("ParseMode(beep) = %v, want ErrMode", err)
	}
}

func TestBadFrames(t *testing.T) {
	m := New()
	if err := m.Process(make([]int16, 160), make([]int16, 80)); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("short frame: %v", err)
	}
	if err := m.ProcessPayload(make([]byte, 160), make([]byte, 161), g711.ULaw); !errors.Is(err, ErrFrameSize) {
		t.Fatalf("long payload: %v", err)
	}
	if err := m.ProcessPayload(make([]byte, 160), make([]byte, 160), g711.Law(9)); !errors.Is(err, ErrLaw) {
		t.Fatalf("bad law: %v", err)
	}
	if err := m.KeyPress('x', time.Second); !errors.Is(err, ErrDigit) {
		t.Fatalf("bad key: %v", err)
	}
}

// TestPayloadPathIsBitExact: G.711 audio with no key in it comes out
// byte-for-byte, one frame late.
func TestPayloadPathIsBitExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, law := range []g711.Law{g711.ULaw, g711.ALaw} {
		m := New()
		var prev [FrameSamples]byte
		for f := 0; f < 50; f++ {
			var in, out [FrameSamples]byte
			for i := range in {
				in[i] = byte(r.UintN(256))
			}
			if err := m.ProcessPayload(out[:], in[:], law); err != nil {
				t.Fatal(err)
			}
			if f > 0 && out != prev {
				// a random byte stream decodes to noise, never to a key
				t.Fatalf("%v frame %d: output differs from the previous input", law, f)
			}
			prev = in
		}
	}
}

func TestKeyPressOutOfBand(t *testing.T) {
	var evs []dtmf.Event
	m := New(WithKeyEvents(func(e dtmf.Event) { evs = append(evs, e) }))
	in := make([]int16, FrameSamples)
	out := make([]int16, FrameSamples)
	first, last, n := -1, -1, 0
	for f := 0; f < 30; f++ {
		if f == 5 {
			if err := m.KeyPress('#', 100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Process(out, in); err != nil {
			t.Fatal(err)
		}
		for i, v := range out {
			if v != 0 {
				if first < 0 {
					first = n + i
				}
				last = n + i
			}
		}
		n += len(out)
	}
	if len(evs) != 2 || evs[0].Phase != dtmf.KeyDown || evs[1].Phase != dtmf.KeyUp || evs[0].Digit != '#' || evs[0].Source != dtmf.SourceSIPInfo {
		t.Fatalf("events %+v", evs)
	}
	if d := evs[1].End - evs[1].Start; d < 100*time.Millisecond || d > 110*time.Millisecond {
		t.Fatalf("key lasted %v, want 100 ms", d)
	}
	// The listener heard the flat tone for about 100 ms.
	if heard := last - first + 1; heard < 760 || heard > 1000 {
		t.Fatalf("flat tone heard for %d samples, want about 800", heard)
	}
}

// TestProcessAllocatesNothing: no frame allocates, at the default
// look-ahead and at the longest (the ring is sized for the longest).
func TestProcessAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	s := speechLike(FrameSamples*200, r)
	for k := 0; k < 10; k++ {
		addTone(s, 2000+k*2400, 800, "0123456789"[k], -10, -10, 0, 0, r)
	}
	for _, la := range []time.Duration{DefaultLookahead, MaxLookahead} {
		t.Run(la.String(), func(t *testing.T) {
			var in, out [FrameSamples]byte
			m := New(WithLookahead(la), WithKeyEvents(func(dtmf.Event) {}))
			f := 0
			allocs := testing.AllocsPerRun(1000, func() {
				g711.EncodeULawTo(in[:], s[(f%200)*FrameSamples:])
				f++
				if err := m.ProcessPayload(out[:], in[:], g711.ULaw); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("%.1f allocations per frame, want 0", allocs)
			}
		})
	}
}

// TestRFC4733KeysSoundLikeInBandKeys: a key sent only as telephone-events
// is reported once and heard as the flat tone for its duration; repeated end
// packets, a lost marker bit and an in-band copy of the same key change
// nothing.
func TestRFC4733KeysSoundLikeInBandKeys(t *testing.T) {
	const dur = 1600 // 200 ms at 8 kHz
	for _, c := range []struct {
		name     string
		inband   bool // the sender also plays the tone in the audio
		loseEnds bool // every end packet is lost: the event times out
	}{{"events only", false, false}, {"events and in-band copy", true, false}, {"end packets lost", false, true}} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(11, 12))
			audio := speechLike(FrameSamples*60, r)
			ts0 := uint32(123456)
			startFrame := 20
			if c.inband {
				addTone(audio, startFrame*FrameSamples, dur, '7', -10, -10, 0, 0, r)
			}
			var evs []dtmf.Event
			m := New(WithMode(ModeSilence), WithKeyEvents(func(e dtmf.Event) { evs = append(evs, e) }))
			out := make([]int16, len(audio))
			for f := 0; f < 60; f++ {
				if err := m.Process(out[f*FrameSamples:(f+1)*FrameSamples], audio[f*FrameSamples:(f+1)*FrameSamples]); err != nil {
					t.Fatal(err)
				}
				// One event packet per 20 ms of the key, sent when that
				// 20 ms is over, then three end packets.
				if f < startFrame || f > startFrame+dur/FrameSamples+1 {
					continue
				}
				d := (f - startFrame + 1) * FrameSamples
				end := d >= dur
				if end && c.loseEnds {
					continue
				}
				p := rfc4733.Payload{Event: 7, End: end, Volume: 10, Duration: uint16(min(d, dur))}
				b, err := p.Marshal()
				if err != nil {
					t.Fatal(err)
				}
				if err := m.TelephoneEvent(ts0, b); err != nil {
					t.Fatal(err)
				}
			}
			if len(evs) != 2 || evs[0].Phase != dtmf.KeyDown || evs[0].Digit != '7' || evs[0].Source != dtmf.SourceRFC4733 || evs[1].Phase != dtmf.KeyUp {
				t.Fatalf("events %+v, want one RFC 4733 key press", evs)
			}
			// The listener heard the replacement (silence here) for at
			// least the event's 200 ms, where the key was.
			d := m.LookaheadSamples()
			for i := startFrame * FrameSamples; i < startFrame*FrameSamples+dur; i++ {
				if out[i+d] != 0 {
					t.Fatalf("sample %d of the key's 200 ms came through", i-startFrame*FrameSamples)
				}
			}
		})
	}
	m := New()
	if err := m.TelephoneEvent(1, []byte{1, 2}); !errors.Is(err, rfc4733.ErrShortPayload) {
		t.Fatalf("short payload: %v", err)
	}
}

// TestPayloadInPlace: ProcessPayload may write over its input.
func TestPayloadInPlace(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	s := speechLike(FrameSamples*40, r)
	addTone(s, 3000, 800, '9', -10, -10, 0, 0, r)
	a, b := New(), New()
	for f := 0; f < 40; f++ {
		var in, out [FrameSamples]byte
		g711.EncodeULawTo(in[:], s[f*FrameSamples:])
		buf := in
		if err := a.ProcessPayload(out[:], in[:], g711.ULaw); err != nil {
			t.Fatal(err)
		}
		if err := b.ProcessPayload(buf[:], buf[:], g711.ULaw); err != nil {
			t.Fatal(err)
		}
		if buf != out {
			t.Fatalf("frame %d: in-place output differs", f)
		}
	}
}
