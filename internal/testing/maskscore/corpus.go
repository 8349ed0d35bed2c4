package maskscore

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// What a tone of the corpus expects of a detector.
const (
	ExpectDetect = "detect" // a valid key press: reported exactly once, masked
	ExpectEither = "either" // at a limit: reporting it or not are both correct; masked
	ExpectReject = "reject" // not a key press: never reported
)

// Tone is one tone of a case, in the input's time line.
type Tone struct {
	Digit    string  `json:"digit"`
	Start    int     `json:"start"` // first sample
	End      int     `json:"end"`   // end exclusive
	LowHz    float64 `json:"low_hz"`
	HighHz   float64 `json:"high_hz"`
	LowDBm0  float64 `json:"low_dbm0"`
	HighDBm0 float64 `json:"high_dbm0"`
	Expect   string  `json:"expect"` // ExpectDetect, ExpectEither or ExpectReject
}

// Case is one corpus case: the caller's audio and the truth about its tones.
type Case struct {
	Name    string
	Samples []int16
	Tones   []Tone
}

// ErrNoCorpus is returned when the DTMF corpus cannot be found.
var ErrNoCorpus = errors.New("dtmf corpus not found")

// CorpusEnv names the environment variable that overrides the corpus location.
const CorpusEnv = "HUSHPHONE_CORPUS"

// NeedCorpus is CorpusDir for a test: the corpus is part of the
// repository, so a test without it fails.
func NeedCorpus(t testing.TB) string {
	t.Helper()
	dir, err := CorpusDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// CorpusDir finds the DTMF corpus: $HUSHPHONE_CORPUS if set, otherwise
// the repository's own testdata/dtmf-corpus (under the module root, the
// directory holding go.mod, found by walking up from the working
// directory).
func CorpusDir() (string, error) {
	if dir := os.Getenv(CorpusEnv); dir != "" {
		if !isDir(dir) {
			return "", fmt.Errorf("%w: %s=%s is not a directory", ErrNoCorpus, CorpusEnv, dir)
		}
		return dir, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return "", fmt.Errorf("%w: %w; set %s to the dtmf-corpus directory", ErrNoCorpus, err, CorpusEnv)
	}
	dir := filepath.Join(root, "testdata", "dtmf-corpus")
	if !isDir(dir) {
		return "", fmt.Errorf("%w: %s does not exist; set %s to the dtmf-corpus directory", ErrNoCorpus, dir, CorpusEnv)
	}
	return dir, nil
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

type caseJSON struct {
	Case       string `json:"case"`
	SampleRate int    `json:"sample_rate"`
	Samples    int    `json:"samples"`
	Events     []Tone `json:"events"` // null means none
}

// LoadCase loads NAME.wav (8 kHz mono PCM16) and NAME.json from dir.
func LoadCase(dir, name string) (*Case, error) {
	samples, err := ReadWAV(filepath.Join(dir, name+".wav"))
	if err != nil {
		return nil, fmt.Errorf("load case %s: %w", name, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return nil, fmt.Errorf("load case %s: %w", name, err)
	}
	var meta caseJSON
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("load case %s: %s.json: %w", name, name, err)
	}
	if meta.SampleRate != 0 && meta.SampleRate != SampleRate {
		return nil, fmt.Errorf("load case %s: sample_rate %d, want %d", name, meta.SampleRate, SampleRate)
	}
	if meta.Samples != 0 && meta.Samples != len(samples) {
		return nil, fmt.Errorf("load case %s: json says %d samples, wav has %d", name, meta.Samples, len(samples))
	}
	for i, t := range meta.Events {
		if t.Start < 0 || t.End <= t.Start || t.End > len(samples) {
			return nil, fmt.Errorf("load case %s: event %d spans [%d,%d) outside the %d samples", name, i, t.Start, t.End, len(samples))
		}
		switch t.Expect {
		case ExpectDetect, ExpectEither, ExpectReject:
		default:
			return nil, fmt.Errorf("load case %s: event %d: unknown expect %q", name, i, t.Expect)
		}
	}
	return &Case{Name: name, Samples: samples, Tones: meta.Events}, nil
}

// CaseNames lists the cases in dir: every NAME with both NAME.json and
// NAME.wav, sorted.
func CaseNames(dir string) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	var names []string
	for _, m := range matches {
		name := strings.TrimSuffix(filepath.Base(m), ".json")
		if _, err := os.Stat(filepath.Join(dir, name+".wav")); err == nil {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no NAME.json + NAME.wav pairs in %s", ErrNoCorpus, dir)
	}
	sort.Strings(names)
	return names, nil
}

// Digits returns the digits of the tones that expect e, in order.
func (c *Case) Digits(e string) string {
	var b strings.Builder
	for _, t := range c.Tones {
		if t.Expect == e {
			b.WriteString(t.Digit)
		}
	}
	return b.String()
}

// SpeechOnly returns the input with every tone interval (reject tones
// included) replaced by silence: the baseline "speech alone" for the
// independent detectors. Compare an output against the baseline delayed as
// much as the output (Delayed(SpeechOnly(c), report.Delay)): what dtmf2num
// and multimon-ng find in speech depends on where their blocks fall, so an
// undelayed baseline shows digits that are no fault of the masker.
func SpeechOnly(c *Case) []int16 {
	out := make([]int16, len(c.Samples))
	copy(out, c.Samples)
	for _, t := range c.Tones {
		clear(out[max(t.Start, 0):min(t.End, len(out))])
	}
	return out
}

// ExtraDigits returns the digits in got beyond those in baseline, as a
// multiset difference, in the order they appear in got.
func ExtraDigits(baseline, got string) string {
	left := map[rune]int{}
	for _, r := range baseline {
		left[r]++
	}
	var b strings.Builder
	for _, r := range got {
		if left[r] > 0 {
			left[r]--
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Delayed returns x delayed by d samples (d >= 0) and cut to len(x), the way a
// streaming masker with a look-ahead of d samples writes its output.
func Delayed(x []int16, d int) []int16 {
	out := make([]int16, len(x))
	if d < len(x) {
		copy(out[d:], x[:len(x)-d])
	}
	return out
}
