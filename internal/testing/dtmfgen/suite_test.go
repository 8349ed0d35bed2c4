package dtmfgen

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	dumpDir  = flag.String("dump", "", "TestDump writes the suite into this directory, to listen to")
	dumpSeed = flag.Int64("seed", 1, "the seed of the suite the tests check and TestDump writes")
)

// TestDump writes a suite for listening:
//
//	go test ./internal/testing/dtmfgen -run TestDump -dump /tmp/gen -seed 2 -v
func TestDump(t *testing.T) {
	if *dumpDir == "" {
		t.Skip("no -dump DIR")
	}
	needSpeech(t)
	start := time.Now()
	cases, err := Suite(context.Background(), *dumpSeed)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if err := WriteCase(*dumpDir, c); err != nil {
			t.Fatal(err)
		}
		t.Logf("%-20s %5.1f s %s", c.Name, float64(len(c.Samples))/SampleRate, expects(c))
	}
	t.Logf("seed %d: %d cases written to %s in %v", *dumpSeed, len(cases), *dumpDir, time.Since(start).Round(time.Millisecond))
}

func expects(c *Case) string {
	n := map[string]int{}
	for _, tone := range c.Tones {
		n[tone.Expect]++
	}
	var parts []string
	for _, e := range []string{ExpectDetect, ExpectEither, ExpectReject} {
		if n[e] > 0 {
			parts = append(parts, fmt.Sprintf("%s:%d", e, n[e]))
		}
	}
	return strings.Join(parts, " ")
}

// generated is the suite for -seed (1 by default), made once through generate, with what
// it rendered before quantization.
var generated struct {
	once     sync.Once
	specs    []Spec
	cases    []*Case
	rendered []*rendered
	took     time.Duration
	err      error
}

func genSuite(t *testing.T) ([]Spec, []*Case, []*rendered) {
	t.Helper()
	needSpeech(t)
	g := &generated
	g.once.Do(func() {
		start := time.Now()
		g.specs = SuiteSpecs(*dumpSeed)
		for _, s := range g.specs {
			c, r, err := generate(context.Background(), s)
			if err != nil {
				g.err = err
				return
			}
			g.cases = append(g.cases, c)
			g.rendered = append(g.rendered, r)
		}
		g.took = time.Since(start)
	})
	if g.err != nil {
		t.Fatal(g.err)
	}
	return g.specs, g.cases, g.rendered
}

// TestSuite: Suite (concurrent) gives what Generate gives for each spec,
// and everything survives WriteCase and ReadCase.
func TestSuite(t *testing.T) {
	specs, want, _ := genSuite(t)
	t.Logf("the suite, one case after another: %v", generated.took.Round(time.Millisecond))
	start := time.Now()
	got, err := Suite(context.Background(), *dumpSeed)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Suite: %v", time.Since(start).Round(time.Millisecond))
	if len(got) != len(specs) {
		t.Fatalf("%d cases, want %d", len(got), len(specs))
	}
	dir := t.TempDir()
	for i, c := range got {
		if !reflect.DeepEqual(c, want[i]) {
			t.Errorf("%s: Suite differs from Generate", c.Name)
		}
		if err := WriteCase(dir, c); err != nil {
			t.Fatal(err)
		}
		back, err := ReadCase(dir, c.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, c) {
			t.Errorf("%s: read back differs from what was written", c.Name)
		}
	}
}

