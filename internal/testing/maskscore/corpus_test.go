package maskscore

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCorpus(t *testing.T) {
	dir := NeedCorpus(t)
	names, err := CaseNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"nominal", "talkoff", "short"} {
		if !slices.Contains(names, want) {
			t.Errorf("cases %q lack %s", names, want)
		}
	}
	c, err := LoadCase(dir, "talkoff")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tones) != 0 || len(c.Samples) < 8000*50 {
		t.Errorf("talkoff: %d tones, %d samples", len(c.Tones), len(c.Samples))
	}
	c, err = LoadCase(dir, "short")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Tones) == 0 || c.Digits(ExpectReject) == "" || c.Digits(ExpectDetect) != "" {
		t.Errorf("short: %+v", c.Tones)
	}

	s := SpeechOnly(c)
	for _, tone := range c.Tones {
		for i := tone.Start; i < tone.End; i++ {
			if s[i] != 0 {
				t.Fatalf("SpeechOnly left sample %d of tone [%d,%d)", i, tone.Start, tone.End)
			}
		}
		if k := tone.Start - 1; s[k] != c.Samples[k] {
			t.Errorf("SpeechOnly changed sample %d before a tone", k)
		}
	}

	t.Setenv(CorpusEnv, filepath.Join(t.TempDir(), "missing"))
	if _, err := CorpusDir(); !errors.Is(err, ErrNoCorpus) {
		t.Errorf("missing %s: %v", CorpusEnv, err)
	}
	t.Setenv(CorpusEnv, dir)
	if got, err := CorpusDir(); err != nil || got != dir {
		t.Errorf("CorpusDir() = %q, %v; want %q", got, err, dir)
	}
}

func TestWAV(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	in := []int16{0, 1, -1, 32767, -32768, 1234}
	if err := WriteWAV(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(in, out) {
		t.Errorf("round trip %v, got %v", in, out)
	}

	b := encodeWAV(in)
	b[24] = 0x44 // 8000 Hz -> another rate
	bad := filepath.Join(t.TempDir(), "bad.wav")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadWAV(bad); !errors.Is(err, ErrWAV) {
		t.Errorf("wrong rate: %v, want ErrWAV", err)
	}
	if _, err := parseWAV([]byte("RIFF")); !errors.Is(err, ErrWAV) {
		t.Errorf("short header: %v, want ErrWAV", err)
	}
}
