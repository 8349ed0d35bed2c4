package dtmf

// This file holds what keeps a key press masked under speech: the purity
// test of a pair that starts masking tentatively, the hold by levels, and
// taking a tone let go up again (see the thresholds in detector.go).

// pure reports whether the window holds, at frequencies a and b, steady
// sinusoids: the blocks' coherent sum keeps nearly all their power.
func (d *Detector) pure(a, b int, purity float32) bool {
	for _, k := range [2]int{a, b} {
		inc := d.pow[0][k] + d.pow[1][k] + d.pow[2][k] + d.pow[3][k]
		q, _, _ := d.coherentMax(k)
		if q < purity*windowBlocks*inc {
			return false
		}
	}
	return true
}

// levelHolds reports whether a window whose share fails the hold still
// holds the followed tone by its levels: both within levelBoth of the
// levels it had in its last strong window (or when it began), or, for the
// first levelOneRunMax such windows, one within levelOne and the other at
// least holdMin, or one within levelOne and the other at least its own.
// (The caller also wants both measured within one re-tuning step of where
// they were then, and neither holdFall under its highest.)
func (d *Detector) levelHolds(qlo, qhi float32) bool {
	both := within(qlo, d.refL, levelBoth) && within(qhi, d.refH, levelBoth)
	one := d.levelRun < levelOneRunMax &&
		(within(qlo, d.refL, levelOne) && qhi >= holdMin || within(qhi, d.refH, levelOne) && qlo >= holdMin)
	// Speech on one tone's frequency adds to its level, it does not take
	// the tone away.
	louder := within(qlo, d.refL, levelOne) && qhi >= d.refH || within(qhi, d.refH, levelOne) && qlo >= d.refL
	return both || one || louder
}

// within reports whether level q is within the ratio r of ref, either way.
func within(q, ref, r float32) bool { return q <= ref*r && q*r >= ref }

// lastTone is what the detector remembers of the tone it last let go.
type lastTone struct {
	lo, hi     int
	refL, refH float32
	offL, offH int8
	end        int64 // block
	reported   bool
	set        bool
	broken     bool // a window since held the pair 12 dB or more under it
}

// resumes reports whether the window's best pair (lo, hi, its powers pl
// and ph, of e) is the tone let go less than resumeBlocks ago, back as it
// was: the same pair, the hold's share, its levels within levelBoth of
// that tone's and measured within one re-tuning step of where they were.
func (d *Detector) resumes(lo, hi int, pl, ph, e float32) bool {
	l := &d.last
	return l.set && !l.broken && d.blocks-l.end <= resumeBlocks && lo == l.lo && hi == l.hi &&
		pl >= holdMin && ph >= holdMin && pl+ph >= e*holdShare && within(pl, l.refL, levelBoth) && within(ph, l.refH, levelBoth) &&
		abs8(d.bestOff[lo]-l.offL) <= 1 && abs8(d.bestOff[4+hi]-l.offH) <= 1
}

// clipped reports whether the window's audio hits the rails (G.711's
// largest values are 32124 in u-law and 32256 in A-law).
func (d *Detector) clipped() bool {
	n := 0
	for b := range d.samples {
		for _, v := range &d.samples[b] {
			if v >= clipLevel || v <= -clipLevel {
				n++
			}
		}
	}
	return n >= clipSamples
}

const (
	clipLevel   = 31000
	clipSamples = 4  // of the window's 160
	clipRunMax  = 40 // windows in a row held by clipping, at most
)

// loudTone: a followed tone this loud (each of its two) can be clipped by
// speech over it.
var loudTone = dbm0(-8)
