package dtmfgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
)

// ErrBadSpec is returned for a Spec that cannot be generated.
var ErrBadSpec = errors.New("dtmfgen: bad spec")

// What a detector must do with a tone (the corpus's "expect").
const (
	ExpectDetect = maskscore.ExpectDetect
	ExpectEither = maskscore.ExpectEither
	ExpectReject = maskscore.ExpectReject
)

// Tone is one key press as the corpus's truth files describe it: the same
// type the scorer judges with.
type Tone = maskscore.Tone

// Case is one generated piece of caller audio and its truth.
type Case struct {
	Name string
	// Speech is the background alone (speech, music or noise, with its noise
	// floor), through the same mu-law pass as Samples.
	Speech []int16
	// Samples is Speech plus the key presses, after one G.711 mu-law encode
	// and decode.
	Samples []int16
	Tones   []Tone
}

// Background is what the key presses are laid on.
type Background int

// The backgrounds.
const (
	BackgroundSpeech     Background = iota // sentences from espeak-ng voices
	BackgroundMusic                        // harmonic notes with vibrato, chords, drums
	BackgroundWhite                        // white noise
	BackgroundPink                         // pink-ish noise
	BackgroundBabble                       // several voices talking at once
	BackgroundMixedNoise                   // white, pink and babble in turn
	BackgroundSilence                      // the noise floor alone
)

var backgroundNames = []string{"speech", "music", "white", "pink", "babble", "mixed-noise", "silence"}

func (b Background) String() string {
	if int(b) < len(backgroundNames) && b >= 0 {
		return backgroundNames[b]
	}
	return fmt.Sprintf("Background(%d)", int(b))
}

// Range is a closed interval a value is drawn from uniformly. A zero Range
// means "the default" where a default is documented, else zero.
type Range struct{ Min, Max float64 }

// R is shorthand for a Range; R(x) is the single value x.
func R(lo float64, hi ...float64) Range {
	if len(hi) == 0 {
		return Range{lo, lo}
	}
	return Range{lo, hi[0]}
}

func (r Range) zero() bool { return r.Min == 0 && r.Max == 0 }

func (r Range) draw(rng *rand.Rand) float64 {
	if r.Max <= r.Min {
		return r.Min
	}
	return r.Min + rng.Float64()*(r.Max-r.Min)
}

// LevelRef says which frequency of a press Press.DBm0 is the level of.
type LevelRef int

// The level references.
const (
	RefLow      LevelRef = iota // the low-group frequency
	RefWeaker                   // the weaker of the two
	RefStronger                 // the stronger of the two
)

// Press is a kind of key press: every field is a range each press of this
// kind is drawn from.
type Press struct {
	Digits  string   // keys to draw from; "" means all sixteen
	Ms      Range    // tone length in milliseconds, ramps included
	GapMs   Range    // silence after it before the next press of its group; zero means 60-250
	DBm0    Range    // level of the frequency Ref names
	Ref     LevelRef // which frequency DBm0 sets
	TwistDB Range    // high-group level minus low-group level
	// Relative frequency errors, signed: R(0.015) is 1.5 % high.
	LowOffset, HighOffset Range
	// RampMs is the raised-cosine rise and fall inside the tone; zero means
	// 0-1 ms, like a phone's tone generator.
	RampMs Range
}

// Spec says what to generate. Generate fills in the documented defaults.
type Spec struct {
	Name string
	Seed int64

	Background Background
	// Voices speak the speech and babble; nil means Speakers random voices.
	Voices   []Voice
	Speakers int // voices to draw when Voices is nil: 0 means 1 (6 for babble)
	// Text is the sentences to speak, in turn; nil means random sentences in
	// each voice's language.
	Text []string
	// LevelDBm0 is the active level of the background (RMS over the 20 ms
	// frames within 30 dB of the loudest); zero means -25 to -10. Each
	// speaker gets one level from it, each sentence varies by up to 1.5 dB.
	LevelDBm0 Range
	// FloorDBm0 is the RMS of a faint white noise floor under everything;
	// zero means -62, below -120 means none.
	FloorDBm0 float64
	// Length is the length without key presses (talk-off): zero means 30 s.
	// With key presses the layout sets the length, and Length is a minimum.
	Length time.Duration

	// Presses are the kinds of key press, used in turn and then shuffled:
	// Bursts groups of PerBurst presses (zero means 3 and 4), between
	// sentences, or over the background when Overlap.
	Presses  []Press
	Bursts   int
	PerBurst int
	// Overlap lays the presses over a continuous background instead of
	// between sentences; non-speech backgrounds always overlap.
	Overlap bool
	// OverlapDB, when set, moves each press's level (both frequencies alike,
	// staying within -26 to -1 dBm0) so that its power is this many dB above
	// the power of the background under it: its SNR against the speech.
	// A press that falls in a pause keeps its level.
	OverlapDB Range
	// NoiseSNR, when non-zero, adds white noise over the whole case, this
	// many dB under the power (both frequencies) of its weakest tone. It
	// replaces the noise floor.
	NoiseSNR float64
}

