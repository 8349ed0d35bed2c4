package dtmfgen

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Onset cases (issue 11): key presses whose first sample falls in speech,
// music or noise. The background is there before, under and after the
// onset (PlaceAround), or stops right at it (PlaceBefore: speech up to the
// tone), or starts with it (PlaceAfter). At each onset it is scaled to a
// level from 30 dB under the tone's power up to the tone's own, and onsets
// fall at every position across the 20 ms frame, with tones at the level,
// twist and frequency limits of the specification.

// Placement is where the background is around a press's onset.
type Placement int

// The placements.
const (
	PlaceAround Placement = iota // before, under and after the onset
	PlaceBefore                  // up to the onset, then silent until the next press's part
	PlaceAfter                   // silent before the onset, then from the onset on
)

var placementNames = []string{"around", "before", "after"}

func (p Placement) String() string {
	if p >= 0 && int(p) < len(placementNames) {
		return placementNames[p]
	}
	return fmt.Sprintf("Placement(%d)", int(p))
}

// Placements is every placement, in order.
var Placements = []Placement{PlaceAround, PlaceBefore, PlaceAfter}

// OnsetLevelsDB are the background's levels at a press's onset, in dB
// relative to the tone's power (both frequencies): from 30 dB under it up to
// its own level.
var OnsetLevelsDB = []float64{-30, -24, -18, -12, -6, 0}

// OnsetKinds are the kinds of tone of the onset cases: nominal, and each
// limit of the specification (level, twist, frequency).
var OnsetKinds = []string{"nominal", "quiet", "loud", "twist+4", "twist-8", "offset"}

// onsetPerLevel is how many presses each level gets in one case, each of
// another kind and at another position in the frame.
const onsetPerLevel = 4

// OnsetPress says how one press of an onset case was made.
type OnsetPress struct {
	Kind    string  // one of OnsetKinds
	LevelDB float64 // the background at the onset, dB relative to the tone
	Offset  int     // the onset's position in its 20 ms frame, in samples
}

// OnsetCase is one onset case: a Case and, per tone, how it was made.
type OnsetCase struct {
	Case
	Background string // OnsetBackground.Name
	Recorded   bool   // the background is a recording of a human voice or of music
	Placement  Placement
	Presses    []OnsetPress // one per Case.Tones, in the same order
}

// OnsetBackground is audio key presses are laid on.
type OnsetBackground struct {
	Name     string
	Recorded bool
	Samples  []int16
}

// OnsetBackgrounds returns, for a seed, 40 s each of espeak-ng speech (two
// random voices), babble, generated music, white and pink noise, followed by
// every recording in recs.
func OnsetBackgrounds(ctx context.Context, seed int64, recs []Recording) ([]OnsetBackground, error) {
	var out []OnsetBackground
	for _, s := range []Spec{
		{Name: "espeak", Background: BackgroundSpeech, Speakers: 2},
		{Name: "babble", Background: BackgroundBabble},
		{Name: "music-gen", Background: BackgroundMusic},
		{Name: "white", Background: BackgroundWhite},
		{Name: "pink", Background: BackgroundPink},
	} {
		s.Seed = caseSeed(seed, "onset-"+s.Name)
		s.Length = 40 * time.Second
		s.FloorDBm0 = -200
		c, err := Generate(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, OnsetBackground{Name: s.Name, Samples: c.Speech})
	}
	for _, r := range recs {
		out = append(out, OnsetBackground{Name: r.Name, Recorded: true, Samples: r.Samples})
	}
	return out, nil
}

