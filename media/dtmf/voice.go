package dtmf

import "math"

const (
	// voicedShare: a harmonic next to a pair's tones holding this share of
	// the weaker tone's power marks the pair as a voice's (see voiced).
	voicedShare = 0.1
	// adjacentShare: the same when the tones are neighbouring harmonics
	// (the 4th and 5th, say). Then the only neighbours left are the two
	// outside the pair, and a formant between the tones takes them down:
	// an espeak-ng vowel held 941 and 1209 Hz (the 4th and 5th harmonics
	// of 238 Hz) at 71 to 85 % of the window, its 3rd and 6th at 0.04 and
	// 0.06 of the weaker tone, and lost 62 ms of speech to masking.
	adjacentShare = 0.02
	// voicedOneSide: for a key press to start masking under other sound,
	// a harmonic beside one tone only must hold this many times the share
	// (and one beside each, the share) to mark the pair as a voice's.
	// Speech 6 dB under a key press often puts one harmonic beside it; a
	// voice's formant around its two harmonics puts one beside each.
	voicedOneSide = 1.5
)

// voiced reports whether the window's best pair (lo, hi, their powers pl
// and ph) looks like two harmonics of one voice: for some fundamental
// between 70 and 420 Hz of which both tones are whole multiples (within
// 1.5 %), a harmonic next to each of them holds voicedShare of the weaker
// tone's power, or one next to either holds voicedOneSide times that. A
// key press is two unrelated sinusoids: what sits at those frequencies is
// only the background's. Measured over the onset suite's first whole
// windows (4 seeds) and the speech of the recorded voices, the generated
// suite (6 seeds) and the corpus, with pairs holding 65 % and more of the
// window (and 80 % purity): at most 0.1 for more than half of the key
// presses under speech 6 dB below them, and over it for every such window
// of speech. With a harmonic beside either tone enough at 0.1, 167 key
// presses under speech 6 dB below them leaked over -40 dB on the onset
// suite's 32 seeds, against 133; with one beside each needed and no
// one-sided bar, the generated suite's espeak-ng speech lost samples
// (speech SNR 10.7 dB on one case), and with the one-sided bar at 2.5
// times, the corpus's (19.1 dB).
// It runs only on such windows, seldom: a least-squares fit of the two
// tones and a few Goertzel filters over the window's 160 samples.
func (d *Detector) voiced(lo, hi int, pl, ph float32) bool {
	return d.voicedAt(lowHz[lo]*(1+refineOffsets[d.bestOff[lo]]), highHz[hi]*(1+refineOffsets[d.bestOff[4+hi]]), min(pl, ph), voicedOneSide)
}

// voicedAt is voiced for tones at fl and fh Hz, the weaker of power weak,
// with oneSide for voicedOneSide (1: a harmonic beside either tone holding
// voicedShare is enough, as offNominal wants). The neighbours are measured on the window with the two tones fitted and
// taken out: a 20 ms filter still hears a tone 70 to 150 Hz away (its
// sidelobes), and with a fundamental under 150 Hz, or one of which the
// tones are neighbouring harmonics, a neighbour lies that close to a tone.
// Measured on the window as it was, a key press with its high tone 4 dB
// over its low one, or a tone 3.5 % off nominal, was taken for a voice by
// its own tones' sidelobes.
func (d *Detector) voicedAt(fl, fh float64, weak float32, oneSide float32) bool {
	limit := weak * voicedShare
	var res [windowSamples]float64
	fitted := false
	for n := 1; n <= 12; n++ {
		f0 := fl / float64(n)
		if f0 < 70 || f0 > 420 {
			continue
		}
		m := math.Round(fh / f0)
		if math.Abs(fh-m*f0) > 0.015*fh {
			continue
		}
		if !fitted {
			d.residual(fl, fh, &res)
			fitted = true
		}
		lim := limit
		if m == float64(n+1) {
			lim = weak * adjacentShare
		}
		at := func(f float64) float32 {
			if f >= 100 && f <= 3800 && math.Abs(f-fl) > 20 && math.Abs(f-fh) > 20 {
				return powerAt(&res, f)
			}
			return 0
		}
		nl := max(at(float64(n-1)*f0), at(float64(n+1)*f0))
		nh := max(at((m-1)*f0), at((m+1)*f0))
		if nl > lim && nh > lim || max(nl, nh) > lim*oneSide {
			return true
		}
	}
	return false
}

