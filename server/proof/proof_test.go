package proof

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/dtmfgen"
	"github.com/hushphone/hushphone/internal/testing/testwav"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/media/wav"
)

// keyCase generates key presses over music (plain Go: no speech engine
// needed), every press one the specification says must be detected.
func keyCase(t testing.TB, seed int64) *dtmfgen.Case {
	t.Helper()
	c, err := dtmfgen.Generate(context.Background(), dtmfgen.Spec{
		Name:       "proof",
		Seed:       seed,
		Background: dtmfgen.BackgroundMusic,
		LevelDBm0:  dtmfgen.R(-30, -26),
		Presses: []dtmfgen.Press{{
			Digits:  "0123456789",
			Ms:      dtmfgen.R(70, 120),
			GapMs:   dtmfgen.R(150, 300),
			DBm0:    dtmfgen.R(-12, -6),
			TwistDB: dtmfgen.R(-2, 2),
		}},
		Bursts:   2,
		PerBurst: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tone := range c.Tones {
		if tone.Expect != dtmfgen.ExpectDetect {
			t.Fatalf("seed %d: a tone that need not be detected: %+v", seed, tone)
		}
	}
	return c
}

// digitsOf is the key presses' digits, in order.
func digitsOf(c *dtmfgen.Case) string {
	var b strings.Builder
	for _, tone := range c.Tones {
		b.WriteString(tone.Digit)
	}
	return b.String()
}

// maskAll runs the real Masker over x (in ModeTone unless told) and returns
// its output, look-ahead included, and the keys it reported.
func maskAll(t testing.TB, x []int16, opts ...mask.Option) ([]int16, int) {
	t.Helper()
	keys := 0
	m := mask.New(append(opts, mask.WithKeyEvents(func(ev dtmf.Event) {
		if ev.Phase == dtmf.KeyDown {
			keys++
		}
	}))...)
	n := (len(x)/mask.FrameSamples + 2) * mask.FrameSamples
	in := make([]int16, n)
	copy(in, x)
	out := make([]int16, n)
	for i := 0; i < n; i += mask.FrameSamples {
		if err := m.Process(out[i:i+mask.FrameSamples], in[i:i+mask.FrameSamples]); err != nil {
			t.Fatal(err)
		}
	}
	return out, keys
}

func writeWAV(t testing.TB, format wav.Format, channels int, samples []int16) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rec.wav")
	a := &wav.Audio{Header: wav.Header{Format: format, Channels: channels, SampleRate: SampleRate}, Samples: samples}
	if err := wav.WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
	return path
}

func check(t testing.TB, path string) Proof {
	t.Helper()
	p, err := CheckFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMaskedIsClean: the Masker's own output over key presses is clean, and
// holds one flat tone per key press, in every encoding a recording has.
func TestMaskedIsClean(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		c := keyCase(t, seed)
		out, keys := maskAll(t, c.Samples)
		if keys != len(c.Tones) {
			t.Fatalf("seed %d: the Masker reported %d keys of %d", seed, keys, len(c.Tones))
		}
		for _, f := range []wav.Format{wav.FormatPCM16, wav.FormatMuLaw, wav.FormatALaw} {
			p := check(t, writeWAV(t, f, 1, out))
			if p.Verdict != VerdictClean || p.HitCount != 0 || len(p.Hits) != 0 {
				t.Errorf("seed %d, %v: verdict %s with %d hits, want clean", seed, f, p.Verdict, p.HitCount)
			}
			if p.FlatTones != keys || len(p.FlatToneTimes) != keys {
				t.Errorf("seed %d, %v: %d flat tones (%d times), want %d", seed, f, p.FlatTones, len(p.FlatToneTimes), keys)
			}
			// Each flat tone begins where its key press did, plus the
			// look-ahead: up to 25 ms before it (the Masker masks whole
			// 5 ms blocks, and back from where it found the tone) and no
			// later than two blocks after.
			for i, ft := range p.FlatToneTimes {
				if i >= len(c.Tones) {
					break
				}
				want := samplesToDur(c.Tones[i].Start + mask.FrameSamples)
				if d := ft.At - want; d < -25*time.Millisecond || d > 10*time.Millisecond {
					t.Errorf("seed %d, %v: flat tone %d at %v, its key press (delayed) at %v", seed, f, i, ft.At, want)
				}
			}
			if p.KeysMasked != -1 || p.Channels != 1 || p.Detector != DetectorName || p.DetectorVersion == "" {
				t.Errorf("seed %d: proof %+v", seed, p)
			}
			if want := samplesToDur(len(out)); p.Duration != want {
				t.Errorf("seed %d: duration %v, want %v", seed, p.Duration, want)
			}
		}
	}
}

func samplesToDur(n int) time.Duration { return time.Duration(n) * time.Second / SampleRate }

// TestUnmaskedIsSuspect: key presses nobody masked are found, on their
// channel, where they are.
func TestUnmaskedIsSuspect(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		c := keyCase(t, seed)
		p := check(t, writeWAV(t, wav.FormatMuLaw, 1, c.Samples))
		if p.Verdict != VerdictSuspect {
			t.Fatalf("seed %d: verdict %s, want suspect", seed, p.Verdict)
		}
		if p.HitCount != len(c.Tones) || len(p.Hits) != len(c.Tones) {
			t.Fatalf("seed %d: %d hits (%d listed), want %d", seed, p.HitCount, len(p.Hits), len(c.Tones))
		}
		for i, h := range p.Hits {
			checkHitTime(t, h.At, c.Tones[i])
			if h.Channel != 0 {
				t.Errorf("seed %d: hit %d on channel %d", seed, i, h.Channel)
			}
		}
		if p.FlatTones != 0 {
			t.Errorf("seed %d: %d flat tones in audio the Masker never saw", seed, p.FlatTones)
		}
	}
}

