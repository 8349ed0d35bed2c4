package dtmf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// keyFreqs returns the nominal frequencies of a key.
func keyFreqs(t testing.TB, digit byte) (float64, float64) {
	t.Helper()
	for l := 0; l < 4; l++ {
		for h := 0; h < 4; h++ {
			if keypad[l][h] == digit {
				return lowHz[l], highHz[h]
			}
		}
	}
	t.Fatalf("no key %q", digit)
	return 0, 0
}

// press describes one synthetic key press.
type press struct {
	digit         byte
	ms, gapMs     float64 // duration, silence after
	lowDB, highDB float64 // dBm0 per frequency
	lowOff, hiOff float64 // relative frequency error
}

// synth renders presses after lead ms of silence, with white noise at
// noiseDB dBm0 (mean square) if noiseDB > -100, through one G.711-like
// rounding to int16.
func synth(t testing.TB, seed uint64, leadMs float64, noiseDB float64, presses ...press) []int16 {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var out []float64
	pad := func(ms float64) {
		for i := 0; i < int(ms*8); i++ {
			out = append(out, 0)
		}
	}
	pad(leadMs)
	for _, p := range presses {
		fl, fh := keyFreqs(t, p.digit)
		fl *= 1 + p.lowOff
		fh *= 1 + p.hiOff
		al := 22860 * math.Pow(10, p.lowDB/20)
		ah := 22860 * math.Pow(10, p.highDB/20)
		pl, ph := r.Float64()*2*math.Pi, r.Float64()*2*math.Pi
		n := int(math.Round(p.ms * 8))
		for i := 0; i < n; i++ {
			x := float64(i)
			out = append(out, al*math.Sin(2*math.Pi*fl*x/8000+pl)+ah*math.Sin(2*math.Pi*fh*x/8000+ph))
		}
		pad(p.gapMs)
	}
	pad(100)
	s := make([]int16, len(out))
	sigma := 22860 / math.Sqrt2 * math.Pow(10, noiseDB/20)
	for i, v := range out {
		if noiseDB > -100 {
			v += r.NormFloat64() * sigma
		}
		s[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return s
}

// run feeds samples through a detector and returns the digits reported on
// KeyDown, and checks every KeyDown has its KeyUp.
func run(t testing.TB, s []int16) string {
	t.Helper()
	d := NewDetector()
	var got strings.Builder
	down := false
	for i := 0; i+BlockSamples <= len(s); i += BlockSamples {
		r := d.Block(s[i : i+BlockSamples])
		if !r.HasEvent {
			continue
		}
		switch r.Event.Phase {
		case KeyDown:
			if down {
				t.Fatalf("KeyDown %q while a key is down", r.Event.Digit)
			}
			down = true
			got.WriteByte(r.Event.Digit)
		case KeyUp:
			if !down {
				t.Fatalf("KeyUp %q with no key down", r.Event.Digit)
			}
			down = false
			if r.Event.End <= r.Event.Start {
				t.Fatalf("KeyUp ends before it starts: %v..%v", r.Event.Start, r.Event.End)
			}
		}
	}
	if down {
		t.Fatalf("a key is still down at the end")
	}
	return got.String()
}

func TestDetectorSpecLimits(t *testing.T) {
	const all = "0123456789*#ABCD"
	type tc struct {
		name string
		p    press
		want bool
	}
	var cases []tc
	add := func(name string, want bool, p press) { cases = append(cases, tc{name, p, want}) }
	for _, db := range []float64{-26, -20, -10, -3, 0} {
		add(fmt.Sprintf("40ms at %v dBm0", db), true, press{ms: 40, gapMs: 40, lowDB: db, highDB: db})
	}
	add("twist +4 dB", true, press{ms: 40, gapMs: 40, lowDB: -20, highDB: -16})
	add("twist -8 dB", true, press{ms: 40, gapMs: 40, lowDB: -16, highDB: -24})
	add("twist +4 dB, weak tone at -26", true, press{ms: 40, gapMs: 40, lowDB: -26, highDB: -22})
	add("twist -8 dB, weak tone at -26", true, press{ms: 40, gapMs: 40, lowDB: -18, highDB: -26})
	for _, off := range [][2]float64{{0.015, 0.015}, {-0.015, -0.015}, {0.015, -0.015}, {-0.015, 0.015}} {
		add(fmt.Sprintf("offset %+.1f%%/%+.1f%%", off[0]*100, off[1]*100), true, press{ms: 40, gapMs: 40, lowDB: -12, highDB: -12, lowOff: off[0], hiOff: off[1]})
	}
	for _, off := range [][2]float64{{0.035, 0}, {-0.035, 0}, {0, 0.035}, {0, -0.035}, {0.05, 0.05}} {
		add(fmt.Sprintf("off tolerance %+.1f%%/%+.1f%%", off[0]*100, off[1]*100), false, press{ms: 80, gapMs: 40, lowDB: -10, highDB: -10, lowOff: off[0], hiOff: off[1]})
	}
	for _, ms := range []float64{10, 18, 22} {
		add(fmt.Sprintf("%v ms is too short", ms), false, press{ms: ms, gapMs: 60, lowDB: -6, highDB: -6})
	}
	add("2 s held", true, press{ms: 2000, gapMs: 40, lowDB: -10, highDB: -10})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := 0; i < len(all); i++ {
				// several alignments against the block grid
				for shift := 0.0; shift < 5; shift += 1.3 {
					p := c.p
					p.digit = all[i]
					got := run(t, synth(t, uint64(i), 37+shift, -100, p))
					want := ""
					if c.want {
						want = string(all[i])
					}
					if got != want {
						t.Fatalf("key %q shifted %.1f ms: got %q, want %q", all[i], shift, got, want)
					}
				}
			}
		})
	}
}