// rendered is a case before quantization, for tests.
type rendered struct {
	bed   []float64 // speech, music or noise
	noise []float64 // the floor, or the white noise of NoiseSNR
	tones []float64
	snr   []float64 // per tone, dB: tone power over bed and noise power
}

// Generate makes one case. The same Spec gives the same samples, as long as
// the same espeak-ng is installed.
func Generate(ctx context.Context, spec Spec) (*Case, error) {
	c, _, err := generate(ctx, spec)
	return c, err
}

// plannedPress is one press laid out.
type plannedPress struct {
	tone      Tone
	gap       int // samples after it, within the group
	ramp      int // samples
	lowPhase  float64
	highPhase float64
}

func generate(ctx context.Context, spec Spec) (*Case, *rendered, error) {
	if spec.Name == "" {
		return nil, nil, fmt.Errorf("%w: no name", ErrBadSpec)
	}
	if spec.Background < BackgroundSpeech || spec.Background > BackgroundSilence {
		return nil, nil, fmt.Errorf("%w: %s: unknown background %d", ErrBadSpec, spec.Name, spec.Background)
	}
	if err := validatePresses(spec.Presses); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrBadSpec, spec.Name, err)
	}
	r := rand.New(rand.NewPCG(uint64(spec.Seed), 0x68757368_70686f6e)) // "hushphon"
	g := &gen{spec: spec, r: r}
	g.defaults()

	presses := g.planPresses()
	var bed []float64
	var err error
	if spec.Background == BackgroundSpeech && !spec.Overlap && len(presses) > 0 {
		bed, err = g.interleave(ctx, presses)
	} else {
		bed, err = g.overlay(ctx, presses)
	}
	if err != nil {
		return nil, nil, err
	}
	n := len(bed)

	// The noise floor, or white noise at the SNR asked for.
	var noise []float64
	var noisePower float64
	switch {
	case spec.NoiseSNR != 0 && len(presses) > 0:
		weakest := math.Inf(1)
		for _, p := range presses {
			weakest = min(weakest, tonePower(p.tone))
		}
		noisePower = weakest / math.Pow(10, spec.NoiseSNR/10)
		noise = whiteNoise(r, n, dBm0Of(noisePower))
	case g.spec.FloorDBm0 >= -120:
		noisePower = powerOf(g.spec.FloorDBm0)
		noise = whiteNoise(r, n, g.spec.FloorDBm0)
	default:
		noise = make([]float64, n)
	}

	tones := make([]float64, n)
	truth := make([]Tone, 0, len(presses))
	snr := make([]float64, 0, len(presses))
	for i, p := range presses {
		t := p.tone
		renderTone(tones, p)
		// SNR against what is really under the tone: the background as
		// rendered there, and the noise by its nominal power.
		s := 10 * math.Log10(tonePower(t)/(meanSquare(bed[t.Start:t.End])+noisePower))
		t.Expect = Classify(t, s)
		if t.Expect == ExpectDetect && i > 0 && t.Start-presses[i-1].tone.End < minGap {
			t.Expect = ExpectEither // too close to the previous press to be told apart
		}
		truth = append(truth, t)
		snr = append(snr, s)
	}
	if len(truth) == 0 {
		truth = nil // "events": null, as in the corpus
	}

	back := make([]float64, n)
	mix := make([]float64, n)
	for i := range mix {
		back[i] = bed[i] + noise[i]
		mix[i] = back[i] + tones[i]
	}
	c := &Case{Name: spec.Name, Speech: ulawRoundTrip(back), Samples: ulawRoundTrip(mix), Tones: truth}
	return c, &rendered{bed: bed, noise: noise, tones: tones, snr: snr}, nil
}

func validatePresses(ps []Press) error {
	for i, p := range ps {
		for _, d := range p.Digits {
			if _, _, ok := digitFreqs(string(d)); !ok {
				return fmt.Errorf("press %d: %q is not a DTMF key", i, d)
			}
		}
		if p.Ms.Min <= 0 || p.Ms.Max < p.Ms.Min {
			return fmt.Errorf("press %d: length %v ms", i, p.Ms)
		}
		if p.GapMs.Min < 0 || p.RampMs.Min < 0 || 2*p.RampMs.Max > p.Ms.Min {
			return fmt.Errorf("press %d: gap %v ms or ramp %v ms", i, p.GapMs, p.RampMs)
		}
	}
	return nil
}

