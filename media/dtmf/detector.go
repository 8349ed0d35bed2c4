package dtmf

import (
	"math"
	"time"
)

// SampleRate is the only rate the detector works at.
const SampleRate = 8000

// BlockSamples is the detector's unit of work: 5 ms at 8 kHz. Every decision
// (is a tone present, is it a key press) is taken once per block.
const BlockSamples = 40

// windowBlocks is the analysis window, in blocks: 20 ms. It is the shortest
// window that still separates the closest DTMF frequencies (697 and 770 Hz,
// 73 Hz apart, against a 50 Hz main-lobe half-width), and it is what bounds the
// Masker's look-ahead: a tone is seen whole in one window 20 ms after it
// starts.
const windowBlocks = 4

// The ring of blocks is indexed with a mask: windowBlocks is a power of two.
var _ = [1]struct{}{}[windowBlocks&(windowBlocks-1)]

// MaskBackBlocks is how far back (in blocks, before the newest block) a
// detection reaches: the window, one block of margin for a tone that started
// just before it, and two more for a detection one or two windows late (a
// window skipped while idle, or a first whole window just short of the
// threshold). The caller marks what it can of that (audio it has already
// released is gone); the Masker's 20 ms look-ahead always reaches a tone's
// first sample when the first window that holds it whole detects it.
const MaskBackBlocks = windowBlocks + 3

// The eight DTMF frequencies: four in the low group, four in the high group.
var (
	lowHz  = [4]float64{697, 770, 852, 941}
	highHz = [4]float64{1209, 1336, 1477, 1633}
)

// keypad maps (low index, high index) to the key.
var keypad = [4][4]byte{
	{'1', '2', '3', 'A'},
	{'4', '5', '6', 'B'},
	{'7', '8', '9', 'C'},
	{'*', '0', '#', 'D'},
}

// Levels are mean-square values of int16 samples. 0 dBm0 is a sine with a
// peak of 22860 (ITU-T G.711's digital milliwatt, scaled to 16 bits).
const dBm0Power = 22860.0 * 22860.0 / 2

func dbm0(db float64) float32 { return float32(dBm0Power * math.Pow(10, db/10)) }

func ratioDB(db float64) float32 { return float32(math.Pow(10, db/10)) }

