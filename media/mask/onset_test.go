package mask

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/dtmfgen"
	"github.com/hushphone/hushphone/internal/testing/maskscore"
)

// onsetTone is the measurement of one tone of an onset case.
type onsetTone struct {
	press   dtmfgen.OnsetPress
	tone    maskscore.Tone
	leakDB  float64 // the scorer's worst window
	through int     // samples of the tone that went out unmasked (silence mode)
	first   int     // of them, those from its first sample on: the onset's leak
	nearSNR float64 // speech kept in the 50 ms just outside the tone's guard, both sides, dB
	reports int     // times it was reported
}

// onsetResult is the measurement of one onset case.
type onsetResult struct {
	c        *dtmfgen.OnsetCase
	tones    []onsetTone
	snr      float64 // the scorer's speech SNR outside every tone
	missed   int     // detect tones not reported exactly once
	extra    int     // reports where no tone was, and tones reported twice
	hits     int     // digits the independent detectors find beyond the speech alone
	detected bool    // hits was measured
}

// measureOnset runs the Masker (with opts) over c and measures it with the
// corpus README's scorer; with detectors, the independent detectors too.
func measureOnset(t testing.TB, c *dtmfgen.OnsetCase, detectors bool, opts ...Option) onsetResult {
	t.Helper()
	m := New(opts...)
	d := m.LookaheadSamples()
	out, evs := runMasker(t, m, c.Samples)
	rep, err := maskscore.Score(c.Samples, out, c.Tones, maskscore.Options{Delay: d, DelayKnown: true})
	if err != nil {
		t.Fatal(err)
	}
	silent, _ := runMasker(t, New(append(opts[:len(opts):len(opts)], WithMode(ModeSilence))...), c.Samples)
	res := onsetResult{c: c, snr: rep.SpeechSNRDB}
	leaks := map[int]float64{}
	for _, ts := range rep.Tones {
		leaks[ts.Tone.Start] = ts.LeakDB
	}
	for i, tn := range c.Tones {
		ot := onsetTone{press: c.Presses[i], tone: tn, leakDB: leaks[tn.Start]}
		for j := tn.Start; j < tn.End; j++ {
			if silent[j+d] != 0 {
				ot.through++
			}
		}
		for j := tn.Start; j < tn.End && silent[j+d] != 0; j++ {
			ot.first++
		}
		var sig, errs float64
		for _, span := range [][2]int{
			{tn.Start - maskscore.GuardBefore - 400, tn.Start - maskscore.GuardBefore},
			{tn.End + maskscore.GuardAfter, tn.End + maskscore.GuardAfter + 400},
		} {
			for j := max(span[0], 0); j < min(span[1], len(c.Samples)); j++ {
				x := float64(c.Samples[j])
				e := float64(out[j+d]) - x
				sig += x * x
				errs += e * e
			}
		}
		ot.nearSNR = 200
		if errs > 0 {
			ot.nearSNR = 10 * math.Log10(max(sig, 1)/errs)
		}
		res.tones = append(res.tones, ot)
	}
	// Reports: each matched to the tone it overlaps.
	for _, m := range matchReports(c.Tones, evs) {
		for _, i := range m.tones {
			res.tones[i].reports++
			if string(m.ev.Digit) != c.Tones[i].Digit {
				res.extra++ // a wrong digit
			}
		}
		if len(m.tones) == 0 {
			res.extra++
		}
	}
	for _, ot := range res.tones {
		switch {
		case ot.tone.Expect == maskscore.ExpectDetect && ot.reports != 1:
			res.missed++
		case ot.reports > 1:
			res.extra += ot.reports - 1
		}
	}
	if detectors {
		heard := out[d:][:len(c.Samples)]
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, det := range maskscore.Detectors() {
			base, err := det.FindSamples(ctx, c.Speech)
			if err != nil {
				t.Fatalf("%s: %v", det.Name, err)
			}
			got, err := det.FindSamples(ctx, heard)
			if err != nil {
				t.Fatalf("%s: %v", det.Name, err)
			}
			res.hits += len(maskscore.ExtraDigits(base, got))
		}
		res.detected = true
	}
	return res
}

// onsetCases generates the onset suite for seeds 1..n, two at a time.
func onsetCases(t testing.TB, seeds int) []*dtmfgen.OnsetCase {
	t.Helper()
	if err := dtmfgen.Available(); err != nil {
		t.Fatal(err) // build/install-deps.sh installs espeak-ng
	}
	recs, err := dtmfgen.Recordings()
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		all   = make([][]*dtmfgen.OnsetCase, seeds)
		first error
	)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for s := range seeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cs, err := dtmfgen.OnsetSuite(context.Background(), int64(s+1), recs)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			all[s] = cs
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
	var out []*dtmfgen.OnsetCase
	for _, cs := range all {
		out = append(out, cs...)
	}
	return out
}

