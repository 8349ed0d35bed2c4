package dtmfgen

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func needSpeech(t testing.TB) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("no speech, so no generated audio: %v", err)
	}
}

func TestULaw(t *testing.T) {
	if got := ulawEncode(0); got != 0xff {
		t.Errorf("encode(0) = %#x, want 0xff", got)
	}
	if got := ulawDecode(0x80); got != 32124 {
		t.Errorf("decode(0x80) = %d, want 32124", got)
	}
	for b := range 256 {
		v := ulawDecode(byte(b))
		if w := ulawDecode(ulawEncode(v)); w != v {
			t.Errorf("byte %#x: decode %d, encode and decode again %d", b, v, w)
		}
	}
	prev := int16(math.MinInt16)
	for x := -32768; x <= 32767; x++ {
		y := ulawDecode(ulawEncode(int16(x)))
		if y < prev {
			t.Fatalf("not monotonic at %d: %d after %d", x, y, prev)
		}
		prev = y
		if a := math.Abs(float64(x)); a <= ulawClip {
			if e := math.Abs(float64(y) - float64(x)); e > (a+ulawBias)/32+1 {
				t.Fatalf("x=%d decodes to %d: error %.0f is more than half a step", x, y, e)
			}
		}
	}
}

func TestResample(t *testing.T) {
	const from = 22050
	sine := func(f float64) []float64 {
		x := make([]float64, from)
		for i := range x {
			x[i] = 10000 * math.Sin(2*math.Pi*f*float64(i)/from)
		}
		return x
	}
	for _, tc := range []struct {
		hz     float64
		minDB  float64 // gain, dB
		maxDB  float64
		passes bool
	}{
		{300, -0.1, 0.1, true},
		{1000, -0.1, 0.1, true},
		{1633, -0.1, 0.1, true},
		{3000, -0.5, 0.1, true},
		{4500, -200, -50, false}, // would alias to 3.5 kHz
		{6000, -200, -50, false}, // would alias to 2 kHz
	} {
		y := resample(sine(tc.hz), from, SampleRate)
		if n := len(y); n != SampleRate {
			t.Fatalf("%v Hz: %d samples out of one second, want %d", tc.hz, n, SampleRate)
		}
		mid := y[500 : len(y)-500] // away from the edges
		gain := 10 * math.Log10(meanSquare(mid)/(10000*10000/2))
		if gain < tc.minDB || gain > tc.maxDB {
			t.Errorf("%v Hz: gain %.2f dB, want %v to %v", tc.hz, gain, tc.minDB, tc.maxDB)
		}
		if tc.passes {
			if a, _ := fitDBm0(mid, 0, tc.hz); math.Abs(a-dBm0Of(10000*10000/2)) > 0.5 {
				t.Errorf("%v Hz: the output is not the same sine (%.2f dBm0 at %v Hz)", tc.hz, a, tc.hz)
			}
		}
	}
}