// Thresholds. Each 20 ms window (one every 5 ms) is graded on its
// strongest tone in each group, after re-tuning (see refine):
//
//   - shape: both tones at least -30 dBm0 (the specification's -26 dBm0 less
//     margin), twist inside -11/+7 dB (the specification's -8/+4 and 3 dB
//     of margin: tones at its limit must still be masked), each tone at
//     least 6 dB over the others of its group.
//   - on: shape, and the pair holding 80 % of the window's energy with both
//     tones measured within 1.25 % of nominal, or 90 % whatever their
//     offset. This starts masking, at the first 20 ms window that holds a
//     tone whole, so it must pass every valid tone with the 15 dB of noise
//     or speech the specification allows (their first whole windows
//     measure 0.92 and more over the corpus and eight seeds of generated
//     audio), and fail speech and noise (which measured up to 0.89, with
//     at least one tone off by 1.9 % or more).
//   - on, under other sound: shape, both tones within 1.25 % of nominal,
//     and either the pair holding 75 % of the window with each tone pure
//     (the blocks' coherent sum keeps 90 % of their power: a steady
//     sinusoid; then 3 dB over the rest of its group is enough, for a note
//     of music beside a tone at the twist limit), or 45 % and 80 % pure
//     when the pair is not two harmonics of one voice (see voiced), or,
//     from 25 %, the pair holding 75 % of the window's first difference
//     (see emphShare: most of a voice's power lies under the low group,
//     which the difference takes down) with the same purity and voice
//     test. This catches a key press whose first whole window shares the
//     line with speech 6 dB under it, or as loud as it (8 seeds of
//     recorded voices, espeak-ng, babble, music and noise: tones over
//     -40 dB at -6 dB 310 of 704 without these tests, 150 with the first
//     alone, 83 with a voice test at 65 % and the hold's changes below,
//     33 now; at the tone's level 683, 646, 250), and no window of the
//     recorded voices, nor of the generated suite's speech or the corpus,
//     passes them. At 35 % (and the difference's at 60 %) a window of the
//     ALSA recording did; at 70 % without the voice test an espeak-ng
//     vowel did, whose 4th and 7th harmonics sat on 852 and 1477 Hz.
//     Masking so begun is tentative: it stops at once, with no tail, at
//     the first window where either tone's level moves more than 6 dB
//     from where it began (a voice's harmonics rise and fall with its
//     formants, a key press holds its level; at 3 dB, speech as loud as
//     the tone moved it that far and 76 more tones of 16 seeds were let
//     go before their end), until a window passes the plain test or is
//     strong.
//   - strong: shape and 85 %: counts towards reporting the tone being
//     followed. A valid tone's noise or speech is at least 15 dB under it,
//     so its whole windows measure 0.9 and more; the 85 % marks a window
//     that holds at least 17 ms of the tone, and leaves out speech whose
//     harmonics happen to sit on a DTMF pair (seen at 0.72 to 0.85 with
//     espeak-ng's voices). A key press is reported once strongCount windows
//     were strong with the same pair and the measured frequencies are
//     within 2.5 % of nominal (the specification accepts 1.5 % and rejects
//     3.5 %).
//   - hold: on the pair already followed, looser still, to carry masking
//     through a tone whose window dips (speech over it, its tail); but
//     neither tone may fall 12 dB under the highest level it had, or a
//     voice holding a quarter of the window at the two frequencies would
//     keep masking going long after the tone (a key press keeps its level;
//     a window holding less than a fifth of the tone's end is 14 dB down).
//     And the other way: a window whose share fails the hold still holds
//     the tone when both its levels stay within 6 dB of those of its last
//     strong window, or one within 3 dB for up to 4 windows (speech louder
//     than the tone, or drowning one of its tones for a moment), or one
//     within 3 dB and the other over its own (speech on that tone's
//     frequency adds to it), measured within one re-tuning step of where
//     they were, for up to 10 windows in a row, and neither 12 dB under
//     its highest (see levelHolds). On the onset suite (8 seeds) this took
//     the tones let out before their end from 52 to 26; without the
//     re-tuning condition, 23, but on 16 seeds espeak-ng's harmonics then
//     kept masking going past four tones' ends. A tone let go all the
//     same is taken up again (masked back as far as can be) when, within
//     100 ms and with no window between in which its pair fell 12 dB under
//     it (a gap: the next press of the same key), a window holds the same
//     pair at the hold's share and at the levels it had (see resumes). A
//     loud tone (-8 dBm0 and over, each) with speech over it is clipped,
//     which scatters its power: it holds while the audio is at the rails
//     and its levels within 12 dB of their last strong ones (40 windows at
//     most; see clipped).
var (
	toneMin       = dbm0(-30)
	twistLo       = ratioDB(-11)
	twistHi       = ratioDB(7)
	dominance     = ratioDB(6)
	dominancePure = ratioDB(3) // the same, for a pair that is pure (see onSharePure)
	onShare       = float32(0.80)
	onSharePure   = float32(0.75) // the same, for a pair that is pure (see pure): tentative
	onPurity      = float32(0.90) // how pure
	tentLevel     = ratioDB(6)    // how far a tentative pair's levels may move
	// A pair that is not two harmonics of one voice (see voiced) starts
	// masking tentatively at a lower share and purity still.
	onShareUnvoiced  = float32(0.45)
	onPurityUnvoiced = float32(0.80)
	emphMinShare     = float32(0.25)
	emphOnShare      = float32(0.75)
	onShareAny       = float32(0.90) // the same, for tones that measure further off (1.9 % and more)
	offShare         = float32(0.80) // a pair off nominal (see offNominal): its share of the window,
	offPurity        = float32(0.90) // and how much of each tone is one steady sinusoid,
	offPairShare     = float32(0.85) // and the share of the pair itself, once made up for the blocks' loss
	strongShare      = float32(0.85)

	holdMin   = dbm0(-42)
	holdShare = float32(0.25)
	holdFall  = ratioDB(12) // how far under its highest level a followed tone may fall
	levelBoth = ratioDB(6)  // see levelHolds
	levelOne  = ratioDB(3)

	// Blocks whose energy is below this (-45 dBm0, 7 dB under the weakest
	// tone the detector follows) hold no part of a tone it would act on:
	// their DFT is left out.
	quietBlock = dbm0(-45) * BlockSamples

	// Windows quieter than this (-41 dBm0) cannot pass any test.
	quietWindow = dbm0(-41) * windowSamples

	// Below this share at nominal, no pair is re-tuned: a tone 2.5 % off
	// keeps at least 0.15 of its power at nominal in a 20 ms window.
	prefilterShare = float32(0.12)

	// Below this share, the next window may be skipped (see Block).
	skipShare = float32(0.5)
)

