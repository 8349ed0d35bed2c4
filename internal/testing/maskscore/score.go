package maskscore

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The corpus README's pass marks, and the guard around every tone outside
// which speech must be kept.
const (
	MaxLeakDB      = -40.0 // worst window of the worst tone, at most
	MinSpeechSNRDB = 30.0  // outside the tones, at least

	GuardBefore = 320 // samples (40 ms) before a tone's start that are not speech
	GuardAfter  = 640 // samples (80 ms) after a tone's end that are not speech

	LeakFloorDB = -200.0 // reported when nothing of the caller's tone is left

	dBm0Peak = 22860.0 // peak of a 0 dBm0 sine in 16-bit linear
)

// The leak measure's window, from the README.
const (
	leakWindow    = 160 // 20 ms: the measure's own window, not the call path's frame
	leakStep      = 40  // 5 ms
	leakMinInside = 80  // 10 ms
)

// Flat tone detection: a tone interval of the output holds a flat tone when
// one frequency and its harmonics explain this share of its energy, at this
// level or above.
const (
	FlatMinPurity    = 0.8
	FlatMinLevelDBm0 = -60.0
)

// ErrNoDelay is returned when the delay cannot be found (no signal outside
// the tones); set Options.DelayKnown.
var ErrNoDelay = errors.New("cannot find the output's delay")

// ErrTones is returned for tones that do not fit the input.
var ErrTones = errors.New("tones do not fit the input")

// Options tunes Score. The zero value is the README's judge.
type Options struct {
	// MaxDelay is the largest delay searched, in samples; default 400 (50 ms).
	MaxDelay int
	// Delay is used as the output's delay, without searching, if DelayKnown.
	Delay      int
	DelayKnown bool
	// FlatToneHz is the replacement tone's frequency for the leak
	// regression; 0 estimates it from the output inside the tones.
	FlatToneHz float64
	// Harmonics is how many multiples of the replacement tone the leak
	// regression includes (1 = the fundamental only); default 3.
	Harmonics int
}

// ToneScore is the leak of one tone.
type ToneScore struct {
	Tone   Tone
	LeakDB float64 // worst window: 20*log10|coefficient of the caller's tone|
	// WorstWindow is the first sample, in the input's time line, of the
	// worst 20 ms window; Windows is how many windows were scored.
	WorstWindow int
	Windows     int
}

// Spread is the largest difference between key presses.
type Spread struct {
	FreqHz  float64
	LevelDB float64
}

// ToneFlat is what the output holds where one tone was.
type ToneFlat struct {
	Tone      Tone
	Present   bool    // a tone is there (Purity and level high enough)
	FreqHz    float64 // dominant frequency of the output over the interval
	LevelDBm0 float64 // its level
	Purity    float64 // share of the interval's energy that it and its harmonics explain
}

// FlatTone is what replaced the tones.
type FlatTone struct {
	Present   bool    // every non-reject tone interval holds a tone
	FreqHz    float64 // median over the intervals that hold one
	LevelDBm0 float64 // median over the intervals that hold one
	Spread    Spread  // max - min over the intervals that hold one
	PerTone   []ToneFlat
}

// Report is the judgement of one output.
type Report struct {
	Delay     int     // samples, by cross-correlation outside the tones
	DelayCorr float64 // normalized correlation at that delay (1 = identical)

	Tones       []ToneScore // every tone that is not reject
	WorstTone   int         // index into Tones of the worst leak, -1 if none
	WorstLeakDB float64

	// SpeechSNRDB compares the output with the delayed input outside every
	// tone (GuardBefore before its start to GuardAfter after its end).
	SpeechSNRDB float64

	FlatTone FlatTone
}

// Score judges out, the masker's output for in, whose tones are tones, by
// the corpus README's measures.
func Score(in, out []int16, tones []Tone, opt Options) (Report, error) {
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = 400
	}
	if opt.Harmonics <= 0 {
		opt.Harmonics = 3
	}
	for i, t := range tones {
		if t.Start < 0 || t.End <= t.Start || t.End > len(in) {
			return Report{}, fmt.Errorf("%w: tone %d spans [%d,%d), input has %d samples", ErrTones, i, t.Start, t.End, len(in))
		}
	}
	outside := make([]bool, len(in))
	for i := range outside {
		outside[i] = true
	}
	for _, t := range tones {
		clear(outside[max(t.Start-GuardBefore, 0):min(t.End+GuardAfter, len(in))])
	}

	var r Report
	r.WorstTone = -1
	r.WorstLeakDB = LeakFloorDB
	if opt.DelayKnown {
		r.Delay = opt.Delay
		r.DelayCorr = delayCorr(in, out, outside, r.Delay)
	} else {
		d, c, err := findDelay(in, out, outside, opt.MaxDelay)
		if err != nil {
			return Report{}, err
		}
		r.Delay, r.DelayCorr = d, c
	}
	r.SpeechSNRDB = speechSNR(in, out, outside, r.Delay)

	var scored []Tone
	for _, t := range tones {
		if t.Expect != ExpectReject {
			scored = append(scored, t)
		}
	}
	r.FlatTone = flatTone(out, scored, r.Delay, opt.Harmonics)
	for i, t := range scored {
		f := opt.FlatToneHz
		switch {
		case f > 0:
		case r.FlatTone.PerTone[i].Present:
			f = r.FlatTone.PerTone[i].FreqHz
		default:
			f = r.FlatTone.FreqHz // 0 if no interval holds a tone
		}
		ts := leak(in, out, t, r.Delay, f, opt.Harmonics)
		r.Tones = append(r.Tones, ts)
		if r.WorstTone < 0 || ts.LeakDB > r.WorstLeakDB {
			r.WorstTone, r.WorstLeakDB = i, ts.LeakDB
		}
	}
	return r, nil
}

