package dtmf

import "math"

// This file holds the frequency refinement: a window's energy re-tuned a
// little off each nominal frequency, to tell a key press that is off
// nominal but within the specification (up to 1.5 %) from one that is not
// (3.5 % or more), and to find tones further off that must still be masked;
// and the measurement of a followed tone's frequencies from the phase
// advance between its strong windows.

// tuned holds a window's coherent sums at each frequency and each offset.
type tuned struct{ re, im [8][nOffsets]float32 }

// ordered returns frequency k's values of the window's blocks, oldest
// first.
func (d *Detector) ordered(k int) (xr, xi [windowBlocks]float32) {
	for i := 0; i < windowBlocks; i++ {
		b := (d.newest + 1 + i) & (windowBlocks - 1)
		xr[i], xi[i] = d.re[b][k], d.im[b][k]
	}
	return xr, xi
}

// refine sums the window at frequency k re-tuned by each small offset from
// nominal (into d.cur) and returns the greatest power. A tone 1.5 % off
// nominal loses up to 3.8 dB in a 20 ms window at its nominal frequency, and
// one 3.5 % off sits near the window's first null, where its phase says
// nothing; re-tuning the sum of the window's blocks recovers both, at the
// cost of a few multiplications instead of a longer window.
func (d *Detector) refine(k int, nominal float32) float32 {
	c := &coef
	bestP := nominal
	d.bestOff[k] = nominalOffset
	xr, xi := d.ordered(k)
	// Offsets come in pairs +dw, -dw whose rotations are conjugate: one
	// set of products serves both.
	for _, pair := range offsetPairs {
		plus, minus := pair[0], pair[1]
		var pr, pi, mr, mi float32
		ore, oim := &c.offRe[k][plus], &c.offIm[k][plus]
		for i := 0; i < windowBlocks; i++ {
			xr, xi := xr[i], xi[i]
			or, oi := ore[i], oim[i]
			ac, bs, as, bc := xr*or, xi*oi, xr*oi, xi*or
			pr += ac - bs
			pi += as + bc
			mr += ac + bs
			mi += bc - as
		}
		cur := &d.sums[d.curSums]
		cur.re[k][plus], cur.im[k][plus] = pr, pi
		cur.re[k][minus], cur.im[k][minus] = mr, mi
		if q := (pr*pr + pi*pi) * powerScale; q > bestP {
			bestP = q
			d.bestOff[k] = int8(plus)
		}
		if q := (mr*mr + mi*mi) * powerScale; q > bestP {
			bestP = q
			d.bestOff[k] = int8(minus)
		}
	}
	return bestP
}

// offsetPairs are refineOffsets' indexes, +dw then -dw.
var offsetPairs = [2][2]int{{3, 1}, {4, 0}}

// coherentMax returns, for frequency k, the greatest power over every
// re-tuning (refine's and the wide offsets) of the coherent sum of the
// window's blocks, in the units of sum |X|^2 and without making up for the
// blocks' own loss: for a pure steady tone it is windowBlocks times the
// blocks' summed power, whatever its offset. It also returns the loss
// (blockGain squared) at that offset, and the offset (relative).
func (d *Detector) coherentMax(k int) (p, loss float32, rel float64) {
	c := &coef
	xr, xi := d.ordered(k)
	loss = 1
	try := func(or, oi *[windowBlocks]float32, g, l float32, r float64) {
		var sr, si float32
		for i := 0; i < windowBlocks; i++ {
			sr += xr[i]*or[i] - xi[i]*oi[i]
			si += xr[i]*oi[i] + xi[i]*or[i]
		}
		if q := (sr*sr + si*si) * g; q > p {
			p, loss, rel = q, l, r
		}
	}
	for o, r := range wideOffsets {
		try(&c.wideRe[k][o], &c.wideIm[k][o], 1, c.wideLoss[k][o], r)
	}
	for o, r := range refineOffsets {
		// refine's rotations carry its gain; take it out again
		try(&c.offRe[k][o], &c.offIm[k][o], c.offLoss[k][o], c.offLoss[k][o], r)
	}
	return p, loss, rel
}