const (
	// levelRunMax windows in a row at most are held by levels alone.
	levelRunMax = 10
	// levelOneRunMax of them at most by one tone's level.
	levelOneRunMax = 4
	// resumeBlocks: a tone let go may be taken up again this long after.
	resumeBlocks = 20
	// strongCount windows (5 ms apart) must be strong for a key press: a
	// 40 ms tone gives 4 or more, a 23 ms tone at most 2.
	strongCount = 4
	// offRunMin windows in a row must hold a pair off nominal to mask it.
	offRunMin = 5
	// missLimit windows in a row that fail the hold test end a tone.
	missLimit = 2
	// tailBlocks are masked after a tone ends, for its decay and any echo.
	tailBlocks = 2
	// maxOffset is the largest frequency error of a reported key press.
	maxOffset = 0.025
)

// BlockResult is what the detector decided at one block.
type BlockResult struct {
	// Mask is how many blocks, counting back from and including the block
	// just given, hold a tone and must be masked: 0 for none, at most
	// MaskBackBlocks+1.
	Mask int
	// Event is set when HasEvent: a key press became valid (KeyDown) or
	// ended (KeyUp).
	Event    Event
	HasEvent bool
}

// Detector is a streaming in-band DTMF detector for 8 kHz audio, fed 5 ms
// blocks. It reports each key press once (however long it is held) and tells
// its caller which blocks hold tone energy so they can be masked. It keeps no
// references and allocates nothing after New.
type Detector struct {
	// per-block analysis, ring of the last windowBlocks blocks
	re, im  [windowBlocks][8]float32
	pow     [windowBlocks][8]float32 // |re, im|^2
	acc     [16]float32              // the newest block's DFT
	phase   int                      // blocks mod phasePeriod
	tmp     [BlockSamples]float32    // scratch for dftBlock
	energy  [windowBlocks]float32
	newest  int // ring index of the newest block
	blocks  int64
	sums    [2]tuned   // the newest window's sums, and the previous one's
	curSums uint8      // which of sums is the newest
	bestOff [8]int8    // the offset refine found best, per frequency
	prevP   [8]float32 // and their (re-tuned) powers
	prevSet bool

	// state of the tone being followed
	active     bool
	lo, hi     int // pair indexes
	strong     int
	misses     int
	reported   bool
	tail       int
	startBlock int64 // block whose window first passed a test
	lastBlock  int64 // last block whose window held the pair
	accRe      [2]float64
	accIm      [2]float64
	accN       int
	prevStrong bool
	tentative  bool    // begun as a pure pair under other sound (see onSharePure)
	refL, refH float32 // its levels in its last strong window, or when it began
	peakL      float32 // the followed tones' highest levels
	peakH      float32
	levelRun   int      // windows in a row held by their levels alone (see levelHolds)
	clipRun    int      // and by clipping (see clipped)
	noReport   bool     // resumed after a report (see resumes): not reported again
	last       lastTone // the tone last let go
	refOffL    int8     // and the re-tuning offsets they measured at
	refOffH    int8

	samples       [windowBlocks][BlockSamples]int16 // the window's audio, a ring like re and im (see voiced)
	suppressUntil int64                             // blocks: no report before this block
	offRun        int                               // windows in a row holding a pair off nominal
	lastShare     float32                           // the last window's strongest pair's share
	lastOff       float32                           // and of its blocks' strongest pair (see offNominal)
}

// NewDetector returns a detector at the start of a stream.
func NewDetector() *Detector { return &Detector{} }