// outAt is the output sample that corresponds to input sample i.
func outAt(out []int16, i, delay int) float64 {
	if j := i + delay; j >= 0 && j < len(out) {
		return float64(out[j])
	}
	return 0
}

// findDelay returns the delay in [0, maxDelay] that maximizes the normalized
// correlation of input and output over the samples outside the tones. Every
// lag is first scored on every 4th of those samples; the best few are then
// scored on all of them.
func findDelay(in, out []int16, outside []bool, maxDelay int) (int, float64, error) {
	// The samples outside the tones, as runs [a, b) of the input.
	type run struct{ a, b int }
	var runs []run
	last := min(len(in), len(out)-maxDelay)
	for i := 0; i < last; {
		if !outside[i] {
			i++
			continue
		}
		a := i
		for i < last && outside[i] {
			i++
		}
		runs = append(runs, run{a, i})
	}
	x, y := toFloat(in), toFloat(out)
	corr := func(d, stride int) float64 {
		var num, den, e float64
		for _, r := range runs {
			xs, ys := x[r.a:r.b], y[r.a+d:r.b+d]
			ys = ys[:len(xs)]
			for i := 0; i < len(xs); i += stride {
				num += xs[i] * ys[i]
				den += ys[i] * ys[i]
				e += xs[i] * xs[i]
			}
		}
		if den == 0 || e == 0 {
			return 0
		}
		return num / math.Sqrt(den*e)
	}
	var ein float64
	for _, r := range runs {
		for _, v := range x[r.a:r.b] {
			ein += v * v
		}
	}
	if ein == 0 {
		return 0, 0, fmt.Errorf("%w: the input is silent outside the tones (or the output is shorter than %d samples); set Options.DelayKnown", ErrNoDelay, maxDelay)
	}
	type cand struct {
		d int
		c float64
	}
	coarse := make([]cand, 0, maxDelay+1)
	for d := 0; d <= maxDelay; d++ {
		coarse = append(coarse, cand{d, corr(d, 4)})
	}
	slices.SortFunc(coarse, func(a, b cand) int { return cmp.Compare(b.c, a.c) })
	best := cand{0, math.Inf(-1)}
	for _, c := range coarse[:min(8, len(coarse))] {
		if v := corr(c.d, 1); v > best.c || (v == best.c && c.d < best.d) {
			best = cand{c.d, v}
		}
	}
	return best.d, best.c, nil
}

func toFloat(s []int16) []float64 {
	f := make([]float64, len(s))
	for i, v := range s {
		f[i] = float64(v)
	}
	return f
}

func delayCorr(in, out []int16, outside []bool, delay int) float64 {
	var num, ex, ey float64
	for i, ok := range outside {
		if !ok || i+delay < 0 || i+delay >= len(out) {
			continue
		}
		x, y := float64(in[i]), float64(out[i+delay])
		num += x * y
		ex += x * x
		ey += y * y
	}
	if ex == 0 || ey == 0 {
		return 0
	}
	return num / math.Sqrt(ex*ey)
}

// speechSNR is 10*log10(sum in^2 / sum (out_delayed - in)^2) outside the
// tones, over the input samples whose delayed output exists.
func speechSNR(in, out []int16, outside []bool, delay int) float64 {
	var sig, noise float64
	for i, ok := range outside {
		if !ok || i+delay < 0 || i+delay >= len(out) {
			continue
		}
		x := float64(in[i])
		e := float64(out[i+delay]) - x
		sig += x * x
		noise += e * e
	}
	switch {
	case noise == 0 && sig == 0:
		return math.NaN()
	case noise == 0:
		return math.Inf(1)
	}
	return 10 * math.Log10(sig/noise)
}