// checkHitTime: spandsp reports a digit once it has seen enough of it, and
// a hit's time is the start of the frame it did so in: within two frames
// after the tone began (measured: 6 to 33 ms on these cases).
func checkHitTime(t testing.TB, at time.Duration, tone dtmfgen.Tone) {
	t.Helper()
	start := samplesToDur(tone.Start)
	if at < start-20*time.Millisecond || at > start+40*time.Millisecond {
		t.Errorf("hit at %v, its tone began at %v", at, start)
	}
}

// TestStereoRightChannel: a tone only on the right channel is found there
// and nowhere else; the left channel's masked tones are counted as flat.
func TestStereoRightChannel(t *testing.T) {
	c := keyCase(t, 4)
	left, keys := maskAll(t, keyCase(t, 5).Samples)
	p := check(t, writeWAV(t, wav.FormatPCM16, 2, testwav.Interleave(left, c.Samples)))
	if p.Verdict != VerdictSuspect || p.HitCount != len(c.Tones) || p.Channels != 2 {
		t.Fatalf("verdict %s, %d hits, %d channels; want suspect, %d, 2", p.Verdict, p.HitCount, p.Channels, len(c.Tones))
	}
	for i, h := range p.Hits {
		if h.Channel != 1 {
			t.Errorf("hit %d on channel %d, want 1 (right)", i, h.Channel)
		}
		checkHitTime(t, h.At, c.Tones[i])
	}
	if p.FlatTones != keys {
		t.Errorf("%d flat tones, want %d (the left channel's)", p.FlatTones, keys)
	}
	for _, ft := range p.FlatToneTimes {
		if ft.Channel != 0 {
			t.Errorf("flat tone on channel %d, want 0", ft.Channel)
		}
	}
	if want := samplesToDur(max(len(left), len(c.Samples))); p.Duration != want {
		t.Errorf("duration %v, want %v", p.Duration, want)
	}
}

// TestFlatToneCounter: what is and is not a flat tone.
func TestFlatToneCounter(t *testing.T) {
	c := keyCase(t, 6)
	silence, _ := maskAll(t, c.Samples, mask.WithMode(mask.ModeSilence))
	noise, _ := maskAll(t, c.Samples, mask.WithMode(mask.ModeNoise))
	sine := func(hz, dBm0 float64, ms int) []int16 {
		x := make([]int16, 8000)
		amp := 22860 * pow10(dBm0/20)
		for i := range ms * 8 {
			x[2000+i] = int16(amp * sinTurns(hz*float64(i)/SampleRate))
		}
		return x
	}
	for _, tc := range []struct {
		name string
		x    []int16
		want int
	}{
		{"the Masker in ModeSilence", silence, 0},
		{"the Masker in ModeNoise", noise, 0},
		{"2000 Hz at -18 dBm0 for 100 ms", sine(2000, -18, 100), 1},
		{"2000 Hz at -18 dBm0 for 35 ms", sine(2000, -18, 35), 1},
		{"2000 Hz at -18 dBm0 for 20 ms", sine(2000, -18, 20), 0},
		{"2000 Hz at -30 dBm0", sine(2000, -30, 100), 0},
		{"2000 Hz at -6 dBm0", sine(2000, -6, 100), 0},
		{"1900 Hz at -18 dBm0", sine(1900, -18, 100), 0},
		{"1633 Hz at -18 dBm0", sine(1633, -18, 100), 0},
		{"unmasked key presses", c.Samples, 0},
	} {
		p := check(t, writeWAV(t, wav.FormatPCM16, 1, tc.x))
		if p.FlatTones != tc.want {
			t.Errorf("%s: %d flat tones, want %d", tc.name, p.FlatTones, tc.want)
		}
	}
}