// coefficients, computed once.
var coef = func() (c struct {
	rotRe    [phasePeriod][8]float32 // e^{-jwNb}: block b's DFT referenced to the start of the stream
	rotIm    [phasePeriod][8]float32
	offLoss  [8][nOffsets]float32 // blockGain^2 of each refine offset
	wideLoss [8][len(wideOffsets)]float32
	offRe    [8][nOffsets][windowBlocks]float32 // e^{-j*dw*40*i} for each refine offset
	offIm    [8][nOffsets][windowBlocks]float32
	wideRe   [8][len(wideOffsets)][windowBlocks]float32
	wideIm   [8][len(wideOffsets)][windowBlocks]float32
	freqHz   [8]float64
}) {
	for k := 0; k < 8; k++ {
		f := lowHz[k%4]
		if k >= 4 {
			f = highHz[k-4]
		}
		c.freqHz[k] = f
		w := 2 * math.Pi * f / SampleRate
		// Block number b starts w N b later than the stream: every DTMF
		// frequency is a whole number of Hz, so this repeats every
		// phasePeriod blocks.
		for b := 0; b < phasePeriod; b++ {
			rot := -w * BlockSamples * float64(b)
			c.rotRe[b][k], c.rotIm[b][k] = float32(math.Cos(rot)), float32(math.Sin(rot))
		}
		// Re-tuning rotates each block by the offset's phase advance, and
		// (in refine) makes up for what a block itself loses of a tone
		// that far off the frequency its filter is tuned to.
		for o, rel := range wideOffsets {
			dw := w * rel
			c.wideLoss[k][o] = float32(blockGain(dw) * blockGain(dw))
			for i := 0; i < windowBlocks; i++ {
				p := -dw * BlockSamples * float64(i)
				c.wideRe[k][o][i], c.wideIm[k][o][i] = float32(math.Cos(p)), float32(math.Sin(p))
			}
		}
		for o, rel := range refineOffsets {
			dw := w * rel
			g := 1 / blockGain(dw)
			c.offLoss[k][o] = float32(1 / (g * g))
			for i := 0; i < windowBlocks; i++ {
				p := -dw * BlockSamples * float64(i)
				c.offRe[k][o][i], c.offIm[k][o][i] = float32(g*math.Cos(p)), float32(g*math.Sin(p))
			}
		}
	}
	return c
}()

// blockGain is the amplitude a block's filter gives a tone dw (radians per
// sample) off its frequency, relative to one on it.
func blockGain(dw float64) float64 {
	if dw == 0 {
		return 1
	}
	return math.Abs(math.Sin(dw*BlockSamples/2)/math.Sin(dw/2)) / BlockSamples
}

// phasePeriod: a whole number of Hz turns a whole number of times in
// 200 blocks of 5 ms (one second).
const phasePeriod = SampleRate / BlockSamples

// Reset returns the detector to the start of a stream.
func (d *Detector) Reset() { *d = Detector{} }

// SuppressFor stops reports (not masking) for the next n blocks, replacing
// any earlier suppression. A caller that learnt of a key press another way
// (RFC 4733, SIP INFO) uses it so the in-band copy of the same key is not
// reported twice.
func (d *Detector) SuppressFor(n int64) {
	d.suppressUntil = d.blocks + n
}

// Block analyses the next BlockSamples samples. x must hold exactly
// BlockSamples samples; other lengths are ignored and return an empty result.
func (d *Detector) Block(x []int16) BlockResult {
	if len(x) != BlockSamples {
		return BlockResult{}
	}
	d.newest = (d.newest + 1) & (windowBlocks - 1)
	d.blocks++
	if d.phase++; d.phase == phasePeriod {
		d.phase = 0
	}
	d.samples[d.newest] = *(*[BlockSamples]int16)(x)
	d.analyse((*[BlockSamples]int16)(x))
	// With no tone in hand or in sight, a window every 10 ms is enough.
	// The window before this one held no pair worth half its energy, so
	// less than 11 ms of any valid tone (whose noise is 15 dB under it):
	// this window holds less than 16 ms of it, too little to count as
	// strong, and the next one is judged; nor
	// anything like a pair off nominal (see offNominal). For masking,
	// MaskBackBlocks still reaches a tone's first sample before its frame
	// is released. The windows always judged are the ones that
	// end a 20 ms frame and its middle (even block counts), for frames fed
	// from block 0.
	if d.blocks%2 == 1 && !d.active && d.tail == 0 && d.offRun == 0 && d.lastShare < skipShare && d.lastOff < offShare*0.8 {
		d.prevSet, d.prevStrong = false, false
		return BlockResult{}
	}
	return d.decide()
}