func TestClassify(t *testing.T) {
	base := Tone{Digit: "5", Start: 1000, End: 1000 + 320, LowHz: 770, HighHz: 1336, LowDBm0: -10, HighDBm0: -10}
	tone := func(f func(*Tone)) Tone { t := base; f(&t); return t }
	for _, tc := range []struct {
		name string
		tone Tone
		snr  float64
		want string
	}{
		{"nominal 40 ms", base, 40, ExpectDetect},
		{"39.875 ms", tone(func(t *Tone) { t.End-- }), 40, ExpectEither},
		{"23 ms", tone(func(t *Tone) { t.End = t.Start + 184 }), 40, ExpectEither},
		{"22.875 ms", tone(func(t *Tone) { t.End = t.Start + 183 }), 40, ExpectReject},
		{"+1.5 % and -1.5 %", tone(func(t *Tone) { t.LowHz, t.HighHz = 770*1.015, 1336*0.985 }), 40, ExpectDetect},
		{"1.6 % low", tone(func(t *Tone) { t.LowHz = 770 * 0.984 }), 40, ExpectEither},
		{"3.4 % high", tone(func(t *Tone) { t.HighHz = 1336 * 1.034 }), 40, ExpectEither},
		{"3.5 % high", tone(func(t *Tone) { t.HighHz = 1336 * 1.035 }), 40, ExpectReject},
		{"5 % low, short", tone(func(t *Tone) { t.LowHz, t.End = 770*0.95, t.Start+100 }), 40, ExpectReject},
		{"-26 dBm0", tone(func(t *Tone) { t.LowDBm0, t.HighDBm0 = -26, -26 }), 40, ExpectDetect},
		{"-26.5 dBm0", tone(func(t *Tone) { t.LowDBm0 = -26.5 }), 40, ExpectEither},
		{"0 dBm0", tone(func(t *Tone) { t.LowDBm0, t.HighDBm0 = 0, 0 }), 40, ExpectDetect},
		{"+0.5 dBm0", tone(func(t *Tone) { t.HighDBm0 = 0.5 }), 40, ExpectEither},
		{"twist +4", tone(func(t *Tone) { t.HighDBm0 = -6 }), 40, ExpectDetect},
		{"twist +4.5", tone(func(t *Tone) { t.HighDBm0 = -5.5 }), 40, ExpectEither},
		{"twist -8", tone(func(t *Tone) { t.HighDBm0 = -18 }), 40, ExpectDetect},
		{"twist -8.5", tone(func(t *Tone) { t.HighDBm0 = -18.5 }), 40, ExpectEither},
		{"SNR 15", base, 15, ExpectDetect},
		{"SNR 14.9", base, 14.9, ExpectEither},
		{"not a key", tone(func(t *Tone) { t.Digit = "E" }), 40, ExpectEither},
	} {
		if got := Classify(tc.tone, tc.snr); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestDigitFreqs(t *testing.T) {
	want := map[string][2]float64{
		"1": {697, 1209}, "2": {697, 1336}, "3": {697, 1477}, "A": {697, 1633},
		"5": {770, 1336}, "9": {852, 1477}, "*": {941, 1209}, "0": {941, 1336}, "#": {941, 1477}, "D": {941, 1633},
	}
	for d, f := range want {
		lo, hi, ok := digitFreqs(d)
		if !ok || lo != f[0] || hi != f[1] {
			t.Errorf("%s: %v %v %v, want %v", d, lo, hi, ok, f)
		}
	}
	if _, _, ok := digitFreqs("E"); ok {
		t.Error("E is a key")
	}
}

func TestBadSpec(t *testing.T) {
	ctx := context.Background()
	for name, s := range map[string]Spec{
		"no name":     {},
		"bad digit":   {Name: "x", Presses: []Press{{Digits: "5E", Ms: R(50)}}},
		"no length":   {Name: "x", Presses: []Press{{}}},
		"long ramp":   {Name: "x", Presses: []Press{{Ms: R(10), RampMs: R(6)}}},
		"background":  {Name: "x", Background: Background(99)},
		"lone babble": {Name: "x", Background: BackgroundBabble, Speakers: 1, Length: 1e9},
	} {
		if _, err := Generate(ctx, s); !errors.Is(err, ErrBadSpec) {
			t.Errorf("%s: %v, want ErrBadSpec", name, err)
		}
	}
}

func TestCanceled(t *testing.T) {
	needSpeech(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Generate(ctx, Spec{Name: "x", Presses: []Press{{Ms: R(50)}}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v, want context.Canceled", err)
	}
}

// small is a quick case with every kind of part: speech, groups of presses,
// noise.
func small(seed int64) Spec {
	return Spec{
		Name: "small", Seed: seed, Bursts: 2, PerBurst: 3, NoiseSNR: 25,
		Presses: []Press{{Ms: R(40, 120), DBm0: R(-20, -6), TwistDB: R(-2, 2)}},
	}
}

// TestDeterministic generates twice, once with an empty espeak-ng cache and
// once from the cache, and gets the same bytes; another seed differs.
func TestDeterministic(t *testing.T) {
	needSpeech(t)
	ctx := context.Background()
	t.Setenv("HUSHPHONE_DTMFGEN_CACHE", t.TempDir())
	var files [2]map[string][]byte
	var cases [2]*Case
	for i := range files {
		c, err := Generate(ctx, small(7))
		if err != nil {
			t.Fatal(err)
		}
		cases[i] = c
		dir := t.TempDir()
		if err := WriteCase(dir, c); err != nil {
			t.Fatal(err)
		}
		files[i] = readDir(t, dir)
	}
	if !reflect.DeepEqual(cases[0], cases[1]) {
		t.Error("the same spec gave different cases")
	}
	if len(files[0]) != 3 {
		t.Errorf("wrote %d files, want 3", len(files[0]))
	}
	for name, b := range files[0] {
		if !bytes.Equal(b, files[1][name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	other, err := Generate(ctx, small(8))
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(other.Samples, cases[0].Samples) {
		t.Error("seeds 7 and 8 gave the same samples")
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

// TestReadCorpus reads the repository's corpus (testdata/dtmf-corpus)
// through ReadCase: the truth format is the corpus's.
func TestReadCorpus(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "testdata", "dtmf-corpus")
	if _, err := os.Stat(filepath.Join(dir, "nominal.json")); err != nil {
		t.Fatalf("the corpus is part of the repository: %v", err)
	}
	for _, name := range []string{"nominal", "talkoff"} {
		c, err := ReadCase(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Samples) == 0 || (name == "nominal") != (len(c.Tones) > 0) || c.Speech != nil {
			t.Errorf("%s: %d samples, %d tones, %d speech samples", name, len(c.Samples), len(c.Tones), len(c.Speech))
		}
		for _, tone := range c.Tones {
			if tone.Expect == "" || tone.LowHz == 0 || tone.End <= tone.Start {
				t.Errorf("%s: tone read as %+v", name, tone)
			}
		}
	}
}

// fitDBm0 fits sines at the given frequencies to x by least squares (with a
// constant) and returns each one's level in dBm0. Sample 0 of x is at time
// t0 (in samples).
func fitDBm0(x []float64, t0 int, hz ...float64) (float64, float64) {
	k := 2*len(hz) + 1
	basis := func(i, j int) float64 {
		if j == 2*len(hz) {
			return 1
		}
		w := 2 * math.Pi * hz[j/2] * float64(t0+i) / SampleRate
		if j%2 == 0 {
			return math.Cos(w)
		}
		return math.Sin(w)
	}
	// Normal equations A c = b.
	a := make([][]float64, k)
	b := make([]float64, k)
	for r := range a {
		a[r] = make([]float64, k)
	}
	for i, v := range x {
		for r := range k {
			br := basis(i, r)
			b[r] += br * v
			for c := range k {
				a[r][c] += br * basis(i, c)
			}
		}
	}
	coef := solve(a, b)
	var levels [2]float64
	for f := range min(2, len(hz)) {
		amp := math.Hypot(coef[2*f], coef[2*f+1])
		levels[f] = 20 * math.Log10(amp/dBm0Peak)
	}
	return levels[0], levels[1]
}

// solve solves a small linear system by Gaussian elimination with partial
// pivoting.
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	for col := range n {
		p := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		a[col], a[p] = a[p], a[col]
		b[col], b[p] = b[p], b[col]
		for r := col + 1; r < n; r++ {
			f := a[r][col] / a[col][col]
			for c := col; c < n; c++ {
				a[r][c] -= f * a[col][c]
			}
			b[r] -= f * b[col]
		}
	}
	x := make([]float64, n)
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < n; c++ {
			s -= a[r][c] * x[c]
		}
		x[r] = s / a[r][r]
	}
	return x
}
