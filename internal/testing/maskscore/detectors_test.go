package maskscore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// find runs d on the file, skipping the test when the tool is missing.
func find(t *testing.T, d Detector, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got, err := d.Find(ctx, path)
	if errors.Is(err, ErrToolMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// common counts the digits of want that got has (multiset intersection).
func common(want, got string) int {
	return len(want) - len(ExtraDigits(got, want))
}

// TestDetectorsCorpus runs every detector on every unmasked corpus case and
// on its speech alone, and prints what each finds against the truth. On
// nominal each must find most of the key presses.
func TestDetectorsCorpus(t *testing.T) {
	dir, err := CorpusDir()
	if errors.Is(err, ErrNoCorpus) {
		t.Skip(err)
	}
	names, err := CaseNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, d := range Detectors() {
		t.Run(d.Name, func(t *testing.T) {
			var table strings.Builder
			for _, name := range names {
				c, err := LoadCase(dir, name)
				if err != nil {
					t.Fatal(err)
				}
				speech := filepath.Join(tmp, d.Name+"-"+name+"-speech.wav")
				if err := WriteWAV(speech, SpeechOnly(c)); err != nil {
					t.Fatal(err)
				}
				got := find(t, d, filepath.Join(dir, name+".wav"))
				alone := find(t, d, speech)
				want := c.Digits(ExpectDetect)
				fmt.Fprintf(&table, "\n%-8s detect %2d/%2d  either %d/%d  found %2d %-26q speech alone %q",
					name, common(want, got), len(want),
					common(c.Digits(ExpectEither), ExtraDigits(want, got)), len(c.Digits(ExpectEither)),
					len(got), got, alone)
				switch name {
				case "nominal":
					if n := common(want, got); 10*n < 8*len(want) {
						t.Errorf("%s on nominal found %d of the %d key presses (%q in %q)", d.Name, n, len(want), got, want)
					}
				case "talkoff":
					t.Logf("talk-off baseline: %s finds %d digits (%q) in a minute of speech", d.Name, len(got), got)
				}
			}
			t.Log(table.String())
		})
	}
}

func TestDtmfRxHits(t *testing.T) {
	c := loadCase(t, "nominal")
	dir, _ := CorpusDir()
	ctx := context.Background()
	hits, err := DtmfRxHits(ctx, filepath.Join(dir, "nominal.wav"))
	if errors.Is(err, ErrToolMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	// Every hit lies in (or within a frame after) a tone of its digit.
	for _, h := range hits {
		ok := false
		for _, tone := range c.Tones {
			if tone.Digit == h.Digit && h.Sample >= tone.Start-160 && h.Sample <= tone.End+160 {
				ok = true
			}
		}
		if !ok {
			t.Errorf("hit %+v matches no tone", h)
		}
	}
	// The same through FindSamples.
	d := Detectors()[0]
	got, err := d.FindSamples(ctx, c.Samples)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(hits) {
		t.Errorf("FindSamples found %q, DtmfRxHits %d hits", got, len(hits))
	}
}

func TestDtmfRxBench(t *testing.T) {
	dir, err := CorpusDir()
	if errors.Is(err, ErrNoCorpus) {
		t.Skip(err)
	}
	ns, err := DtmfRxBench(context.Background(), filepath.Join(dir, "nominal.wav"), 20)
	if errors.Is(err, ErrToolMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("spandsp dtmf_rx: %.0f ns per 20 ms frame", ns)
	if ns <= 0 || ns > 1e6 {
		t.Errorf("%.0f ns per frame is not plausible", ns)
	}
}

func TestExtraDigits(t *testing.T) {
	tests := []struct{ baseline, got, want string }{
		{"", "", ""},
		{"", "12", "12"},
		{"12", "", ""},
		{"9", "9", ""},
		{"9", "99", "9"},
		{"A9", "9AA#9", "A#9"},
		{"123", "321", ""},
	}
	for _, tt := range tests {
		if got := ExtraDigits(tt.baseline, tt.got); got != tt.want {
			t.Errorf("ExtraDigits(%q, %q) = %q, want %q", tt.baseline, tt.got, got, tt.want)
		}
	}
}

// TestDetectorsPerfectMasker: a perfect masker (every tone replaced by a
// steady 500 Hz tone, 20 ms look-ahead) gives the detectors nothing beyond
// what they find in the speech alone delayed alike; the undelayed baseline
// is logged to show why the baseline must be delayed.
func TestDetectorsPerfectMasker(t *testing.T) {
	ctx := context.Background()
	for _, name := range []string{"nominal", "talkoff"} {
		c := loadCase(t, name)
		out := Delayed(passFirst(0, 1, 500)(c), 160)
		for _, d := range Detectors() {
			got, err := d.FindSamples(ctx, out)
			if errors.Is(err, ErrToolMissing) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			base, err := d.FindSamples(ctx, Delayed(SpeechOnly(c), 160))
			if err != nil {
				t.Fatal(err)
			}
			undelayed, err := d.FindSamples(ctx, SpeechOnly(c))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%-8s %-12s output %q, speech alone delayed %q, undelayed %q (extra vs undelayed %q)",
				name, d.Name, got, base, undelayed, ExtraDigits(undelayed, got))
			if extra := ExtraDigits(base, got); extra != "" {
				t.Errorf("%s on %s: extra digits %q in the output (%q) over the speech alone (%q)", d.Name, name, extra, got, base)
			}
		}
	}
}