// analyse computes one block's DFT at the eight frequencies and stores it
// referenced to absolute time (the start of the stream), so that a window's
// value is the plain sum of its blocks'.
func (d *Detector) analyse(x *[BlockSamples]int16) {
	n := d.newest
	acc := &d.acc
	e := dftBlock(x, acc, &d.tmp)
	d.energy[n] = e
	// A block far too quiet to hold part of a tone is left out.
	if e < quietBlock {
		d.re[n] = [8]float32{}
		d.im[n] = [8]float32{}
		d.pow[n] = [8]float32{}
		return
	}
	c := &coef
	ph := d.phase
	for k := 0; k < 8; k++ {
		xr, xi := acc[k], acc[8+k]
		rr, ri := c.rotRe[ph][k], c.rotIm[ph][k]
		d.re[n][k] = xr*rr - xi*ri
		d.im[n][k] = xr*ri + xi*rr
		d.pow[n][k] = xr*xr + xi*xi
	}
}

// window sums the newest windowBlocks blocks coherently at each frequency
// (into the newest sums, at the nominal offset), returns the nominal powers
// (mean square of a tone at each frequency) in p, and turns e, the window's
// summed energy, into its mean square.
func (d *Detector) window(p *[8]float32, e float32) float32 {
	cur := &d.sums[d.curSums]
	r0, r1, r2, r3 := &d.re[0], &d.re[1], &d.re[2], &d.re[3]
	i0, i1, i2, i3 := &d.im[0], &d.im[1], &d.im[2], &d.im[3]
	for k := 0; k < 8; k++ {
		sr := r0[k] + r1[k] + r2[k] + r3[k]
		si := i0[k] + i1[k] + i2[k] + i3[k]
		cur.re[k][nominalOffset], cur.im[k][nominalOffset] = sr, si
		p[k] = (sr*sr + si*si) * powerScale
	}
	return e / windowSamples
}

const (
	windowSamples = windowBlocks * BlockSamples
	powerScale    = 2.0 / (windowSamples * windowSamples)
)

type grade uint8

const (
	gradeNone      grade = 0
	gradeOn        grade = 1 << iota // starts masking
	gradeStrong                      // counts towards a report
	gradeTentative                   // on only as a pure pair under other sound (see onSharePure)
)

// best returns the strongest index of a group and the strongest of the others.
func best(p *[4]float32) (int, float32, float32) {
	bi, bp, sp := 0, p[0], float32(0)
	for i := 1; i < 4; i++ {
		if p[i] > bp {
			bi, sp, bp = i, bp, p[i]
		} else if p[i] > sp {
			sp = p[i]
		}
	}
	return bi, bp, sp
}

func abs8(x int8) int8 {
	if x < 0 {
		return -x
	}
	return x
}

// gradePair grades the window's best pair; inner says both tones measured
// within the inner offsets of re-tuning (1.25 %).
func gradePair(pl, sl, ph, sh, e float32, inner bool) grade {
	if !gradeShape(pl, sl, ph, sh) {
		return gradeNone
	}
	share := pl + ph
	g := gradeNone
	if share >= e*onShareAny || inner && share >= e*onShare {
		g |= gradeOn
	}
	if share >= e*strongShare {
		g |= gradeStrong
	}
	return g
}

// gradeShape: both tones loud enough, inside the twist, each standing out
// of its group.
func gradeShape(pl, sl, ph, sh float32) bool { return shapeWith(pl, sl, ph, sh, dominance) }

// shapeWith is gradeShape with the dominance dom.
func shapeWith(pl, sl, ph, sh, dom float32) bool {
	return pl >= toneMin && ph >= toneMin && ph >= pl*twistLo && ph <= pl*twistHi &&
		pl >= sl*dom && ph >= sh*dom
}

