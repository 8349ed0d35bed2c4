// Package mix is the arithmetic of the call path's audio: the frame every
// part of it works in (8 kHz, 20 ms, 160 samples of 16-bit linear PCM),
// adding frames with clipping, gain, and a Queue that holds one stream's
// frames until another stream, on its own clock, takes them to mix in.
//
// The server mixes the masked caller with the agent for supervisors
// listening in and puts the caller's prompts (payment tones) over the
// agent's voice; the desktop app puts its keypad tones over the agent's
// microphone. All of them use Add and Scale, which are allocation-free
// and safe on any lengths (they work on the shorter of the two).
//
// Everything here is standard library only and allocates nothing per
// frame (the benchmarks run with -benchmem to show it).
package mix

import (
	"math"
	"time"
)

// The call path's frame: G.711's clock, 20 ms a packet.
const (
	SampleRate    = 8000                  // samples a second
	FrameSamples  = 160                   // samples in one 20 ms frame
	FrameDuration = 20 * time.Millisecond // one frame's length
)

// clip16 bounds v to a 16-bit sample.
func clip16(v int32) int16 {
	return int16(max(math.MinInt16, min(math.MaxInt16, v)))
}

// Add adds src into dst sample by sample, clipping at the 16-bit limits.
// Past the shorter of the two, dst is unchanged.
func Add(dst, src []int16) {
	n := min(len(dst), len(src))
	dst, src = dst[:n], src[:n]
	for i, v := range src {
		dst[i] = clip16(int32(dst[i]) + int32(v))
	}
}

// Gain is a linear gain factor in Q15 fixed point: 1<<15 is unity.
type Gain int32

// Unity leaves samples as they are.
const Unity Gain = 1 << 15

// maxGainDB bounds GainDB: +24 dB is already far past any sane level.
const maxGainDB = 24

// GainDB is the Gain for db decibels (an amplitude ratio of 10^(db/20)),
// bounded to +24 dB; -inf (or anything below -90 dB) is silence.
func GainDB(db float64) Gain {
	if math.IsNaN(db) || db < -90 {
		return 0
	}
	db = min(db, maxGainDB)
	return Gain(math.Round(math.Pow(10, db/20) * float64(Unity)))
}

// Scale multiplies every sample of pcm by g, rounding to nearest and
// clipping at the 16-bit limits.
func Scale(pcm []int16, g Gain) {
	if g == Unity {
		return
	}
	for i, v := range pcm {
		pcm[i] = clip16((int32(v)*int32(g) + 1<<14) >> 15)
	}
}
