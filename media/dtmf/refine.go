package dtmf

// This file holds the frequency refinement: a window's energy re-tuned a
// little off each nominal frequency, to tell a key press that is off
// nominal but within the specification (up to 1.5 %) from one that is not
// (3.5 % or more), and to find tones further off that must still be masked.

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
// (blockGain squared) at that offset.
func (d *Detector) coherentMax(k int) (float32, float32) {
	c := &coef
	xr, xi := d.ordered(k)
	var bestP float32
	loss := float32(1)
	try := func(or, oi *[windowBlocks]float32, g, l float32) {
		var sr, si float32
		for i := 0; i < windowBlocks; i++ {
			sr += xr[i]*or[i] - xi[i]*oi[i]
			si += xr[i]*oi[i] + xi[i]*or[i]
		}
		if p := (sr*sr + si*si) * g; p > bestP {
			bestP, loss = p, l
		}
	}
	for o := range wideOffsets {
		try(&c.wideRe[k][o], &c.wideIm[k][o], 1, c.wideLoss[k][o])
	}
	for o := 0; o < nOffsets; o++ {
		// refine's rotations carry its gain; take it out again
		try(&c.offRe[k][o], &c.offIm[k][o], c.offLoss[k][o], c.offLoss[k][o])
	}
	return bestP, loss
}

// offNominal reports whether the window holds a pure pair of steady tones
// off nominal by up to 6 %, beyond what refine reaches. Each 5 ms block's
// filter still hears a tone that far off (its main lobe is 200 Hz wide), so
// the blocks' summed power finds the pair and its level; the pair is pure
// and steady when re-tuning the blocks' coherent sum recovers nearly all of
// it (speech, whose harmonics glide and beat, does not).
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
	ql, ll := d.coherentMax(lo)
	qh, lh := d.coherentMax(4 + hi)
	cl := ql / (windowBlocks * inc[lo])
	ch := qh / (windowBlocks * inc[4+hi])
	// The pair's share, made up for the blocks' loss at the offsets found.
	share := (ql/ll + qh/lh) * incScale / windowBlocks
	return cl >= offPurity && ch >= offPurity && share >= e*offPairShare
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
