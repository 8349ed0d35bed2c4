package mask

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/dtmfgen"
	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/media/dtmf"
)

// judged is one piece of caller audio with its truth, and the speech alone.
type judged struct {
	name   string
	in     []int16
	speech []int16
	tones  []maskscore.Tone
}

// judge runs the Masker over c and checks every measure of the corpus
// README: leak, speech kept, flat tone, each key reported exactly once, and
// the three independent detectors finding nothing beyond what they find in
// the speech alone.
func judge(t *testing.T, c judged) {
	t.Helper()
	m := New()
	out, evs := runMasker(t, m, c.in)
	rep, err := maskscore.Score(c.in, out, c.tones, maskscore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s", c.name, rep)
	for _, p := range rep.Problems(maskscore.DefaultLimits()) {
		t.Errorf("%s: %s", c.name, p)
	}
	if rep.Delay != m.LookaheadSamples() {
		t.Errorf("%s: output delayed %d samples, the look-ahead is %d", c.name, rep.Delay, m.LookaheadSamples())
	}
	checkReports(t, c.name, c.tones, evs)

	// Independent detectors, on the output as a listener hears it.
	heard := out[m.LookaheadSamples():][:len(c.in)]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, d := range maskscore.Detectors() {
		base, err := d.FindSamples(ctx, c.speech)
		if errors.Is(err, maskscore.ErrToolMissing) && os.Getenv("CI") == "" {
			t.Skipf("%s: %v (CI installs it)", d.Name, err)
		}
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		got, err := d.FindSamples(ctx, heard)
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		if extra := maskscore.ExtraDigits(base, got); extra != "" {
			t.Errorf("%s: %s finds %d digit(s) in the masked output beyond the %d it finds in the speech alone",
				c.name, d.Name, len(extra), len(base))
		}
	}
}

// reportMatch is a key report (its KeyUp) and the tones it overlaps, give
// or take 20 ms.
type reportMatch struct {
	ev    dtmf.Event
	start int   // the report's start, in samples
	tones []int // indexes in the tones
}

// matchReports matches each reported key press (its KeyUp) to the tones it
// overlaps.
func matchReports(tones []maskscore.Tone, evs []dtmf.Event) []reportMatch {
	var out []reportMatch
	for _, e := range evs {
		if e.Phase != dtmf.KeyUp {
			continue
		}
		m := reportMatch{ev: e, start: int(e.Start * SampleRate / time.Second)}
		end := int(e.End * SampleRate / time.Second)
		for i, tn := range tones {
			if m.start < tn.End+160 && end > tn.Start-160 {
				m.tones = append(m.tones, i)
			}
		}
		out = append(out, m)
	}
	return out
}

// checkReports matches key events to the truth: every detect tone reported
// exactly once with its digit, no reject tone reported, nothing reported
// where there was no tone.
func checkReports(t *testing.T, name string, tones []maskscore.Tone, evs []dtmf.Event) {
	t.Helper()
	hits := make([]int, len(tones))
	for _, m := range matchReports(tones, evs) {
		e := m.ev
		for _, i := range m.tones {
			tn := tones[i]
			hits[i]++
			if tn.Digit != string(e.Digit) {
				t.Errorf("%s: tone %d [%d,%d) is %q, reported as %q", name, i, tn.Start, tn.End, tn.Digit, e.Digit)
			}
			if d := m.start - tn.Start; d < -160 || d > 160 {
				t.Errorf("%s: tone %d reported starting %d ms off", name, i, d/8)
			}
		}
		if len(m.tones) == 0 {
			t.Errorf("%s: key reported at %v..%v where there was no key press (talk-off)", name, e.Start, e.End)
		}
	}
	for i, tn := range tones {
		switch {
		case tn.Expect == "detect" && hits[i] != 1:
			t.Errorf("%s: tone %d [%d,%d) %s reported %d times, want once", name, i, tn.Start, tn.End, tn.Digit, hits[i])
		case tn.Expect == "reject" && hits[i] != 0:
			t.Errorf("%s: tone %d [%d,%d) must not be reported (%s), reported %d times", name, i, tn.Start, tn.End, tn.Digit, hits[i])
		case tn.Expect == "either" && hits[i] > 1:
			t.Errorf("%s: tone %d reported %d times", name, i, hits[i])
		}
	}
}

// TestCorpus judges the Masker on every case of the corpus in testdata/.
func TestCorpus(t *testing.T) {
	dir := maskscore.NeedCorpus(t)
	names, err := maskscore.CaseNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 12 {
		t.Fatalf("corpus has %d cases, want 12", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			c, err := maskscore.LoadCase(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			judge(t, judged{name: name, in: c.Samples, speech: maskscore.SpeechOnly(c), tones: c.Tones})
		})
	}
}

// TestGenerated judges the Masker on our own audio: other voices (espeak-ng),
// music and noise, other seeds, every limit of the specification.
func TestGenerated(t *testing.T) {
	if err := dtmfgen.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	seeds := []int64{1, 2}
	if testing.Short() {
		seeds = seeds[:1]
	}
	if s := os.Getenv("HUSHPHONE_SEEDS"); s != "" {
		// More seeds, for tuning: HUSHPHONE_SEEDS=10 runs seeds 1..10.
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("HUSHPHONE_SEEDS=%q: %v", s, err)
		}
		seeds = seeds[:0]
		for i := 1; i <= n; i++ {
			seeds = append(seeds, int64(i))
		}
	}
	for _, seed := range seeds {
		cases, err := dtmfgen.Suite(context.Background(), seed)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/seed%d", c.Name, seed), func(t *testing.T) {
				tones := c.Tones
				if strings.Contains(c.Name, "music") {
					// The generator's music holds near-pure two-note
					// chords close to DTMF pairs: to a listener and to
					// any detector they sound like key presses, and the
					// Masker masks them (so speech SNR is not asserted).
					// Talk-off is: no digit may be reported.
					_, evs := runMasker(t, New(), c.Samples)
					checkReports(t, c.Name, tones, evs)
					return
				}
				judge(t, judged{name: c.Name, in: c.Samples, speech: c.Speech, tones: tones})
			})
		}
	}
}
