package maskscore

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// loadCase loads a corpus case, skipping the test when there is no corpus.
func loadCase(t testing.TB, name string) *Case {
	t.Helper()
	dir, err := CorpusDir()
	if errors.Is(err, ErrNoCorpus) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadCase(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A synthetic masker: what a listener hears for the case, before the delay.
type masker func(c *Case) []int16

func dBm0Amp(dbm0 float64) float64 { return dBm0Peak * math.Pow(10, dbm0/20) }

// flat writes a replacement tone over y[a:b] (nil repl writes silence).
func flat(y []int16, a, b int, hz, dbm0 float64) {
	for i := a; i < b; i++ {
		v := 0.0
		if hz > 0 {
			v = dBm0Amp(dbm0) * math.Sin(2*math.Pi*hz*float64(i-a)/SampleRate)
		}
		y[i] = int16(math.Round(v))
	}
}

// passFirst lets the first ms of every tone through (scaled by gain) and
// replaces the rest with a tone of hz (0: silence).
func passFirst(ms float64, gain, hz float64) masker {
	return func(c *Case) []int16 {
		y := append([]int16(nil), c.Samples...)
		for _, t := range c.Tones {
			if t.Expect == ExpectReject {
				continue
			}
			n := min(t.Start+int(math.Round(ms*SampleRate/1000)), t.End)
			for i := t.Start; i < n; i++ {
				y[i] = int16(math.Round(float64(y[i]) * gain))
			}
			flat(y, n, t.End, hz, -10)
		}
		return y
	}
}

// noLookAhead is a per-frame masker without look-ahead: it can replace only
// frames after the one in which its detector (here 40 ms after the tone's
// start) fires, up to the end of the frame holding the tone's end.
func noLookAhead(c *Case) []int16 {
	y := append([]int16(nil), c.Samples...)
	for _, t := range c.Tones {
		if t.Expect == ExpectReject {
			continue
		}
		a := (t.Start + 320 + 159) / 160 * 160
		b := min((t.End+159)/160*160, len(y))
		if a < b {
			flat(y, a, b, 500, -10)
		}
	}
	return y
}

func TestScoreCalibration(t *testing.T) {
	c := loadCase(t, "nominal")
	const delay = 160
	tests := []struct {
		name     string
		m        masker
		lo, hi   float64 // worst leak, dB
		flatTone string  // "yes", "no", or "" for either
	}{
		{"pass-through", passFirst(1e9, 1, 0), -0.5, 0.5, "no"},
		{"no look-ahead", noLookAhead, -0.5, 0.5, "no"},
		{"pass 5 ms", passFirst(5, 1, 500), -8, -3, ""},
		{"pass 1 ms", passFirst(1, 1, 500), -20, -10, "yes"},
		{"pass 5 ms at -20 dB", passFirst(5, 0.1, 500), -28, -23, "yes"},
		{"pass 5 ms then silence", passFirst(5, 1, 0), -8, -3, "no"},
		{"replace with 500 Hz", passFirst(0, 1, 500), LeakFloorDB, -60, "yes"},
		{"replace with silence", passFirst(0, 1, 0), LeakFloorDB, LeakFloorDB, "no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := Delayed(tt.m(c), delay)
			r, err := Score(c.Samples, out, c.Tones, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %v", tt.name, r)
			if r.Delay != delay {
				t.Errorf("delay %d, want %d", r.Delay, delay)
			}
			if r.WorstLeakDB < tt.lo || r.WorstLeakDB > tt.hi {
				t.Errorf("worst leak %.2f dB, want in [%.1f, %.1f]", r.WorstLeakDB, tt.lo, tt.hi)
			}
			if r.SpeechSNRDB < 100 {
				t.Errorf("speech SNR %.1f dB, want huge: the maskers keep speech exactly", r.SpeechSNRDB)
			}
			if tt.flatTone != "" && r.FlatTone.Present != (tt.flatTone == "yes") {
				t.Errorf("flat tone present = %v, want %s", r.FlatTone.Present, tt.flatTone)
			}
			if tt.flatTone == "yes" {
				f := r.FlatTone
				if math.Abs(f.FreqHz-500) > 0.2 || f.Spread.FreqHz > 0.2 || math.Abs(f.LevelDBm0+10) > 0.5 || f.Spread.LevelDB > 0.5 {
					t.Errorf("flat tone %.3f Hz %.2f dBm0, spread %+v; want 500 Hz -10 dBm0, no spread", f.FreqHz, f.LevelDBm0, f.Spread)
				}
			}
		})
	}
}

func TestDelay(t *testing.T) {
	c := loadCase(t, "overlap")
	for _, d := range []int{0, 1, 123, 320, 400} {
		r, err := Score(c.Samples, Delayed(c.Samples, d), c.Tones, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Delay != d || r.DelayCorr < 0.999 {
			t.Errorf("delay %d (corr %.4f), want %d", r.Delay, r.DelayCorr, d)
		}
	}
}

func TestSpeechSNR(t *testing.T) {
	c := loadCase(t, "nominal")
	const delay = 200
	r, err := Score(c.Samples, Delayed(c.Samples, delay), c.Tones, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(r.SpeechSNRDB, 1) {
		t.Errorf("identical delayed signal: SNR %.1f dB, want +Inf", r.SpeechSNRDB)
	}

	// White noise 20 dB under the speech (outside the tones).
	var p float64
	var n int
	outside := make([]bool, len(c.Samples))
	for i := range outside {
		outside[i] = true
	}
	for _, t := range c.Tones {
		clear(outside[max(t.Start-GuardBefore, 0):min(t.End+GuardAfter, len(outside))])
	}
	for i, ok := range outside {
		if ok {
			p += float64(c.Samples[i]) * float64(c.Samples[i])
			n++
		}
	}
	sigma := math.Sqrt(p / float64(n) / 100)
	rng := rand.New(rand.NewPCG(1, 2))
	y := make([]int16, len(c.Samples))
	for i, v := range c.Samples {
		y[i] = int16(math.Round(float64(v) + sigma*rng.NormFloat64()))
	}
	r, err = Score(c.Samples, Delayed(y, delay), c.Tones, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("noise at 20 dB: %v", r)
	if r.Delay != delay || math.Abs(r.SpeechSNRDB-20) > 0.5 {
		t.Errorf("delay %d SNR %.2f dB, want %d and 20 dB", r.Delay, r.SpeechSNRDB, delay)
	}
}

func TestScoreErrors(t *testing.T) {
	in := make([]int16, 1000)
	if _, err := Score(in, in, []Tone{{Start: 10, End: 2000}}, Options{}); !errors.Is(err, ErrTones) {
		t.Errorf("tone past the end: %v, want ErrTones", err)
	}
	if _, err := Score(in, in, nil, Options{}); !errors.Is(err, ErrNoDelay) {
		t.Errorf("silent input: %v, want ErrNoDelay", err)
	}
	r, err := Score(in, in, nil, Options{DelayKnown: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.WorstTone != -1 || r.WorstLeakDB != LeakFloorDB {
		t.Errorf("no tones: %v", r)
	}
}

// TestScoreCalibrationCorpus scores the calibration maskers on every corpus
// case with tones to mask: the README's calibration points hold on all of
// them, not just on nominal.
func TestScoreCalibrationCorpus(t *testing.T) {
	dir, err := CorpusDir()
	if errors.Is(err, ErrNoCorpus) {
		t.Skip(err)
	}
	names, err := CaseNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	maskers := []struct {
		name   string
		m      masker
		lo, hi float64
	}{
		{"no look-ahead", noLookAhead, -1, 1.5}, // speech under the tone can push the coefficient past 1
		{"pass 5 ms", passFirst(5, 1, 0), -8, -2},
		{"pass 1 ms", passFirst(1, 1, 0), -22, -8},
		{"pass 5 ms then 500 Hz", passFirst(5, 1, 500), -8, 0},
		{"pass 1 ms then 500 Hz", passFirst(1, 1, 500), -22, -5},
		{"replace with 500 Hz", passFirst(0, 1, 500), LeakFloorDB, -60},
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := loadCase(t, name)
			if c.Digits(ExpectDetect)+c.Digits(ExpectEither) == "" {
				t.Skip("no tone to mask")
			}
			for _, m := range maskers {
				r, err := Score(c.Samples, Delayed(m.m(c), 160), c.Tones, Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%-8s %-22s leak %7.1f dB  SNR %6.1f dB  delay %d", name, m.name, r.WorstLeakDB, r.SpeechSNRDB, r.Delay)
				if r.WorstLeakDB < m.lo || r.WorstLeakDB > m.hi || r.Delay != 160 || r.SpeechSNRDB < 100 {
					t.Errorf("%s: %v; want leak in [%.0f, %.0f] dB", m.name, r, m.lo, m.hi)
				}
			}
		})
	}
}

// TestFlatToneSpread: a masker whose replacement depends on the key is
// caught by the flat tone's spread.
func TestFlatToneSpread(t *testing.T) {
	c := loadCase(t, "nominal")
	y := append([]int16(nil), c.Samples...)
	for _, tone := range c.Tones {
		flat(y, tone.Start, tone.End, 400+10*float64(tone.Digit[0]%16), -10)
	}
	r, err := Score(c.Samples, Delayed(y, 80), c.Tones, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v", r)
	if !r.FlatTone.Present || r.FlatTone.Spread.FreqHz < 50 {
		t.Errorf("flat tone %+v, want present with a spread of at least 50 Hz", r.FlatTone)
	}
	if r.WorstLeakDB > -60 {
		t.Errorf("leak %.1f dB, want none: every tone is replaced", r.WorstLeakDB)
	}
	p := r.Problems(DefaultLimits())
	if len(p) != 1 {
		t.Errorf("problems %q, want just the spread", p)
	}
	y = Delayed(passFirst(0, 1, 500)(c), 80)
	if r, _ := Score(c.Samples, y, c.Tones, Options{}); len(r.Problems(DefaultLimits())) != 0 {
		t.Errorf("perfect masker: problems %q", r.Problems(DefaultLimits()))
	}
}

// TestLeakReplacementMustBeSteady documents a property of the README's leak
// measure that maskers must respect: inside the caller's tone the regression
// models the replacement as a steady sinusoid, so a replacement that fades in
// or stops inside the tone scores as leak although no caller sample passes.
// Ramps belong before the tone's start and after its end.
func TestLeakReplacementMustBeSteady(t *testing.T) {
	c := loadCase(t, "nominal")
	replace := func(pre, ramp, silentTail int) []int16 {
		y := append([]int16(nil), c.Samples...)
		for _, tone := range c.Tones {
			a := tone.Start - pre
			for i := a; i < tone.End; i++ {
				g := 1.0
				if i-a < ramp {
					g = float64(i-a) / float64(ramp)
				}
				if i >= tone.End-silentTail {
					g = 0
				}
				y[i] = int16(math.Round(g * dBm0Amp(-10) * math.Sin(2*math.Pi*500*float64(i)/SampleRate)))
			}
		}
		return Delayed(y, 160)
	}
	tests := []struct {
		name   string
		out    []int16
		lo, hi float64
	}{
		{"steady over the tone", replace(0, 0, 0), LeakFloorDB, -80},
		{"5 ms fade-in before the tone", replace(160, 40, 0), LeakFloorDB, -80},
		{"5 ms fade-in inside the tone", replace(0, 40, 0), -40, 0},
		{"silent last 2 ms of the tone", replace(0, 0, 16), -40, 0},
	}
	for _, tt := range tests {
		r, err := Score(c.Samples, tt.out, c.Tones, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-30s leak %.1f dB", tt.name, r.WorstLeakDB)
		if r.WorstLeakDB < tt.lo || r.WorstLeakDB > tt.hi {
			t.Errorf("%s: leak %.1f dB, want in [%.0f, %.0f]", tt.name, r.WorstLeakDB, tt.lo, tt.hi)
		}
	}
}

// ulaw round-trips a sample through G.711 mu-law (the reference algorithm),
// as a masker's RTP output does.
func ulaw(pcm int16) int16 {
	const bias, clip = 0x84, 32635
	s, sign := int(pcm), 0
	if s < 0 {
		s, sign = -s, 0x80
	}
	s = min(s, clip) + bias
	exp := 7
	for mask := 0x4000; s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	u := ^uint8(sign | exp<<4 | (s>>(exp+3))&0x0F)
	u = ^u
	v := (int(u&0x0F)<<3 + bias) << ((u & 0x70) >> 4)
	if u&0x80 != 0 {
		return int16(bias - v)
	}
	return int16(v - bias)
}

// TestLeakG711FlatTone documents the choice of replacement frequency: G.711
// quantization of the replacement makes harmonics of its period, and those
// near the DTMF frequencies count as leak. A 2000 Hz tone repeats every 4
// samples, so its quantized form is still a pure 2000 Hz tone.
func TestLeakG711FlatTone(t *testing.T) {
	c := loadCase(t, "quiet")
	for _, tt := range []struct {
		hz     float64
		lo, hi float64
	}{
		{2000, LeakFloorDB, -80},
		{400, -40, -20}, // harmonics at 1200 and 1600 Hz sit on 1209 and 1633 Hz
	} {
		y := append([]int16(nil), c.Samples...)
		for _, tone := range c.Tones {
			flat(y, tone.Start-80, tone.End+80, tt.hz, -10)
		}
		for i, v := range y {
			y[i] = ulaw(v)
		}
		r, err := Score(c.Samples, Delayed(y, 160), c.Tones, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%4.0f Hz at -10 dBm0 through mu-law: %v", tt.hz, r)
		if r.WorstLeakDB < tt.lo || r.WorstLeakDB > tt.hi {
			t.Errorf("%.0f Hz: leak %.1f dB, want in [%.0f, %.0f]", tt.hz, r.WorstLeakDB, tt.lo, tt.hi)
		}
	}
}