// residual is the window's samples, oldest first, less the least-squares
// fit of sinusoids at fl and fh Hz.
func (d *Detector) residual(fl, fh float64, res *[windowSamples]float64) {
	var basis [4][windowSamples]float64
	// The sinusoids by rotation, not a sine and a cosine a sample.
	rl, il := math.Cos(2*math.Pi*fl/SampleRate), math.Sin(2*math.Pi*fl/SampleRate)
	rh, ih := math.Cos(2*math.Pi*fh/SampleRate), math.Sin(2*math.Pi*fh/SampleRate)
	cl, sl, ch, sh := 1.0, 0.0, 1.0, 0.0
	for i := 0; i < windowBlocks; i++ {
		for j, v := range &d.samples[(d.newest+1+i)&(windowBlocks-1)] {
			n := i*BlockSamples + j
			res[n] = float64(v)
			basis[0][n], basis[1][n], basis[2][n], basis[3][n] = cl, sl, ch, sh
			cl, sl = cl*rl-sl*il, sl*rl+cl*il
			ch, sh = ch*rh-sh*ih, sh*rh+ch*ih
		}
	}
	// Normal equations, solved by elimination with partial pivoting.
	var a [4][5]float64
	for r := 0; r < 4; r++ {
		for c := r; c < 4; c++ {
			var sum float64
			for n := range res {
				sum += basis[r][n] * basis[c][n]
			}
			a[r][c], a[c][r] = sum, sum
		}
		for n := range res {
			a[r][4] += basis[r][n] * res[n]
		}
	}
	for c := 0; c < 4; c++ {
		p := c
		for r := c + 1; r < 4; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		if a[c][c] == 0 {
			return
		}
		for r := 0; r < 4; r++ {
			if r != c {
				f := a[r][c] / a[c][c]
				for k := c; k < 5; k++ {
					a[r][k] -= f * a[c][k]
				}
			}
		}
	}
	for r := 0; r < 4; r++ {
		b := a[r][4] / a[r][r]
		for n := range res {
			res[n] -= b * basis[r][n]
		}
	}
}

// powerAt is the power of x at f Hz (a Goertzel filter), in the units of
// the detector's powers.
func powerAt(x *[windowSamples]float64, f float64) float32 {
	c := 2 * math.Cos(2*math.Pi*f/SampleRate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	return float32((s1*s1 + s2*s2 - c*s1*s2) * powerScale)
}

// emphShare is the share of the pair (lo, hi; powers pl, ph) in the
// window's first difference, x[n]-x[n-1]: a speech window's power lies
// mostly under the low group, which the difference takes down, while the
// tones keep theirs (scaled by the difference's known gain at each).
func (d *Detector) emphShare(lo, hi int, pl, ph float32) float32 {
	var e float64
	prev := float64(d.samples[(d.newest+1)&(windowBlocks-1)][0])
	n := 0
	for i := 0; i < windowBlocks; i++ {
		for _, v := range &d.samples[(d.newest+1+i)&(windowBlocks-1)] {
			x := float64(v)
			if n > 0 {
				e += (x - prev) * (x - prev)
			}
			prev = x
			n++
		}
	}
	if e == 0 {
		return 0
	}
	e /= float64(n - 1)
	gl := 2 - 2*math.Cos(2*math.Pi*lowHz[lo]/SampleRate)
	gh := 2 - 2*math.Cos(2*math.Pi*highHz[hi]/SampleRate)
	return float32((float64(pl)*gl + float64(ph)*gh) / e)
}