// offNominal reports whether the window holds a pure pair of steady tones
// off nominal by up to 6 %, beyond what refine reaches. Each 5 ms block's
// filter still hears a tone that far off (its main lobe is 200 Hz wide), so
// the blocks' summed power finds the pair and its level; the pair is pure
// and steady when re-tuning the blocks' coherent sum recovers nearly all of
// it (speech, whose harmonics glide and beat, does not). Nor may it be two
// harmonics of one voice or note (voicedAt): the recorded music's chords
// (1471 samples of 30 s) and an espeak-ng vowel (376 samples) were masked
// as such pairs.
func (d *Detector) offNominal(e float32) bool {
	var inc [8]float32
	p0, p1, p2, p3 := &d.pow[0], &d.pow[1], &d.pow[2], &d.pow[3]
	for k := 0; k < 8; k++ {
		inc[k] = p0[k] + p1[k] + p2[k] + p3[k]
	}
	lo, pl, _ := best((*[4]float32)(inc[0:4]))
	hi, ph, _ := best((*[4]float32)(inc[4:8]))
	const incScale = 2.0 / (BlockSamples * BlockSamples * windowBlocks)
	pl, ph = pl*incScale, ph*incScale
	d.lastOff = (pl + ph) / e
	if pl+ph < e*offShare || pl < toneMin || ph < toneMin || ph < pl*twistLo || ph > pl*twistHi {
		return false
	}
	ql, ll, rl := d.coherentMax(lo)
	qh, lh, rh := d.coherentMax(4 + hi)
	cl := ql / (windowBlocks * inc[lo])
	ch := qh / (windowBlocks * inc[4+hi])
	// The pair's share, made up for the blocks' loss at the offsets found.
	share := (ql/ll + qh/lh) * incScale / windowBlocks
	return cl >= offPurity && ch >= offPurity && share >= e*offPairShare &&
		!d.voicedAt(lowHz[lo]*(1+rl), highHz[hi]*(1+rh), min(ql/ll, qh/lh)*incScale/windowBlocks, 1)
}

// refineOffsets are the relative frequency offsets refine tries.
var refineOffsets = [nOffsets]float64{-0.025, -0.0125, 0, 0.0125, 0.025}

const (
	nOffsets      = 5
	nominalOffset = 2
)

// wideOffsets re-tune further, for masking only: a tone 3.5 to 6 % off
// nominal is no key press, but other detectors (and ears) may take it for
// one.
var wideOffsets = [4]float64{-0.05, -0.0375, 0.0375, 0.05}

// strongWindow counts a strong window of the followed pair and, when this
// window and the previous one both hold the tone whole (same re-tuned power within 1 dB),
// accumulates the phase advance of each tone between them, which
// measures its frequency. Windows that hold only part of a tone (its first
// and last few) are left out: their phase is pulled towards nominal.
func (d *Detector) strongWindow(p *[8]float32) {
	if !d.active {
		return
	}
	d.strong++
	// The first two strong windows of a tone hold only part of it.
	if d.strong > 2 && d.prevStrong && d.prevSet {
		var z [2][2]float64
		steady := true
		cur, prev := &d.sums[d.curSums], &d.sums[d.curSums^1]
		for g, k := range [2]int{d.lo, 4 + d.hi} {
			// z = sum over offsets of Y(h) * conj(Y(h-1)): window sums are
			// referenced to the start of the stream, so its angle is the
			// tone's phase advance beyond nominal over one block.
			var ar, ai float64
			for o := 0; o < nOffsets; o++ {
				cr, ci := float64(cur.re[k][o]), float64(cur.im[k][o])
				pr, pi := float64(prev.re[k][o]), float64(prev.im[k][o])
				ar += cr*pr + ci*pi
				ai += ci*pr - cr*pi
			}
			if a, b := p[k], d.prevP[k]; a > b*steadyRatio || b > a*steadyRatio {
				steady = false
			}
			z[g] = [2]float64{ar, ai}
		}
		if steady {
			for g := range z {
				d.accRe[g] += z[g][0]
				d.accIm[g] += z[g][1]
			}
			d.accN++
		}
	}
	d.prevStrong = true
}

// steadyRatio: two windows whose power at a tone differs by less than 2 dB
// both hold it whole (a window missing 2 ms of the tone is already 0.9 dB down).
const steadyRatio = 1.585

// onFrequency reports whether both tones measured within maxOffset of nominal.
func (d *Detector) onFrequency() bool {
	if d.accN == 0 {
		return false
	}
	for g, k := range [2]int{d.lo, 4 + d.hi} {
		// phase advance per block beyond nominal -> Hz
		df := math.Atan2(d.accIm[g], d.accRe[g]) / (2 * math.Pi * BlockSamples) * SampleRate
		if math.Abs(df) > maxOffset*coef.freqHz[k] {
			return false
		}
	}
	return true
}