type gen struct {
	spec   Spec
	r      *rand.Rand
	voices []Voice
	levels []float64 // per voice
	text   int       // next sentence of spec.Text
}

func (g *gen) defaults() {
	s := &g.spec
	if s.LevelDBm0.zero() {
		s.LevelDBm0 = R(-25, -10)
	}
	if s.FloorDBm0 == 0 {
		s.FloorDBm0 = -62
	}
	if s.Length == 0 && len(s.Presses) == 0 {
		s.Length = 30 * time.Second
	}
	if s.Bursts == 0 {
		s.Bursts = 3
	}
	if s.PerBurst == 0 {
		s.PerBurst = 4
	}
	g.voices = s.Voices
	if len(g.voices) == 0 {
		k := s.Speakers
		if k == 0 {
			k = 1
			if s.Background == BackgroundBabble || s.Background == BackgroundMixedNoise {
				k = 6
			}
		}
		for range k {
			g.voices = append(g.voices, RandomVoice(g.r))
		}
	}
	for range g.voices {
		g.levels = append(g.levels, s.LevelDBm0.draw(g.r))
	}
}

// planPresses draws every press: kinds in turn, shuffled, timed within
// their group but not yet placed.
func (g *gen) planPresses() []plannedPress {
	if len(g.spec.Presses) == 0 {
		return nil
	}
	n := g.spec.Bursts * g.spec.PerBurst
	kinds := make([]Press, n)
	for i := range kinds {
		kinds[i] = g.spec.Presses[i%len(g.spec.Presses)]
	}
	g.r.Shuffle(n, func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	out := make([]plannedPress, n)
	for i, k := range kinds {
		digits := k.Digits
		if digits == "" {
			digits = "123A456B789C*0#D"
		}
		d := string(digits[g.r.IntN(len(digits))])
		lo, hi, _ := digitFreqs(d)
		level, twist := k.DBm0.draw(g.r), k.TwistDB.draw(g.r)
		var low, high float64
		switch {
		case k.Ref == RefLow,
			k.Ref == RefWeaker && twist >= 0,
			k.Ref == RefStronger && twist < 0:
			low, high = level, level+twist
		default:
			high, low = level, level-twist
		}
		gap := k.GapMs
		if gap.zero() {
			gap = R(60, 250)
		}
		ramp := k.RampMs
		if ramp.zero() {
			ramp = R(0, 1)
		}
		length := msToSamples(k.Ms.draw(g.r))
		out[i] = plannedPress{
			tone: Tone{
				Digit: d, End: length,
				LowHz: lo * (1 + k.LowOffset.draw(g.r)), HighHz: hi * (1 + k.HighOffset.draw(g.r)),
				LowDBm0: low, HighDBm0: high,
			},
			gap:       msToSamples(gap.draw(g.r)),
			ramp:      int(ramp.draw(g.r) * SampleRate / 1000),
			lowPhase:  g.r.Float64() * 2 * math.Pi,
			highPhase: g.r.Float64() * 2 * math.Pi,
		}
	}
	return out
}

func msToSamples(ms float64) int { return int(math.Round(ms * SampleRate / 1000)) }

func secs(r *rand.Rand, lo, hi float64) int { return int(R(lo, hi).draw(r) * SampleRate) }

// placeGroup sets the times of presses[i:i+PerBurst] from at, and returns
// the end of the group's last tone.
func (g *gen) placeGroup(presses []plannedPress, at int) int {
	for i := range presses {
		p := &presses[i]
		length := p.tone.End
		p.tone.Start, p.tone.End = at, at+length
		at = p.tone.End
		if i < len(presses)-1 {
			at += p.gap
		}
	}
	return at
}

// interleave lays out speech and groups of presses in turn: a sentence,
// a pause, a group, a pause, ..., a sentence.
func (g *gen) interleave(ctx context.Context, presses []plannedPress) ([]float64, error) {
	bed := make([]float64, secs(g.r, 0.3, 0.8))
	speaker := 0
	say := func() error {
		s, err := g.sentence(ctx, speaker)
		if err != nil {
			return err
		}
		speaker = (speaker + 1) % len(g.voices)
		bed = append(bed, s...)
		bed = append(bed, make([]float64, secs(g.r, 0.4, 1.0))...)
		return nil
	}
	per := g.spec.PerBurst
	for b := 0; b*per < len(presses); b++ {
		if err := say(); err != nil {
			return nil, err
		}
		group := presses[b*per : min(len(presses), (b+1)*per)]
		end := g.placeGroup(group, len(bed))
		bed = append(bed, make([]float64, end-len(bed)+secs(g.r, 0.4, 1.0))...)
	}
	if err := say(); err != nil {
		return nil, err
	}
	bed = append(bed, make([]float64, secs(g.r, 0.1, 0.4))...)
	return bed, nil
}

// overlay lays the groups of presses over a continuous background.
func (g *gen) overlay(ctx context.Context, presses []plannedPress) ([]float64, error) {
	n := 0
	if len(presses) > 0 {
		at := secs(g.r, 0.8, 2.0)
		per := g.spec.PerBurst
		for b := 0; b*per < len(presses); b++ {
			group := presses[b*per : min(len(presses), (b+1)*per)]
			at = g.placeGroup(group, at) + secs(g.r, 1.5, 3.0)
		}
		n = at
	}
	n = max(n, int(g.spec.Length.Seconds()*SampleRate))

	var bed []float64
	var err error
	switch g.spec.Background {
	case BackgroundSpeech:
		pause := R(0.1, 0.4)
		if len(presses) == 0 {
			pause = R(0.2, 0.9) // a conversation
		}
		bed, err = g.talk(ctx, n, pause, false)
	case BackgroundMusic:
		bed = music(g.r, n)
		setActiveLevel(bed, g.levels[0])
	case BackgroundWhite:
		bed = whiteNoise(g.r, n, g.levels[0])
	case BackgroundPink:
		bed = pinkNoise(g.r, n, g.levels[0])
	case BackgroundBabble:
		bed, err = g.babble(ctx, n, g.levels[0])
	case BackgroundMixedNoise:
		bed = make([]float64, 0, n)
		third := n / 3
		white := whiteNoise(g.r, third, g.spec.LevelDBm0.draw(g.r))
		pink := pinkNoise(g.r, third, g.spec.LevelDBm0.draw(g.r))
		var babble []float64
		babble, err = g.babble(ctx, n-2*third, g.spec.LevelDBm0.draw(g.r))
		for _, part := range [][]float64{white, pink, babble} {
			fade(part, SampleRate/50)
			bed = append(bed, part...)
		}
	case BackgroundSilence:
		bed = make([]float64, n)
	}
	if err != nil {
		return nil, err
	}
	if !g.spec.OverlapDB.zero() {
		for i := range presses {
			t := &presses[i].tone
			under := meanSquare(bed[t.Start:t.End])
			if under < powerOf(-45) {
				continue // a pause in the speech: leave the press as drawn
			}
			delta := g.spec.OverlapDB.draw(g.r) - 10*math.Log10(tonePower(*t)/under)
			delta = max(delta, minLevel-min(t.LowDBm0, t.HighDBm0))
			delta = min(delta, -1-max(t.LowDBm0, t.HighDBm0))
			t.LowDBm0 += delta
			t.HighDBm0 += delta
		}
	}
	return bed, nil
}

// talk fills n samples with sentences from the voices in turn, separated by
// pauses; with together, every voice talks at once (babble).
func (g *gen) talk(ctx context.Context, n int, pause Range, together bool) ([]float64, error) {
	bed := make([]float64, n)
	cursor := make([]int, len(g.voices))
	if together {
		for i := range cursor {
			cursor[i] = -secs(g.r, 0, 2) // start mid-sentence
		}
	}
	speaker := 0
	at := secs(g.r, 0.1, 0.4)
	for {
		if together {
			speaker = slices.Index(cursor, slices.Min(cursor))
			at = cursor[speaker]
		}
		if at >= n {
			return bed, nil
		}
		s, err := g.sentence(ctx, speaker)
		if err != nil {
			return nil, err
		}
		addAt(bed, at, s)
		at += len(s) + int(pause.draw(g.r)*SampleRate)
		if together {
			cursor[speaker] = at
		} else {
			speaker = (speaker + 1) % len(g.voices)
		}
	}
}

// babble is every voice talking at once, at an active level of dBm0.
func (g *gen) babble(ctx context.Context, n int, dBm0 float64) ([]float64, error) {
	if len(g.voices) < 2 {
		return nil, fmt.Errorf("%w: %s: babble needs two voices or more", ErrBadSpec, g.spec.Name)
	}
	bed, err := g.talk(ctx, n, R(0.05, 0.3), true)
	if err != nil {
		return nil, err
	}
	setActiveLevel(bed, dBm0)
	return bed, nil
}

// sentence speaks the next sentence in voice i at that voice's level.
func (g *gen) sentence(ctx context.Context, i int) ([]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dtmfgen: %s: %w", g.spec.Name, err)
	}
	v := g.voices[i]
	var text string
	if len(g.spec.Text) > 0 {
		text = g.spec.Text[g.text%len(g.spec.Text)]
		g.text++
	} else {
		text = sentence(g.r, v.lang())
	}
	s, err := speak(ctx, v, text)
	if err != nil {
		return nil, fmt.Errorf("dtmfgen: %s: %w", g.spec.Name, err)
	}
	if len(s) == 0 {
		return nil, fmt.Errorf("dtmfgen: %s: espeak-ng %s said nothing for %q", g.spec.Name, v, text)
	}
	setActiveLevel(s, g.levels[i]+R(-1.5, 1.5).draw(g.r))
	return s, nil
}