func sinCos(f float64, n int) (c, s []float64) {
	c, s = make([]float64, n), make([]float64, n)
	w := 2 * math.Pi * f / SampleRate
	for i := range n {
		s[i], c[i] = math.Sincos(w * float64(i))
	}
	return c, s
}

// leak scores one tone: the worst, over 20 ms windows in 5 ms steps with at
// least 10 ms inside the tone, of the coefficient of the fitted input tone in
// a regression of the output on it and the replacement tone.
func leak(in, out []int16, t Tone, delay int, flatHz float64, harmonics int) ToneScore {
	n := t.End - t.Start
	// Fit the input tone as two sinusoids at its actual frequencies.
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(in[t.Start+i])
	}
	cl, sl := sinCos(t.LowHz, n)
	ch, sh := sinCos(t.HighHz, n)
	b := lstsq([][]float64{cl, sl, ch, sh}, x)
	fit := make([]float64, n)
	for i := range fit {
		fit[i] = b[0]*cl[i] + b[1]*sl[i] + b[2]*ch[i] + b[3]*sh[i]
	}

	// The replacement tone's frequencies: its harmonics that are not too
	// close to the caller's tone to tell apart in 20 ms.
	var rep []float64
	if flatHz > 0 {
		for h := 1; h <= harmonics; h++ {
			f := flatHz * float64(h)
			if f >= SampleRate/2-10 {
				break
			}
			if math.Abs(f-t.LowHz) < 25 || math.Abs(f-t.HighHz) < 25 {
				continue
			}
			rep = append(rep, f)
		}
	}

	// Window positions, relative to the tone's start.
	var pos []int
	if n <= leakMinInside {
		pos = []int{0}
	} else {
		p := leakMinInside - leakWindow
		for ; p <= n-leakMinInside; p += leakStep {
			pos = append(pos, p)
		}
		if last := n - leakMinInside; pos[len(pos)-1] != last {
			pos = append(pos, last) // the tail with exactly 10 ms inside
		}
	}

	ts := ToneScore{Tone: t, LeakDB: math.Inf(-1), Windows: len(pos)}
	for _, p := range pos {
		a, e := max(p, 0), min(p+leakWindow, n)
		m := e - a
		cols := [][]float64{fit[a:e]}
		for _, f := range rep {
			c, s := sinCos(f, m)
			cols = append(cols, c, s)
		}
		y := make([]float64, m)
		for i := range y {
			y[i] = outAt(out, t.Start+a+i, delay)
		}
		coef := lstsq(cols, y)
		db := 20 * math.Log10(math.Abs(coef[0]))
		if math.IsNaN(db) || db < LeakFloorDB {
			db = LeakFloorDB
		}
		if db > ts.LeakDB {
			ts.LeakDB, ts.WorstWindow = db, t.Start+p
		}
	}
	return ts
}

// flatTone estimates the dominant tone of the output over every tone
// interval.
func flatTone(out []int16, tones []Tone, delay, harmonics int) FlatTone {
	ft := FlatTone{PerTone: make([]ToneFlat, len(tones))}
	var freqs, levels []float64
	for i, t := range tones {
		x := make([]float64, t.End-t.Start)
		for k := range x {
			x[k] = outAt(out, t.Start+k, delay)
		}
		f, amp, purity := dominantTone(x, harmonics)
		tf := ToneFlat{Tone: t, FreqHz: f, Purity: purity, LevelDBm0: LeakFloorDB}
		if amp > 0 {
			tf.LevelDBm0 = 20 * math.Log10(amp/dBm0Peak)
		}
		tf.Present = purity >= FlatMinPurity && tf.LevelDBm0 >= FlatMinLevelDBm0
		if tf.Present {
			freqs = append(freqs, tf.FreqHz)
			levels = append(levels, tf.LevelDBm0)
		}
		ft.PerTone[i] = tf
	}
	ft.Present = len(tones) > 0 && len(freqs) == len(tones)
	if len(freqs) > 0 {
		ft.FreqHz, ft.Spread.FreqHz = medianRange(freqs)
		ft.LevelDBm0, ft.Spread.LevelDB = medianRange(levels)
	}
	return ft
}