func (d *Detector) decide() BlockResult {
	var res BlockResult
	var p [8]float32
	var e float32
	raw := d.energy[0] + d.energy[1] + d.energy[2] + d.energy[3]
	// A window too quiet to hold any tone the detector acts on is not
	// analysed further.
	d.lastShare, d.lastOff = 0, 0
	if raw >= quietWindow {
		e = d.window(&p, raw)
		switch {
		case max(p[0], p[1], p[2], p[3])+max(p[4], p[5], p[6], p[7]) >= e*prefilterShare:
			// A tone could be here: re-tune the strongest frequency of
			// each group. The others only matter as the runner-up a tone
			// must stand out from, where their nominal power is a fair
			// measure.
			for g := 0; g < 8; g += 4 {
				a, _, _ := best((*[4]float32)(p[g : g+4]))
				p[g+a] = d.refine(g+a, p[g+a])
			}
		case d.active:
			// Only the pair being followed matters.
			p[d.lo] = d.refine(d.lo, p[d.lo])
			p[4+d.hi] = d.refine(4+d.hi, p[4+d.hi])
		}
	}
	lo, pl, sl := best((*[4]float32)(p[0:4]))
	hi, ph, sh := best((*[4]float32)(p[4:8]))
	g := gradeNone
	if e > 0 {
		d.lastShare = (pl + ph) / e
		inner := abs8(d.bestOff[lo]-nominalOffset) <= 1 && abs8(d.bestOff[4+hi]-nominalOffset) <= 1
		g = gradePair(pl, sl, ph, sh, e, inner)
		// The tests under other sound start a tone, or end one for another
		// key; on the tone being followed they would change nothing.
		inner = inner && (!d.active || lo != d.lo || hi != d.hi)
		share := pl + ph
		if g&gradeOn == 0 && inner && share >= e*emphMinShare && shapeWith(pl, sl, ph, sh, dominancePure) {
			if share >= e*onSharePure && d.pure(lo, 4+hi, onPurity) ||
				gradeShape(pl, sl, ph, sh) && (share >= e*onShareUnvoiced || d.emphShare(lo, hi, pl, ph) >= emphOnShare) &&
					d.pure(lo, 4+hi, onPurityUnvoiced) && !d.voiced(lo, hi, pl, ph) {
				g |= gradeOn | gradeTentative
			}
		}
	}

	if g&gradeOn == 0 && !d.active && e > 0 && d.offNominal(e) {
		// A pair off nominal by more than re-tuning reaches is no key
		// press, but other detectors may take it for one. Once it has
		// lasted offRunMin windows (speech rarely holds so pure a pair that
		// long) mask it, as far back as possible; never report it.
		d.offRun++
		if d.offRun >= offRunMin {
			res.Mask = MaskBackBlocks + 1
			d.tail = tailBlocks
			return res
		}
	} else {
		d.offRun = 0
	}
	if d.active && g&gradeOn != 0 && (lo != d.lo || hi != d.hi) {
		// A different key with no gap the detector could see: end this one.
		res = d.finish()
	}
	if !d.active {
		if l := &d.last; l.set && !l.broken && (e == 0 || p[l.lo]*holdFall < l.refL || p[4+l.hi]*holdFall < l.refH) {
			l.broken = true // a gap: what comes next is another press
		}
		if g&gradeOn != 0 {
			d.begin(lo, hi)
			d.tentative, d.refL, d.refH = g&gradeTentative != 0, pl, ph
			d.refOffL, d.refOffH = d.bestOff[lo], d.bestOff[4+hi]
			res.Mask = MaskBackBlocks + 1
		} else if e > 0 && d.resumes(lo, hi, pl, ph, e) {
			// The tone let go a moment ago is back, as it was: speech
			// over it had hidden it. Mask it again, as far back as can be.
			last := d.last
			d.begin(lo, hi)
			d.refL, d.refH, d.refOffL, d.refOffH = last.refL, last.refH, last.offL, last.offH
			d.noReport = last.reported
			res.Mask = MaskBackBlocks + 1
		} else if d.tail > 0 {
			d.tail--
			res.Mask = 1
		}
		if g&gradeStrong != 0 {
			d.strongWindow(&p)
		} else {
			d.prevStrong = false
		}
		d.keepWindow(&p)
		return res
	}

	// Following a tone: does the window still hold its pair?
	qlo, qhi := p[d.lo], p[4+d.hi]
	holds := e > 0 && qlo >= holdMin && qhi >= holdMin && qlo+qhi >= e*holdShare &&
		qlo*holdFall >= d.peakL && qhi*holdFall >= d.peakH
	switch {
	case holds:
		d.levelRun, d.clipRun = 0, 0
	case e > 0 && d.clipRun < clipRunMax && d.refL >= loudTone && d.refH >= loudTone &&
		qlo*holdFall >= d.refL && qhi*holdFall >= d.refH && d.clipped():
		// A loud key press with speech over it is clipped: its levels
		// then say little. It holds while the audio is at the rails.
		holds = true
		d.clipRun++
	case e > 0 && d.levelRun < levelRunMax:
		// Speech louder than the tone can take the window's share, and
		// even drown one of its tones for a moment, while the tone goes
		// on: it still holds when its levels do (see levelHolds).
		qlo, qhi = d.refine(d.lo, qlo), d.refine(4+d.hi, qhi)
		if abs8(d.bestOff[d.lo]-d.refOffL) <= 1 && abs8(d.bestOff[4+d.hi]-d.refOffH) <= 1 && d.levelHolds(qlo, qhi) &&
			qlo*holdFall >= d.peakL && qhi*holdFall >= d.peakH {
			holds = true
			d.levelRun++
		}
	}
	if holds {
		d.peakL, d.peakH = max(d.peakL, qlo), max(d.peakH, qhi)
	}
	if d.tentative {
		switch {
		case g&(gradeOn|gradeStrong) != 0 && g&gradeTentative == 0 && lo == d.lo && hi == d.hi:
			// A key press by the plain tests now. (A tentative tone is
			// never reported: a report needs a strong window, which ends
			// the tentative state first.)
			d.tentative = false
		case !holds || !within(qlo, d.refL, tentLevel) || !within(qhi, d.refH, tentLevel):
			// Begun as a pure pair under other sound, it did not keep its
			// levels: a voice's harmonics, not a key press. Stop at once.
			d.active, d.tentative, d.reported = false, false, false
			d.keepWindow(&p)
			return res
		}
	}
	if holds {
		d.misses = 0
		d.lastBlock = d.blocks
		if res.Mask < MaskBackBlocks+1 {
			res.Mask = MaskBackBlocks + 1
		}
		if g&gradeStrong != 0 && lo == d.lo && hi == d.hi {
			d.refL, d.refH = qlo, qhi // the tone's levels with little else
			d.refOffL, d.refOffH = d.bestOff[d.lo], d.bestOff[4+d.hi]
			d.strongWindow(&p)
			if !d.reported && !d.noReport && d.strong >= strongCount && d.blocks >= d.suppressUntil && d.onFrequency() {
				d.reported = true
				res.HasEvent = true
				res.Event = Event{
					Digit: keypad[d.lo][d.hi], Phase: KeyDown, Source: SourceInband,
					Start: d.startTime(),
				}
			}
		} else {
			d.prevStrong = false
		}
	} else {
		d.prevStrong = false
		d.misses++
		res.Mask = max(res.Mask, 1)
		if d.misses >= missLimit {
			end := d.finish()
			if end.HasEvent {
				res.HasEvent, res.Event = true, end.Event
			}
		}
	}
	d.keepWindow(&p)
	return res
}