// TestSuiteShape checks each case's truth against what the standard set
// promises.
func TestSuiteShape(t *testing.T) {
	specs, cases, rendered := genSuite(t)
	for i, c := range cases {
		n := map[string]int{}
		for _, tone := range c.Tones {
			n[tone.Expect]++
		}
		seconds := float64(len(c.Samples)) / SampleRate
		t.Logf("%-20s %5.1f s %s", c.Name, seconds, expects(c))
		if !strings.HasPrefix(c.Name, "gen-") || c.Name != specs[i].Name {
			t.Errorf("case %d is named %q", i, c.Name)
		}
		if len(c.Speech) != len(c.Samples) {
			t.Errorf("%s: %d speech samples, %d samples", c.Name, len(c.Speech), len(c.Samples))
		}
		talkoff := strings.HasPrefix(c.Name, "gen-talkoff-")
		switch {
		case talkoff && c.Tones != nil:
			t.Errorf("%s: %d tones in talk-off", c.Name, len(c.Tones))
		case talkoff && (seconds < 29.9 || seconds > 60.1):
			t.Errorf("%s: %.1f s", c.Name, seconds)
		case !talkoff && (seconds < 8 || seconds > 30):
			t.Errorf("%s: %.1f s, want about 10-20", c.Name, seconds)
		case !talkoff && len(c.Tones) < 6:
			t.Errorf("%s: only %d tones", c.Name, len(c.Tones))
		}
		all := func(e string) bool { return n[e] == len(c.Tones) }
		switch c.Name {
		case "gen-nominal", "gen-fast", "gen-quiet", "gen-loud", "gen-noisy", "gen-long":
			if !all(ExpectDetect) {
				t.Errorf("%s: %v, want every tone detect", c.Name, n)
			}
		case "gen-twist", "gen-offset":
			if n[ExpectDetect] < 5 || n[ExpectEither] < 5 || n[ExpectReject] > 0 {
				t.Errorf("%s: %v, want detect and either", c.Name, n)
			}
		case "gen-offtol":
			if !all(ExpectReject) {
				t.Errorf("%s: %v, want every tone reject", c.Name, n)
			}
		case "gen-short":
			if n[ExpectReject] < 5 || n[ExpectEither] < 3 || n[ExpectDetect] > 0 {
				t.Errorf("%s: %v, want reject and either", c.Name, n)
			}
		case "gen-overlap":
			if n[ExpectDetect] < len(c.Tones)/2 {
				t.Errorf("%s: %v, want mostly detect", c.Name, n)
			}
		}
		for j, tone := range c.Tones {
			lo, hi, ok := digitFreqs(tone.Digit)
			if !ok || tone.Start < 0 || tone.End > len(c.Samples) || tone.End <= tone.Start {
				t.Errorf("%s: tone %d is %+v", c.Name, j, tone)
				continue
			}
			if j > 0 && tone.Start < c.Tones[j-1].End+minGap {
				t.Errorf("%s: tone %d starts %d samples after the one before", c.Name, j, tone.Start-c.Tones[j-1].End)
			}
			if got := Classify(tone, rendered[i].snr[j]); got != tone.Expect {
				t.Errorf("%s: tone %d says %s, Classify says %s", c.Name, j, tone.Expect, got)
			}
			offLo, offHi := math.Abs(tone.LowHz/lo-1), math.Abs(tone.HighHz/hi-1)
			ms := float64(tone.End-tone.Start) * 1000 / SampleRate
			var bad bool
			switch c.Name {
			case "gen-fast":
				bad = ms < 40 || ms > 48
			case "gen-long":
				bad = ms < 500 || ms > 2000
			case "gen-short":
				bad = ms < 10 || ms >= 40
			case "gen-offtol":
				bad = max(offLo, offHi) < 0.035-eps || max(offLo, offHi) > 0.05+eps
			case "gen-offset":
				bad = max(offLo, offHi) > 0.025+eps
			case "gen-quiet":
				bad = min(tone.LowDBm0, tone.HighDBm0) < -26-eps || min(tone.LowDBm0, tone.HighDBm0) > -23
			case "gen-loud":
				bad = min(tone.LowDBm0, tone.HighDBm0) < -2-eps || max(tone.LowDBm0, tone.HighDBm0) > eps
			case "gen-noisy":
				bad = rendered[i].snr[j] < 15-eps || rendered[i].snr[j] > 20
			}
			if bad {
				t.Errorf("%s: tone %d out of the case's range: %.1f ms, off %.2f %% / %.2f %%, %.1f / %.1f dBm0, SNR %.1f dB",
					c.Name, j, ms, 100*offLo, 100*offHi, tone.LowDBm0, tone.HighDBm0, rendered[i].snr[j])
			}
		}
	}
	// The limits themselves appear.
	has := func(name string, f func(Tone) bool) {
		for i, c := range cases {
			if c.Name != name {
				continue
			}
			for _, tone := range c.Tones {
				if f(tone) {
					return
				}
			}
			_ = i
		}
		t.Errorf("%s: no tone at the limit it is for", name)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	has("gen-fast", func(x Tone) bool { return x.End-x.Start == minDetect })
	has("gen-quiet", func(x Tone) bool { return near(x.LowDBm0, -26) && near(x.HighDBm0, -22) })
	has("gen-quiet", func(x Tone) bool { return near(x.LowDBm0, -18) && near(x.HighDBm0, -26) })
	has("gen-loud", func(x Tone) bool { return near(x.LowDBm0, 0) && near(x.HighDBm0, 0) })
	has("gen-twist", func(x Tone) bool { return near(x.HighDBm0-x.LowDBm0, 4) && x.Expect == ExpectDetect })
	has("gen-twist", func(x Tone) bool { return near(x.HighDBm0-x.LowDBm0, -8) && x.Expect == ExpectDetect })
	has("gen-offset", func(x Tone) bool {
		lo, hi, _ := digitFreqs(x.Digit)
		return near(x.LowHz, lo*1.015) && near(x.HighHz, hi*0.985) && x.Expect == ExpectDetect
	})
}

// TestTonesMatchTruth measures every tone where the truth says it is: the
// tone buffer is silent outside the intervals, and a least-squares fit at
// the two frequencies over each interval (less 1 ms of ramp at each end)
// finds the levels of the truth: within 0.5 dB in the mix before mu-law
// (without the speech under it when its SNR is under 15 dB, where speech
// moves the fit itself), and within 1 dB in the output.
func TestTonesMatchTruth(t *testing.T) {
	_, cases, rendered := genSuite(t)
	const ramp = SampleRate / 1000
	var checked int
	for i, c := range cases {
		r := rendered[i]
		inside := make([]bool, len(r.tones))
		for _, tone := range c.Tones {
			for k := tone.Start; k < tone.End; k++ {
				inside[k] = true
			}
			if r.tones[tone.Start+ramp] == 0 || r.tones[tone.End-1-ramp] == 0 {
				t.Errorf("%s: tone %s at %d is not there", c.Name, tone.Digit, tone.Start)
			}
		}
		for k, v := range r.tones {
			if v != 0 && !inside[k] {
				t.Fatalf("%s: tone signal at sample %d, outside every tone of the truth", c.Name, k)
			}
		}
		mix := make([]float64, len(r.tones))
		clean := make([]float64, len(r.tones))
		for k := range mix {
			clean[k] = r.noise[k] + r.tones[k]
			mix[k] = r.bed[k] + clean[k]
		}
		out := make([]float64, len(c.Samples))
		for k, v := range c.Samples {
			out[k] = float64(v)
		}
		for j, tone := range c.Tones {
			a, b := tone.Start+ramp, tone.End-ramp
			before, tolOut := mix, 1.0
			if r.snr[j] < minSNR {
				before, tolOut = clean, 2
			}
			for _, m := range []struct {
				what string
				x    []float64
				tol  float64
			}{{"before mu-law", before, 0.5}, {"after mu-law", out, tolOut}} {
				if m.what == "after mu-law" && max(tone.LowDBm0, tone.HighDBm0) > -3 {
					continue // two tones this loud clip in mu-law, as on a real line
				}
				lo, hi := fitDBm0(m.x[a:b], a, tone.LowHz, tone.HighHz)
				if math.Abs(lo-tone.LowDBm0) > m.tol || math.Abs(hi-tone.HighDBm0) > m.tol {
					t.Errorf("%s: tone %d (%s, %d ms, SNR %.1f dB) %s measures %.2f / %.2f dBm0, truth %.2f / %.2f",
						c.Name, j, tone.Digit, (tone.End-tone.Start)/8, r.snr[j], m.what, lo, hi, tone.LowDBm0, tone.HighDBm0)
				}
			}
			checked++
		}
	}
	t.Logf("%d tones measured", checked)
}

// TestTalkoffIsClean: in the talk-off cases, no 40 ms window has a DTMF row
// and column, within twist, carrying most of its power, by an idealized
// Goertzel detector (a key press scores about 1): talk-off material must
// not hold a real key press. The corpus's talkoff scores 0.74 by this
// measure; music is made to stay well under it.
func TestTalkoffIsClean(t *testing.T) {
	_, cases, _ := genSuite(t)
	for _, c := range cases {
		if !strings.HasPrefix(c.Name, "gen-talkoff-") {
			continue
		}
		limit := 0.8
		if c.Name == "gen-talkoff-music" {
			limit = 0.5
		}
		x := make([]float64, len(c.Samples))
		for k, v := range c.Samples {
			x[k] = float64(v)
		}
		worst, at := dtmfShare(x)
		t.Logf("%s: at most %.2f of a window's power in a DTMF pair (at %.2f s)", c.Name, worst, float64(at)/SampleRate)
		if worst > limit {
			t.Errorf("%s: %.2f of the power at %.2f s is in a DTMF pair", c.Name, worst, float64(at)/SampleRate)
		}
	}
}

// dtmfShare slides a 40 ms window in 10 ms steps and returns the largest
// share of a window's power in its strongest row and column frequencies
// where their twist is within -10 to +6 dB, and where that window starts.
func dtmfShare(x []float64) (worst float64, at int) {
	const n = minDetect
	var hann [n]float64
	for i := range hann {
		hann[i] = 0.5 - 0.5*math.Cos(2*math.Pi*(float64(i)+0.5)/n)
	}
	var w [n]float64
	for k := 0; k+n <= len(x); k += n / 4 {
		total := meanSquare(x[k : k+n])
		if dBm0Of(total) < -45 {
			continue
		}
		for i := range w {
			w[i] = x[k+i] * hann[i]
		}
		var row, col float64
		for _, f := range dtmfLow {
			row = max(row, goertzel(w[:], f))
		}
		for _, f := range dtmfHigh {
			col = max(col, goertzel(w[:], f))
		}
		if twist := 10 * math.Log10(col/row); twist < -10 || twist > 6 {
			continue
		}
		if share := (row + col) / total; share > worst {
			worst, at = share, k
		}
	}
	return worst, at
}

// goertzel is the power of windowed x at f Hz, scaled so that a sine of
// amplitude A at f through a Hann window gives A²/2.
func goertzel(x []float64, f float64) float64 {
	c := 2 * math.Cos(2*math.Pi*f/SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	n := float64(len(x))
	return 8 * (s1*s1 + s2*s2 - c*s1*s2) / (n * n)
}

// TestMultimon: an independent detector (multimon-ng, a Debian package)
// hears every key press, in order, where every tone is an easy detect; what
// else it hears is no more than it hears in the speech alone.
func TestMultimon(t *testing.T) {
	if _, err := exec.LookPath("multimon-ng"); err != nil {
		t.Skip("multimon-ng is not installed (apt-get install multimon-ng)")
	}
	_, cases, _ := genSuite(t)
	for _, c := range cases {
		switch c.Name {
		case "gen-nominal", "gen-fast", "gen-noisy", "gen-long", "gen-loud", "gen-talkoff-music":
		default:
			continue
		}
		var want strings.Builder
		for _, tone := range c.Tones {
			want.WriteString(tone.Digit)
		}
		got, err := multimon(t, c.Samples)
		if err != nil {
			t.Fatal(err)
		}
		alone, err := multimon(t, c.Speech)
		if err != nil {
			t.Fatal(err)
		}
		if !subsequence(want.String(), got) || len(got)-want.Len() > len(alone) {
			t.Errorf("%s: multimon-ng hears %q (and %q in the speech alone), the truth is %q", c.Name, got, alone, want.String())
		}
	}
}

func subsequence(s, in string) bool {
	for i := 0; i < len(s); i++ {
		k := strings.IndexByte(in, s[i])
		if k < 0 {
			return false
		}
		in = in[k+1:]
	}
	return true
}

// multimon runs multimon-ng's DTMF decoder (which reads 22050 Hz raw) and
// returns the digits it hears.
func multimon(t *testing.T, s []int16) (string, error) {
	t.Helper()
	x := make([]float64, len(s))
	for i, v := range s {
		x[i] = float64(v)
	}
	y := resample(x, SampleRate, 22050)
	b := make([]byte, 2*len(y))
	for i, v := range y {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(toInt16(v)))
	}
	cmd := exec.CommandContext(t.Context(), "multimon-ng", "-q", "-c", "-a", "DTMF", "-t", "raw", "-")
	cmd.Stdin = bytes.NewReader(b)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("multimon-ng: %w", err)
	}
	var d strings.Builder
	for line := range strings.SplitSeq(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "DTMF: "); ok {
			d.WriteString(strings.TrimSpace(v))
		}
	}
	return d.String(), nil
}