// The DTMF keypad.
var (
	keypad = [4]string{"123A", "456B", "789C", "*0#D"}
)

// digitFreqs returns the nominal frequencies of a key.
func digitFreqs(d string) (low, high float64, ok bool) {
	if len(d) != 1 {
		return 0, 0, false
	}
	for row, keys := range keypad {
		if col := strings.IndexByte(keys, d[0]); col >= 0 {
			return dtmfLow[row], dtmfHigh[col], true
		}
	}
	return 0, 0, false
}

func tonePower(t Tone) float64 { return powerOf(t.LowDBm0) + powerOf(t.HighDBm0) }

// renderTone adds a press's two sines, with raised-cosine ramps, into x.
func renderTone(x []float64, p plannedPress) {
	t := p.tone
	al, ah := ampOf(t.LowDBm0), ampOf(t.HighDBm0)
	wl, wh := 2*math.Pi*t.LowHz/SampleRate, 2*math.Pi*t.HighHz/SampleRate
	n := t.End - t.Start
	for i := range n {
		env := 1.0
		if k := min(i, n-1-i); k < p.ramp {
			env = 0.5 - 0.5*math.Cos(math.Pi*(float64(k)+0.5)/float64(p.ramp))
		}
		x[t.Start+i] += env * (al*math.Sin(wl*float64(i)+p.lowPhase) + ah*math.Sin(wh*float64(i)+p.highPhase))
	}
}

