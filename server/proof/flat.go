package proof

import (
	"cmp"
	"math"
	"slices"
)

// What the Masker writes in place of a key press (media/mask, ModeTone):
// one flat tone, the same for every key, at 2000 Hz and -18 dBm0. At 8 kHz
// it is the four samples 0, A, 0, -A repeated (A = 2877), with a 2 ms fade
// in and out, and it replaces every sample from the key press's first to
// some 30 ms after its last. Those constants are the Masker's; they are
// repeated here rather than imported so that the proof stays a check from
// outside, and TestFlatTonesOfTheMasker runs the real Masker to keep them
// in step.
//
// The counter is simple: it cuts each channel into 5 ms blocks (40
// samples, exactly ten periods of 2000 Hz) and calls a block flat when
//
//   - at least flatPurity of its energy is at 2000 Hz (a single-bin DFT,
//     which at 2000 Hz and 8 kHz is sums and differences of samples), which
//     holds within about 35 Hz of 2000, and
//   - its level is within flatLevelDB of -18 dBm0.
//
// A flat tone is a run of at least flatMinBlocks flat blocks (30 ms; the
// Masker's shortest replacement, for a 40 ms key press sent out of band,
// covers 7 whole blocks wherever the file's blocks fall), runs less than
// flatMaxGap blocks apart counting as one. So it counts what the Masker
// writes in ModeTone; silence and comfort noise (ModeSilence, ModeNoise)
// leave nothing to count, and any other steady 2000 Hz tone at that level
// (a whistle, a test tone) would be counted too.
const (
	blockSamples  = 40
	flatHz        = 2000
	flatDBm0      = -18
	flatLevelDB   = 6
	flatPurity    = 0.9
	flatMinBlocks = 6
	flatMaxGap    = 2
)

// Energy bounds of a flat block: a 2000 Hz sine at -18 dBm0 (0 dBm0 has a
// peak of 22860) has a mean square of 22860² / 2 · 10^(-18/10), plus or
// minus flatLevelDB.
var (
	flatMinEnergy = blockSamples * 22860 * 22860 / 2 * math.Pow(10, (flatDBm0-flatLevelDB)/10.0)
	flatMaxEnergy = blockSamples * 22860 * 22860 / 2 * math.Pow(10, (flatDBm0+flatLevelDB)/10.0)
)

// flatBlock reports whether a 40-sample block is the Masker's flat tone.
func flatBlock(x []int16) bool {
	// The DFT bin at 2000 Hz: cos is 1, 0, -1, 0 and sin 0, 1, 0, -1.
	var re, im, e float64
	for i := 0; i+3 < len(x); i += 4 {
		a, b, c, d := float64(x[i]), float64(x[i+1]), float64(x[i+2]), float64(x[i+3])
		re += a - c
		im += b - d
		e += a*a + b*b + c*c + d*d
	}
	if e < flatMinEnergy || e > flatMaxEnergy {
		return false
	}
	// A pure 2000 Hz sine puts all its energy in the bin:
	// re² + im² = e · N / 2.
	return 2*(re*re+im*im) >= flatPurity*e*blockSamples
}

// flatCounter finds flat tones on one channel, block by block.
type flatCounter struct {
	blocks  int64 // blocks seen
	start   int64 // first block of the current run
	last    int64 // last flat block of the current run
	flat    int   // flat blocks in the current run
	inRun   bool
	pend    [blockSamples]int16 // a partial block carried to the next frame
	pendLen int
}

// frame takes the channel's next samples. It reports a flat tone that ended
// (by its first block) when one did.
func (f *flatCounter) frame(x []int16) (int64, bool) {
	var start int64
	found := false
	for len(x) > 0 {
		var b []int16
		if f.pendLen > 0 || len(x) < blockSamples {
			k := copy(f.pend[f.pendLen:], x)
			f.pendLen += k
			x = x[k:]
			if f.pendLen < blockSamples {
				break
			}
			b, f.pendLen = f.pend[:], 0
		} else {
			b, x = x[:blockSamples], x[blockSamples:]
		}
		if s, ok := f.block(flatBlock(b)); ok {
			start, found = s, true
		}
	}
	return start, found
}

// block takes one block's verdict.
func (f *flatCounter) block(flat bool) (int64, bool) {
	i := f.blocks
	f.blocks++
	if flat {
		if f.inRun && i-f.last <= flatMaxGap {
			f.last = i
			f.flat++
			return 0, false
		}
		s, ok := f.end()
		f.start, f.last, f.flat, f.inRun = i, i, 1, true
		return s, ok
	}
	if f.inRun && i-f.last > flatMaxGap {
		return f.end()
	}
	return 0, false
}

// end closes the current run, reporting it if it was long enough.
func (f *flatCounter) end() (int64, bool) {
	if !f.inRun {
		return 0, false
	}
	f.inRun = false
	return f.start, f.flat >= flatMinBlocks
}

// sortHits puts hits in time order, then by channel.
func sortHits(h []Hit) {
	slices.SortStableFunc(h, func(a, b Hit) int {
		if c := cmp.Compare(a.At, b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.Channel, b.Channel)
	})
}