func medianRange(v []float64) (median, spread float64) {
	s := slices.Clone(v)
	slices.Sort(s)
	median = s[len(s)/2]
	if len(s)%2 == 0 {
		median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return median, s[len(s)-1] - s[0]
}

// dominantTone finds the strongest sinusoid in x (from a Hann-windowed,
// zero-padded spectrum of up to 8192 samples from its middle, with parabolic
// interpolation), then fits it and its harmonics to all of x by least
// squares: its amplitude, and the share of x's energy they explain.
func dominantTone(x []float64, harmonics int) (freq, amp, purity float64) {
	var energy float64
	for _, v := range x {
		energy += v * v
	}
	if energy == 0 || len(x) < 16 {
		return 0, 0, 0
	}
	seg := x
	if len(seg) > 8192 {
		off := (len(seg) - 8192) / 2
		seg = seg[off : off+8192]
	}
	nfft := 16384
	buf := make([]complex128, nfft)
	for i, v := range seg {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/float64(len(seg)))
		buf[i] = complex(v*w, 0)
	}
	fft(buf)
	binHz := float64(SampleRate) / float64(nfft)
	lo, hi := int(40/binHz), int((SampleRate/2-40)/binHz)
	mag := func(k int) float64 {
		re, im := real(buf[k]), imag(buf[k])
		return math.Log(re*re + im*im + 1e-30)
	}
	peak := lo
	for k := lo + 1; k <= hi; k++ {
		if mag(k) > mag(peak) {
			peak = k
		}
	}
	a, b, c := mag(peak-1), mag(peak), mag(peak+1)
	delta := 0.0
	if den := a - 2*b + c; den < 0 {
		delta = 0.5 * (a - c) / den
	}
	freq = (float64(peak) + delta) * binHz

	var cols [][]float64
	for h := 1; h <= harmonics; h++ {
		if freq*float64(h) >= SampleRate/2-10 {
			break
		}
		cs, sn := sinCos(freq*float64(h), len(x))
		cols = append(cols, cs, sn)
	}
	coef := lstsq(cols, x)
	amp = math.Hypot(coef[0], coef[1])
	var resid float64
	for i, v := range x {
		for j, col := range cols {
			v -= coef[j] * col[i]
		}
		resid += v * v
	}
	return freq, amp, math.Max(0, 1-resid/energy)
}

// Limits are the pass marks Problems checks.
type Limits struct {
	MaxLeakDB      float64
	MinSpeechSNRDB float64
	// FlatTone requires a flat tone (the masker's "tone" mode) the same for
	// every key, within the spreads.
	FlatTone         bool
	MaxFreqSpreadHz  float64
	MaxLevelSpreadDB float64
}

// DefaultLimits are the README's pass marks for the "tone" mode.
func DefaultLimits() Limits {
	return Limits{
		MaxLeakDB:        MaxLeakDB,
		MinSpeechSNRDB:   MinSpeechSNRDB,
		FlatTone:         true,
		MaxFreqSpreadHz:  1,
		MaxLevelSpreadDB: 1,
	}
}

// Problems lists, in words, every way r misses l; none means it passes.
func (r Report) Problems(l Limits) []string {
	var p []string
	for _, ts := range r.Tones {
		if ts.LeakDB > l.MaxLeakDB {
			p = append(p, fmt.Sprintf("tone %s [%d,%d): leak %.1f dB > %.1f dB (window at %d)",
				ts.Tone.Digit, ts.Tone.Start, ts.Tone.End, ts.LeakDB, l.MaxLeakDB, ts.WorstWindow))
		}
	}
	if !(r.SpeechSNRDB >= l.MinSpeechSNRDB) {
		p = append(p, fmt.Sprintf("speech SNR %.1f dB < %.1f dB (delay %d, correlation %.3f)",
			r.SpeechSNRDB, l.MinSpeechSNRDB, r.Delay, r.DelayCorr))
	}
	if l.FlatTone && len(r.Tones) > 0 {
		for _, tf := range r.FlatTone.PerTone {
			if !tf.Present {
				p = append(p, fmt.Sprintf("tone %s [%d,%d): no flat tone (dominant %.1f Hz at %.1f dBm0, purity %.2f)",
					tf.Tone.Digit, tf.Tone.Start, tf.Tone.End, tf.FreqHz, tf.LevelDBm0, tf.Purity))
			}
		}
		if s := r.FlatTone.Spread; s.FreqHz > l.MaxFreqSpreadHz || s.LevelDB > l.MaxLevelSpreadDB {
			p = append(p, fmt.Sprintf("flat tone differs between keys: %.2f Hz and %.2f dB apart", s.FreqHz, s.LevelDB))
		}
	}
	return p
}

// String summarizes r on one line.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "delay=%d (corr %.3f) worst leak=%.1f dB", r.Delay, r.DelayCorr, r.WorstLeakDB)
	if r.WorstTone >= 0 {
		t := r.Tones[r.WorstTone]
		fmt.Fprintf(&b, " (tone %d [%d,%d) window %d)", r.WorstTone, t.Tone.Start, t.Tone.End, t.WorstWindow)
	}
	fmt.Fprintf(&b, " speech SNR=%.1f dB", r.SpeechSNRDB)
	if f := r.FlatTone; f.Present {
		fmt.Fprintf(&b, " flat tone %.2f Hz %.1f dBm0 (spread %.2f Hz %.2f dB)", f.FreqHz, f.LevelDBm0, f.Spread.FreqHz, f.Spread.LevelDB)
	} else {
		fmt.Fprintf(&b, " no flat tone")
	}
	return b.String()
}
