package dtmf

import "math"

// voicedShare: a harmonic next to a pair's tones holding this share of the
// weaker tone's power marks the pair as a voice's (see voiced).
const voicedShare = 0.1

// voiced reports whether the window's best pair (lo, hi, their powers pl
// and ph) looks like two harmonics of one voice: for some fundamental
// between 70 and 420 Hz of which both tones are whole multiples (within
// 1.5 %), a harmonic next to one of them holds voicedShare of the weaker
// tone's power. A key press is two unrelated sinusoids: what sits at those
// frequencies is only the background's. Measured over the onset suite's
// first whole windows (4 seeds) and the speech of the recorded voices, the
// generated suite (6 seeds) and the corpus, with pairs holding 65 % and
// more of the window (and 80 % purity): at most 0.1 for more than half of
// the key presses under speech 6 dB below them, and over it for every such
// window of speech.
// It runs only on such windows, seldom: a few Goertzel filters over the
// window's 160 samples.
func (d *Detector) voiced(lo, hi int, pl, ph float32) bool {
	fl := lowHz[lo] * (1 + refineOffsets[d.bestOff[lo]])
	fh := highHz[hi] * (1 + refineOffsets[d.bestOff[4+hi]])
	limit := min(pl, ph) * voicedShare
	for n := 1; n <= 12; n++ {
		f0 := fl / float64(n)
		if f0 < 70 || f0 > 420 {
			continue
		}
		m := math.Round(fh / f0)
		if math.Abs(fh-m*f0) > 0.015*fh {
			continue
		}
		for _, f := range [4]float64{float64(n-1) * f0, float64(n+1) * f0, (m - 1) * f0, (m + 1) * f0} {
			if f >= 100 && f <= 3800 && d.powerAt(f) > limit {
				return true
			}
		}
	}
	return false
}

// powerAt is the window's power at f Hz (a Goertzel filter over its
// samples, oldest first), in the units of the detector's powers.
func (d *Detector) powerAt(f float64) float32 {
	c := 2 * math.Cos(2*math.Pi*f/SampleRate)
	var s1, s2 float64
	for i := 0; i < windowBlocks; i++ {
		for _, v := range &d.samples[(d.newest+1+i)&(windowBlocks-1)] {
			s1, s2 = float64(v)+c*s1-s2, s1
		}
	}
	return float32((s1*s1 + s2*s2 - c*s1*s2) * powerScale)
}