// TestBadInput: anything that is not an 8 kHz WAV file is an error wrapping
// ErrInput, never a panic, and the error never quotes the file.
func TestBadInput(t *testing.T) {
	good, err := os.ReadFile(writeWAV(t, wav.FormatPCM16, 1, make([]int16, 8000)))
	if err != nil {
		t.Fatal(err)
	}
	wide := bytes.Clone(good)
	binary.LittleEndian.PutUint32(wide[24:], 16000)
	binary.LittleEndian.PutUint32(wide[28:], 32000)
	stereo3 := bytes.Clone(good)
	binary.LittleEndian.PutUint16(stereo3[22:], 3)
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, wav.ErrNotWAV},
		{"card numbers", []byte("4111111111111111 12/29 123\n"), wav.ErrNotWAV},
		{"a RIFF that is not WAVE", append([]byte("RIFF\x04\x00\x00\x00AVI "), good[12:]...), wav.ErrNotWAV},
		{"the header cut short", good[:30], wav.ErrTruncated},
		{"the data cut short", good[:len(good)-1000], wav.ErrTruncated},
		{"16 kHz", wide, nil},
		{"three channels", stereo3, wav.ErrUnsupported},
	} {
		_, err := Check(context.Background(), bytes.NewReader(tc.b))
		if !errors.Is(err, ErrInput) {
			t.Errorf("%s: error %v, want one wrapping ErrInput", tc.name, err)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want one wrapping %v", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "4111") || strings.Contains(err.Error(), "12/29") {
			t.Errorf("%s: the error quotes the file: %v", tc.name, err)
		}
	}
	if _, err := CheckFile(context.Background(), filepath.Join(t.TempDir(), "missing.wav")); !errors.Is(err, ErrInput) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, bytes.NewReader(good)); !errors.Is(err, context.Canceled) || errors.Is(err, ErrInput) {
		t.Errorf("a cancelled check: %v, want context.Canceled and not ErrInput", err)
	}
}

// TestSHA256: the proof's hash is sha256sum's, of the whole file, chunks
// after the audio included.
func TestSHA256(t *testing.T) {
	path := writeWAV(t, wav.FormatALaw, 2, make([]int16, 16001*2))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A LIST chunk after the data (and its pad byte): the RIFF size grows.
	b = append(b, "LIST\x05\x00\x00\x00INFOx\x00"...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(context.Background(), "sha256sum", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(string(out))[0]
	if p := check(t, path); p.SHA256 != want {
		t.Errorf("sha256 %s, sha256sum says %s", p.SHA256, want)
	}
}

// TestNoDigitAnywhere: a suspect proof, in Go and in JSON, holds no digit
// of the key presses, and a Hit has no field that could hold one.
func TestNoDigitAnywhere(t *testing.T) {
	c := keyCase(t, 7)
	digits := digitsOf(c)
	if len(digits) < 8 {
		t.Fatalf("only %d key presses", len(digits))
	}
	p := check(t, writeWAV(t, wav.FormatPCM16, 1, c.Samples))
	if p.HitCount != len(digits) {
		t.Fatalf("%d hits, want %d", p.HitCount, len(digits))
	}
	js, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(js), strings.ReplaceAll(string(js), ",", ""), fmtGo(p)} {
		for i := 0; i+4 <= len(digits); i++ {
			if strings.Contains(s, digits[i:i+4]) {
				t.Errorf("the proof holds %q, four key presses in a row: %s", digits[i:i+4], s)
			}
		}
	}
	ht := reflect.TypeFor[Hit]()
	if ht.NumField() != 2 || ht.Field(0).Type.Kind() != reflect.Int || ht.Field(1).Type != reflect.TypeFor[time.Duration]() {
		t.Errorf("Hit is %v: it must hold a channel and a time, nothing that could be a digit", ht)
	}
	var back Proof
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, p)
	}
}

func fmtGo(p Proof) string {
	b, _ := json.Marshal(struct{ P any }{P: map[string]any{"hits": p.Hits, "flat": p.FlatToneTimes}})
	return string(b)
}

// TestVersionIsCurrent: version.go matches the installed spandsp; when it
// does not, run go generate ./server/proof.
func TestVersionIsCurrent(t *testing.T) {
	out, err := exec.CommandContext(context.Background(), "pkg-config", "--modversion", "spandsp").Output()
	if err != nil {
		t.Fatalf("pkg-config (the build needs it too): %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != modVersion {
		t.Errorf("spandsp is %s, version.go says %s: run go generate ./server/proof", got, modVersion)
	}
	if !strings.HasPrefix(DetectorVersion, modVersion+" (release ") {
		t.Errorf("DetectorVersion %q", DetectorVersion)
	}
}