func TestDetectorFastDialling(t *testing.T) {
	// 16 keys at the fastest valid rate, including repeats, at the weakest
	// level, with noise 15 dB under the tones.
	keys := "11223344556677889900**##AABBCCDD"
	var ps []press
	for i := 0; i < len(keys); i++ {
		ps = append(ps, press{digit: keys[i], ms: 40, gapMs: 40, lowDB: -23, highDB: -23})
	}
	// two -23 dBm0 tones: -20 dBm0 together; noise at -35 dBm0.
	for seed := uint64(0); seed < 4; seed++ {
		if got := run(t, synth(t, seed, 33+float64(seed), -35, ps...)); got != keys {
			t.Fatalf("seed %d: got %q, want %q", seed, got, keys)
		}
	}
}

func TestDetectorWorstValidTone(t *testing.T) {
	// Every limit at once: 40 ms, the weak tone at -26 dBm0 with the other
	// 8 dB above it or 4 dB below... both frequencies 1.5 % off, noise 15 dB
	// under the weaker tone.
	for _, c := range []press{
		{ms: 40, gapMs: 40, lowDB: -18, highDB: -26, lowOff: 0.015, hiOff: -0.015},
		{ms: 40, gapMs: 40, lowDB: -26, highDB: -22, lowOff: -0.015, hiOff: 0.015},
		{ms: 40, gapMs: 40, lowDB: -26, highDB: -26, lowOff: 0.015, hiOff: 0.015},
	} {
		for i := 0; i < len(Digits); i++ {
			c.digit = Digits[i]
			for seed := uint64(0); seed < 3; seed++ {
				got := run(t, synth(t, seed+uint64(i)*7, 31+float64(seed)*1.7, min(c.lowDB, c.highDB)-15, c))
				if got != string(c.digit) {
					t.Fatalf("%+v seed %d: got %q", c, seed, got)
				}
			}
		}
	}
}

func TestDetectorShortTonesNeverReported(t *testing.T) {
	for _, ms := range []float64{5, 10, 15, 20, 23} {
		for _, db := range []float64{-20, -10, 0} {
			for i := 0; i < len(Digits); i++ {
				for seed := uint64(0); seed < 3; seed++ {
					p := press{digit: Digits[i], ms: ms, gapMs: 60, lowDB: db, highDB: db}
					if got := run(t, synth(t, seed, 30+float64(seed)*1.9, db-20, p)); got != "" {
						t.Fatalf("%v ms at %v dBm0, key %q: reported %q", ms, db, Digits[i], got)
					}
				}
			}
		}
	}
}

// FuzzDetector feeds arbitrary audio: the detector never panics, masks at
// most MaskBackBlocks+1 blocks back, and pairs every KeyDown with one KeyUp
// of the same digit.
func FuzzDetector(f *testing.F) {
	f.Add([]byte{0, 0, 1, 1})
	tone := synth(f, 1, 5, -40, press{digit: '5', ms: 60, gapMs: 10, lowDB: -10, highDB: -10})
	b := make([]byte, 2*len(tone))
	for i, v := range tone {
		b[2*i], b[2*i+1] = byte(v), byte(v>>8)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, raw []byte) {
		s := make([]int16, len(raw)/2)
		for i := range s {
			s[i] = int16(uint16(raw[2*i]) | uint16(raw[2*i+1])<<8)
		}
		d := NewDetector()
		var down byte
		for i := 0; i+BlockSamples <= len(s)+BlockSamples*8; i += BlockSamples {
			var blk [BlockSamples]int16
			if i < len(s) {
				copy(blk[:], s[i:])
			}
			r := d.Block(blk[:])
			if r.Mask < 0 || r.Mask > MaskBackBlocks+1 {
				t.Fatalf("mask %d", r.Mask)
			}
			if !r.HasEvent {
				continue
			}
			if !ValidDigit(r.Event.Digit) {
				t.Fatalf("digit %q", r.Event.Digit)
			}
			switch r.Event.Phase {
			case KeyDown:
				if down != 0 {
					t.Fatal("two KeyDowns")
				}
				down = r.Event.Digit
			case KeyUp:
				if down != r.Event.Digit {
					t.Fatalf("KeyUp %q after KeyDown %q", r.Event.Digit, down)
				}
				down = 0
			}
		}
		if down != 0 {
			t.Fatal("key left down after silence")
		}
		if r := d.Block(s[:min(len(s), 3)]); r.Mask != 0 || r.HasEvent {
			t.Fatal("a short block did something")
		}
	})
}
