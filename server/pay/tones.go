package pay

import (
	"math"
	"sync"

	"github.com/hushphone/hushphone/media/mix"
)

// Tone is a feedback tone for the caller.
type Tone string

// The tones. Both are far from any DTMF pair (and from the masking tone),
// at -16 dBm0, with raised-cosine ramps so they never click:
//
//   - ToneAccepted, a field (or the payment) was accepted: two short
//     rising beeps, 1100 Hz then 1500 Hz, 90 ms each with 40 ms between.
//   - ToneRejected, a field was rejected (or the payment was not taken):
//     three low 350 Hz beeps of 120 ms with 80 ms between.
const (
	ToneAccepted Tone = "accepted"
	ToneRejected Tone = "rejected"
)

const (
	tonePeak = 3600 // -16 dBm0: 0 dBm0 is a sine of peak 22706
	toneRamp = 40   // samples (5 ms)
)

type beep struct {
	hz          float64
	start, size int // samples
}

func render(beeps []beep) []int16 {
	n := 0
	for _, b := range beeps {
		n = max(n, b.start+b.size)
	}
	n = (n + mix.FrameSamples - 1) / mix.FrameSamples * mix.FrameSamples // whole 20 ms frames
	pcm := make([]int16, n)
	for _, b := range beeps {
		for i := range b.size {
			env := 1.0
			if k := min(i, b.size-1-i); k < toneRamp {
				env = 0.5 - 0.5*math.Cos(math.Pi*float64(k)/toneRamp)
			}
			pcm[b.start+i] = int16(tonePeak * env * math.Sin(2*math.Pi*b.hz*float64(i)/8000))
		}
	}
	return pcm
}

var tonePCM = sync.OnceValue(func() map[Tone][]int16 {
	return map[Tone][]int16{
		ToneAccepted: render([]beep{{1100, 0, 720}, {1500, 1040, 720}}),
		ToneRejected: render([]beep{{350, 0, 960}, {350, 1600, 960}, {350, 3200, 960}}),
	}
})

// PCM is t as 8 kHz PCM16 in whole 20 ms frames (nil for an unknown tone).
// The slice is shared: do not change it.
func (t Tone) PCM() []int16 { return tonePCM()[t] }