// measureAll measures every case, as many at a time as GOMAXPROCS.
func measureAll(t testing.TB, cases []*dtmfgen.OnsetCase, detectors bool, opts ...Option) []onsetResult {
	t.Helper()
	res := make([]onsetResult, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res[i] = measureOnset(t, c, detectors, opts...)
		}()
	}
	wg.Wait()
	return res
}

// onsetStats summarizes a set of tones and cases.
type onsetStats struct {
	tones, leaky, missed, extra, hits int
	// tones let through: whole (never masked), from the onset (masking
	// began late), later (masking stopped before the tone did)
	whole, onset, later int
	maxFirst            int // the most samples let through from an onset
	worstLeak           float64
	maxThrough          int
	minSNR, minNear     float64
}

func newOnsetStats() onsetStats {
	return onsetStats{worstLeak: maskscore.LeakFloorDB, minSNR: math.Inf(1), minNear: math.Inf(1)}
}

func (s *onsetStats) addTone(ot onsetTone) {
	s.tones++
	if ot.leakDB > maskscore.MaxLeakDB {
		s.leaky++
	}
	s.worstLeak = max(s.worstLeak, ot.leakDB)
	s.maxThrough = max(s.maxThrough, ot.through)
	switch n := ot.tone.End - ot.tone.Start; {
	case ot.through == n:
		s.whole++
	case ot.first > 0:
		s.onset++
		s.maxFirst = max(s.maxFirst, ot.first)
	case ot.through > 0:
		s.later++
	}
	s.minNear = min(s.minNear, ot.nearSNR)
	if ot.tone.Expect == maskscore.ExpectDetect && ot.reports != 1 {
		s.missed++
	}
}

func (s *onsetStats) addCase(r onsetResult) {
	s.minSNR = min(s.minSNR, r.snr)
	s.extra += r.extra
	s.hits += r.hits
}

func (s onsetStats) row(name string) string {
	return fmt.Sprintf("%-24s %5d %8.1f %5d %5d %5d %5d %5d %5d %7.1f %7.1f %6d %5d %5d\n", name, s.tones, s.worstLeak, s.leaky,
		s.whole, s.onset, s.maxFirst, s.later, s.maxThrough, s.minSNR, s.minNear, s.missed, s.extra, s.hits)
}

// The columns: tones; the worst leak (dB, the scorer's); tones over -40 dB;
// tones let through whole (never masked), from their onset (masking began
// late: an onset leak) with the most samples so let through, and later
// (masking stopped before the tone did); the most samples of one tone let
// through in all; the lowest
// speech SNR of a case outside every tone (the scorer's) and in the 50 ms
// just outside one tone's guard; detect tones not reported exactly once;
// extra reports; digits the three independent detectors find in the output
// beyond those they find in the background alone.
const onsetHeader = "group                    tones  worstdB >-40 whole onset first later  thru caseSNR nearSNR missed extra  hits\n"

// onsetReport is the tables of the report: per background and placement,
// per level, per kind of tone, and per position in the frame.
func onsetReport(res []onsetResult) string {
	var b strings.Builder
	group := func(title string, key func(onsetResult, onsetTone) string) {
		stats := map[string]*onsetStats{}
		cased := map[string]map[*dtmfgen.OnsetCase]bool{}
		total := newOnsetStats()
		for _, r := range res {
			total.addCase(r)
			for _, ot := range r.tones {
				k := key(r, ot)
				s, ok := stats[k]
				if !ok {
					n := newOnsetStats()
					s = &n
					stats[k] = s
					cased[k] = map[*dtmfgen.OnsetCase]bool{}
				}
				s.addTone(ot)
				total.addTone(ot)
				if !cased[k][r.c] {
					cased[k][r.c] = true
					s.addCase(r)
				}
			}
		}
		keys := make([]string, 0, len(stats))
		for k := range stats {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "\nby %s (caseSNR, extra and hits are those of the cases holding the group's tones)\n%s", title, onsetHeader)
		for _, k := range keys {
			b.WriteString(stats[k].row(k))
		}
		b.WriteString(total.row("all"))
	}
	group("background and placement", func(r onsetResult, _ onsetTone) string {
		return r.c.Background + "/" + r.c.Placement.String()
	})
	group("level of the background at the onset (dB re the tone) and placement", func(r onsetResult, ot onsetTone) string {
		return fmt.Sprintf("%+03.0f dB/%s", ot.press.LevelDB, r.c.Placement)
	})
	group("kind of tone", func(_ onsetResult, ot onsetTone) string { return ot.press.Kind })
	group("onset's position in the 20 ms frame (samples)", func(_ onsetResult, ot onsetTone) string {
		lo := ot.press.Offset / 20 * 20
		return fmt.Sprintf("%03d-%03d", lo, lo+19)
	})
	return b.String()
}