// The limits of issue 2 (ITU-T Q.24, Bellcore).
const (
	minDetect    = 40 * SampleRate / 1000 // samples: always detected from here
	maxReject    = 23 * SampleRate / 1000 // samples: never detected below this
	minGap       = 40 * SampleRate / 1000 // samples between presses told apart
	detectOffset = 0.015
	rejectOffset = 0.035
	minLevel     = -26.0
	maxLevel     = 0.0
	maxTwist     = 4.0  // high group above low
	minTwist     = -8.0 // high group below low
	minSNR       = 15.0
	eps          = 1e-6
)

// Classify says what a detector must do with t, by the limits of issue 2,
// given its signal-to-noise ratio (both frequencies' power over the
// power of everything else under it, in dB):
//   - reject: shorter than 23 ms, or a frequency 3.5 % or more off nominal;
//   - detect: 40 ms or longer, both frequencies within 1.5 %, each -26 to 0
//     dBm0, the high group at most 4 dB above or 8 dB below the low group,
//     and an SNR of 15 dB or more;
//   - either: anything between.
//
// Generate also makes a detect an either when it starts less than 40 ms
// after the previous press.
func Classify(t Tone, snrDB float64) string {
	lo, hi, ok := digitFreqs(t.Digit)
	if !ok {
		return ExpectEither
	}
	n := t.End - t.Start
	off := max(math.Abs(t.LowHz/lo-1), math.Abs(t.HighHz/hi-1))
	switch {
	case n < maxReject || off >= rejectOffset-eps:
		return ExpectReject
	case n >= minDetect &&
		off <= detectOffset+eps &&
		t.LowDBm0 >= minLevel-eps && t.LowDBm0 <= maxLevel+eps &&
		t.HighDBm0 >= minLevel-eps && t.HighDBm0 <= maxLevel+eps &&
		t.HighDBm0-t.LowDBm0 <= maxTwist+eps && t.HighDBm0-t.LowDBm0 >= minTwist-eps &&
		snrDB >= minSNR-eps:
		return ExpectDetect
	default:
		return ExpectEither
	}
}