func (d *Detector) begin(lo, hi int) {
	d.active, d.lo, d.hi = true, lo, hi
	d.tentative = false
	d.peakL, d.peakH, d.levelRun, d.clipRun, d.noReport = 0, 0, 0, 0, false
	d.strong, d.misses, d.reported = 0, 0, false
	d.startBlock, d.lastBlock = d.blocks, d.blocks
	d.accRe, d.accIm, d.accN = [2]float64{}, [2]float64{}, 0
	d.prevStrong = false
}

func (d *Detector) keepWindow(p *[8]float32) {
	d.curSums ^= 1
	d.prevP, d.prevSet = *p, true
}

// finish ends the followed tone, reporting KeyUp if it was reported.
func (d *Detector) finish() BlockResult {
	var res BlockResult
	if d.reported {
		res.HasEvent = true
		res.Event = Event{
			Digit: keypad[d.lo][d.hi], Phase: KeyUp, Source: SourceInband,
			Start: d.startTime(), End: d.endTime(),
		}
	}
	d.last = lastTone{lo: d.lo, hi: d.hi, refL: d.refL, refH: d.refH, offL: d.refOffL, offH: d.refOffH,
		end: d.blocks, reported: d.reported || d.noReport, set: true}
	d.active, d.reported = false, false
	d.tail = tailBlocks
	return res
}

func blocksToDuration(b int64) time.Duration {
	return time.Duration(b) * BlockSamples * time.Second / SampleRate
}

// startTime estimates the tone's first sample: the first window that passed a
// test holds about 12 ms of the tone at its end.
func (d *Detector) startTime() time.Duration {
	t := blocksToDuration(d.startBlock) - 12*time.Millisecond
	return max(t, 0)
}

// endTime estimates the tone's end: the last window that held the pair holds
// about 8 ms of its tail at its start.
func (d *Detector) endTime() time.Duration {
	return max(blocksToDuration(d.lastBlock)-12*time.Millisecond, d.startTime())
}