// onsetSeeds is $HUSHPHONE_SEEDS, or def.
func onsetSeeds(t testing.TB, def int) int {
	t.Helper()
	s := os.Getenv("HUSHPHONE_SEEDS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("HUSHPHONE_SEEDS=%q: want a number of seeds", s)
	}
	return n
}

// onsetLookahead is $HUSHPHONE_LOOKAHEAD (a duration such as 40ms), or
// DefaultLookahead.
func onsetLookahead(t testing.TB) time.Duration {
	t.Helper()
	s := os.Getenv("HUSHPHONE_LOOKAHEAD")
	if s == "" {
		return DefaultLookahead
	}
	d, err := time.ParseDuration(s)
	if err == nil {
		err = CheckLookahead(d)
	}
	if err != nil {
		t.Fatalf("HUSHPHONE_LOOKAHEAD=%q: %v", s, err)
	}
	return d
}

// TestSpeechOnset measures the Masker on key presses whose onset is in
// speech (espeak-ng and the recorded human voices of testdata/voices),
// music and noise, and logs the tables issue 11 asks for (run with -v):
// worst leak (the scorer's dB, and samples of the tone let through), speech
// kept, missed and extra digits, independent detector hits, by background
// and placement, by level, by kind of tone and by the onset's position in
// the frame. HUSHPHONE_SEEDS=N measures N seeds (default 8, 2 with -short);
// HUSHPHONE_LOOKAHEAD=40ms measures a Masker with that look-ahead (default
// 20ms), for the trade of leak against delay in docs/operating.md.
//
// It asserts only what holds today, so that it cannot regress:
//   - every detect tone is reported exactly once, in every case;
//   - no sample of a tone gets through (and no window leaks over -40 dB)
//     when the background stops at the onset, at every level, or when it is
//     18 dB or more under the tone, in every placement (on 16 seeds too);
//   - with the background 12 dB or more under the tone, masking starts by
//     every tone's first sample (what still leaks there is let out before
//     the tone ends: one tone at -12 dB over 8 seeds, two over 16);
//   - where the background stops at the onset, no report is extra and the
//     independent detectors find nothing beyond the background alone;
//   - the speech SNR outside the tones and just outside each tone's guard
//     is 30 dB or more in every case of a voice or of noise (at the
//     default look-ahead);
//   - with the background 6 dB under the tone (around or from the onset),
//     at most 14 % of the tones leak over -40 dB (83 of 704 over 8 seeds;
//     310 before the detector's tests for a pure pair under other sound).
//
// What does not hold yet (tones under speech 18 dB or less below them
// masked late or not at all, speech near tones in music and babble cut) is
// in the tables, for the before-and-after numbers.
//
//	go test ./media/mask -run TestSpeechOnset -v -timeout 30m
func TestSpeechOnset(t *testing.T) {
	seeds := 8
	if testing.Short() {
		seeds = 2
	}
	seeds = onsetSeeds(t, seeds)
	la := onsetLookahead(t)
	start := time.Now()
	cases := onsetCases(t, seeds)
	res := measureAll(t, cases, true, WithLookahead(la))
	t.Logf("look-ahead %v, %d seeds, %d cases, %d tones, in %v\n%s", la, seeds, len(cases), len(cases)*len(cases[0].Tones), time.Since(start).Round(time.Second), onsetReport(res))

	var worst []string
	for _, r := range res {
		c := r.c
		before := c.Placement == dtmfgen.PlaceBefore
		if r.missed != 0 {
			t.Errorf("%s: %d detect tones not reported exactly once", c.Name, r.missed)
		}
		if before && r.extra != 0 {
			t.Errorf("%s: %d extra reports", c.Name, r.extra)
		}
		if before && r.hits != 0 {
			t.Errorf("%s: the independent detectors find %d digits beyond the background alone", c.Name, r.hits)
		}
		for _, ot := range r.tones {
			if ot.leakDB > maskscore.MaxLeakDB || ot.through > 0 || ot.nearSNR < maskscore.MinSpeechSNRDB {
				worst = append(worst, fmt.Sprintf("%s tone [%d,%d) %s %s, background %+.0f dB, onset at %d in its frame: leak %.1f dB, %d samples through, speech near it %.1f dB, reported %d",
					c.Name, ot.tone.Start, ot.tone.End, ot.tone.Expect, ot.press.Kind, ot.press.LevelDB, ot.press.Offset,
					ot.leakDB, ot.through, ot.nearSNR, ot.reports))
			}
			if ot.press.LevelDB <= -12 && ot.first > 0 {
				t.Errorf("%s: tone [%d,%d) %s, background %+.0f dB, onset at %d in its frame: its first %d samples let out",
					c.Name, ot.tone.Start, ot.tone.End, ot.press.Kind, ot.press.LevelDB, ot.press.Offset, ot.first)
			}
			if !before && ot.press.LevelDB > -18 {
				continue
			}
			if ot.through > 0 || ot.leakDB > maskscore.MaxLeakDB {
				t.Errorf("%s: tone [%d,%d) %s, background %+.0f dB, onset at %d in its frame: %d samples through, leak %.1f dB",
					c.Name, ot.tone.Start, ot.tone.End, ot.press.Kind, ot.press.LevelDB, ot.press.Offset, ot.through, ot.leakDB)
			}
		}
	}
	t.Logf("%d tones leak, let a sample through or lose speech near them (the first 40):\n%s", len(worst), strings.Join(worst[:min(len(worst), 40)], "\n"))

	// Speech stays whole near the tones, in every voice and in noise: the
	// Masker lets go of a tone once its levels fall 12 dB under their
	// highest (dtmf's holdFall). Without that, a voice holding a share of
	// the tone's two frequencies kept masking going past the tone's end
	// and its 80 ms guard (espeak-ng: -9.1 dB of speech kept just outside
	// it). The generated music (whose chords of pure sinusoids are masked
	// as pairs; the recorded music's are not) and babble (one pure pair in it is masked like a key
	// press) are left out. A longer
	// look-ahead trades some of that speech for its reach back (50 ms:
	// 10.9 dB just before one tone; docs/operating.md).
	for _, r := range res {
		if la != DefaultLookahead {
			break
		}
		if r.c.Background == "music-gen" || r.c.Background == "babble" {
			continue
		}
		if r.snr < maskscore.MinSpeechSNRDB {
			t.Errorf("%s: speech SNR %.1f dB outside the tones", r.c.Name, r.snr)
		}
		for _, ot := range r.tones {
			if ot.nearSNR < maskscore.MinSpeechSNRDB {
				t.Errorf("%s: tone [%d,%d): speech SNR %.1f dB just outside its guard", r.c.Name, ot.tone.Start, ot.tone.End, ot.nearSNR)
			}
		}
	}

	// With the background 6 dB under the tone or as loud as it, not yet
	// every tone is masked, but the detector's tests for a pure pair under
	// other sound (dtmf's onSharePure, onShareUnvoiced down to 45 % of the
	// window, and emphShare), its hold by level and its taking up again
	// mask most. Over 8 seeds, at -6 dB 33 of 704 tones leak over -40 dB
	// (83 with onShareUnvoiced at 65 % and the neighbours of voiced
	// measured with the tones in; 310 with none of these tests), at the
	// tone's level 250 (646; 683). These bounds (7 % and 47 %, for the 2 seeds
	// of -short too: 3 and 74 of 176) keep it.
	for _, b := range []struct {
		level   float64
		percent int
	}{{-6, 7}, {0, 47}} {
		leaky, n := 0, 0
		for _, r := range res {
			for _, ot := range r.tones {
				if ot.press.LevelDB == b.level && r.c.Placement != dtmfgen.PlaceBefore {
					n++
					if ot.leakDB > maskscore.MaxLeakDB {
						leaky++
					}
				}
			}
		}
		t.Logf("background %+.0f dB re the tone: %d of %d tones leak over %.0f dB", b.level, leaky, n, maskscore.MaxLeakDB)
		if leaky*100 > n*b.percent {
			t.Errorf("background %+.0f dB re the tone: %d of %d tones leak over %.0f dB, want at most %d %%", b.level, leaky, n, maskscore.MaxLeakDB, b.percent)
		}
	}
}

// TestTalkOffRecordedVoices: on each recorded human voice (a minute each,
// the ALSA one 11 s) and on the recorded music (30 s) no key is reported
// and not one sample is changed. The music's chords were masked (1471
// samples) as pairs off nominal until dtmf's offNominal also asked whether
// the pair is two harmonics of one note (voicedAt). The generated music's
// chords of pure sinusoids still are (see TestGenerated).
func TestTalkOffRecordedVoices(t *testing.T) {
	recs, err := dtmfgen.Recordings()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		t.Run(r.Name, func(t *testing.T) {
			m := New()
			out, evs := runMasker(t, m, r.Samples)
			if len(evs) != 0 {
				t.Errorf("%d key events on %.0f s of %s", len(evs), float64(len(r.Samples))/SampleRate, r.Name)
			}
			d := m.LookaheadSamples()
			changed := 0
			for i, v := range r.Samples {
				if out[i+d] != v {
					changed++
				}
			}
			if changed != 0 {
				t.Errorf("%d samples changed", changed)
			}
		})
	}
}