// OnsetSuite is every background of OnsetBackgrounds in every placement,
// for a seed.
func OnsetSuite(ctx context.Context, seed int64, recs []Recording) ([]*OnsetCase, error) {
	bgs, err := OnsetBackgrounds(ctx, seed, recs)
	if err != nil {
		return nil, err
	}
	var out []*OnsetCase
	for _, bg := range bgs {
		for _, p := range Placements {
			c, err := GenerateOnset(bg, p, seed)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// GenerateOnset lays len(OnsetLevelsDB)*4 presses on bg (looped from a
// random point), each where the background is active, the background scaled
// around each press to that press's level, and placed as p.
func GenerateOnset(bg OnsetBackground, place Placement, seed int64) (*OnsetCase, error) {
	const frame = SampleRate / 50
	name := fmt.Sprintf("onset-%s-%s", bg.Name, place)
	if len(bg.Samples) < SampleRate {
		return nil, fmt.Errorf("%w: %s: background shorter than a second", ErrBadSpec, name)
	}
	r := rand.New(rand.NewPCG(uint64(caseSeed(seed, name)), 2))
	n := 120 * SampleRate
	bed := make([]float64, n)
	off := r.IntN(len(bg.Samples))
	for i := range bed {
		bed[i] = float64(bg.Samples[(off+i)%len(bg.Samples)])
	}
	active := activePower(bed)

	np := len(OnsetLevelsDB) * onsetPerLevel
	type draw struct {
		level  float64
		kind   string
		offset int
	}
	draws := make([]draw, np)
	offsets := r.Perm(np)
	for i := range draws {
		draws[i] = draw{
			level:  OnsetLevelsDB[i%len(OnsetLevelsDB)],
			kind:   OnsetKinds[(i+i/len(OnsetLevelsDB))%len(OnsetKinds)],
			offset: (offsets[i]*frame/np + r.IntN(max(1, frame/np))) % frame,
		}
	}
	r.Shuffle(np, func(i, j int) { draws[i], draws[j] = draws[j], draws[i] })

	presses := make([]plannedPress, np)
	at := secs(r, 0.5, 1.0)
	for i, d := range draws {
		length := msToSamples(R(40, 150).draw(r))
		p := at
		for ; ; p += 40 {
			if p+length+SampleRate >= n {
				return nil, fmt.Errorf("%w: %s: the background is too seldom active for %d presses", ErrBadSpec, name, np)
			}
			if meanSquare(bed[p-320:p]) >= active/30 && meanSquare(bed[p:p+320]) >= active/30 {
				break
			}
		}
		t := onsetTone(d.kind, r)
		t.Start = p - p%frame + d.offset
		t.End = t.Start + length
		presses[i] = plannedPress{
			tone:      t,
			ramp:      int(R(0, 1).draw(r) * SampleRate / 1000),
			lowPhase:  r.Float64() * 2 * math.Pi,
			highPhase: r.Float64() * 2 * math.Pi,
		}
		at = t.End + secs(r, 0.6, 1.2)
	}
	n = presses[np-1].tone.End + secs(r, 0.5, 1.0)
	bed = bed[:n]

	// Each press owns the background from the midpoint after the previous
	// press to the midpoint before the next; its gain there sets the level
	// at its onset, with 20 ms cross-fades at the midpoints, far from any
	// tone.
	bounds := make([]int, np+1)
	bounds[np] = n
	for i := 1; i < np; i++ {
		bounds[i] = (presses[i-1].tone.End + presses[i].tone.Start) / 2
	}
	gains := make([]float64, np)
	for i, p := range presses {
		s := p.tone.Start
		var w []float64
		switch place {
		case PlaceBefore:
			w = bed[s-320 : s]
		case PlaceAfter:
			w = bed[s : s+320]
		default:
			w = bed[s-160 : s+160]
		}
		gains[i] = math.Sqrt(tonePower(p.tone) * math.Pow(10, draws[i].level/10) / meanSquare(w))
	}
	const xf = frame / 2
	for i := range np {
		for j := bounds[i]; j < bounds[i+1]; j++ {
			g := gains[i]
			if i > 0 && j < bounds[i]+xf {
				u := float64(j-bounds[i]+xf) / (2 * xf)
				g = gains[i-1]*(1-u) + gains[i]*u
			} else if i < np-1 && j >= bounds[i+1]-xf {
				u := float64(j-bounds[i+1]+xf) / (2 * xf)
				g = gains[i]*(1-u) + gains[i+1]*u
			}
			bed[j] *= g
		}
	}
	// The placement: silence (2 ms ramps) where the background is not.
	const ramp = 16
	for i, p := range presses {
		s := p.tone.Start
		switch place {
		case PlaceBefore:
			silence(bed, s, bounds[i+1], ramp)
		case PlaceAfter:
			silence(bed, bounds[i], s, ramp)
		}
	}

	r2 := rand.New(rand.NewPCG(uint64(caseSeed(seed, name)), 3))
	noise := whiteNoise(r2, n, -62)
	tones := make([]float64, n)
	truth := make([]Tone, np)
	made := make([]OnsetPress, np)
	for i, p := range presses {
		renderTone(tones, p)
		t := p.tone
		snr := 10 * math.Log10(tonePower(t)/(meanSquare(bed[t.Start:t.End])+powerOf(-62)))
		t.Expect = Classify(t, snr)
		truth[i] = t
		made[i] = OnsetPress{Kind: draws[i].kind, LevelDB: draws[i].level, Offset: t.Start % frame}
	}
	back := make([]float64, n)
	mix := make([]float64, n)
	for i := range mix {
		back[i] = bed[i] + noise[i]
		mix[i] = back[i] + tones[i]
	}
	return &OnsetCase{
		Case:       Case{Name: name, Speech: ulawRoundTrip(back), Samples: ulawRoundTrip(mix), Tones: truth},
		Background: bg.Name, Recorded: bg.Recorded, Placement: place, Presses: made,
	}, nil
}

// silence zeroes x[from:to], fading out over the ramp samples before from
// and in over the ramp samples from to.
func silence(x []float64, from, to, ramp int) {
	for k := range ramp {
		up := float64(k+1) / float64(ramp+1) // 0 -> 1
		if i := from - ramp + k; i >= 0 && i < len(x) {
			x[i] *= 1 - up
		}
		if i := to + k; i < len(x) {
			x[i] *= up
		}
	}
	for i := max(from, 0); i < min(to, len(x)); i++ {
		x[i] = 0
	}
}

// onsetTone draws a tone of a kind of OnsetKinds (digit, frequencies,
// levels), not yet placed.
func onsetTone(kind string, r *rand.Rand) Tone {
	d := string("123A456B789C*0#D"[r.IntN(16)])
	lo, hi, _ := digitFreqs(d)
	exact := R(-0.003, 0.003)
	lowOff, highOff := exact.draw(r), exact.draw(r)
	var low, high float64
	switch kind {
	case "quiet":
		low, high = minLevel, minLevel
	case "loud":
		low, high = -3, -3
	case "twist+4":
		low = R(-18, -8).draw(r)
		high = low + maxTwist
	case "twist-8":
		low = R(-14, -6).draw(r)
		high = low + minTwist
	case "offset":
		low = R(-16, -6).draw(r)
		high = low
		lowOff, highOff = detectOffset, detectOffset
		if r.IntN(2) == 0 {
			lowOff = -lowOff
		}
		if r.IntN(2) == 0 {
			highOff = -highOff
		}
	default:
		low = R(-16, -6).draw(r)
		high = low + R(-2, 2).draw(r)
	}
	return Tone{Digit: d, LowHz: lo * (1 + lowOff), HighHz: hi * (1 + highOff), LowDBm0: low, HighDBm0: high}
}
