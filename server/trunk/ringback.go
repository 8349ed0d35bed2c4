package trunk

// This file holds ringback: the tones (Ringback, RingbackByName), made
// into G.711 frames once, and the goroutine that plays them to a waiting
// caller on the call's RTP stream until Answer or the call's end.

import (
	"fmt"
	"math"
	"time"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
)

// Ringback is the tone a caller hears as early media while the call waits
// for an agent: two frequencies summed, switched on and off in a cadence.
type Ringback struct {
	Name  string
	Freqs [2]float64 // Hz
	// Cadence is on, off, on, off, ... durations, each a multiple of one
	// frame (mix.FrameDuration, 20 ms); the pattern repeats.
	Cadence []time.Duration
	// Level is the tone's total level in dBm0 while on.
	Level float64
}

// The ringback tones offered by name.
var (
	// RingbackUK is the UK's ringing tone (BT SIN 350): 400+450 Hz,
	// 0.4 s on, 0.2 s off, 0.4 s on, 2 s off.
	RingbackUK = Ringback{
		Name: "uk", Freqs: [2]float64{400, 450}, Level: -19,
		Cadence: []time.Duration{400 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 2 * time.Second},
	}
	// RingbackUS is North America's audible ringing (ANSI T1.401):
	// 440+480 Hz, 2 s on, 4 s off.
	RingbackUS = Ringback{
		Name: "us", Freqs: [2]float64{440, 480}, Level: -19,
		Cadence: []time.Duration{2 * time.Second, 4 * time.Second},
	}
)

// RingbackByName returns the ringback tone called name ("uk" or "us"), or
// false for "off".
func RingbackByName(name string) (Ringback, bool, error) {
	switch name {
	case "uk":
		return RingbackUK, true, nil
	case "us":
		return RingbackUS, true, nil
	case "off", "":
		return Ringback{}, false, nil
	}
	return Ringback{}, false, fmt.Errorf("%w: the ringback setting %q: use uk, us or off", ErrConfig, name)
}

// dBm0RMS is the RMS, in 16-bit linear samples, of a 0 dBm0 sine in G.711
// (3.17 dB below the largest sine the code can carry).
const dBm0RMS = 16020.0

// frames is one period of the tone's cadence in law, a whole number of
// 20 ms frames.
func (r Ringback) frames(law g711.Law) ([]byte, error) {
	var total time.Duration
	for _, d := range r.Cadence {
		if d <= 0 || d%mix.FrameDuration != 0 {
			return nil, fmt.Errorf("%w: ringback cadence step %v is not a positive multiple of %v", ErrConfig, d, mix.FrameDuration)
		}
		total += d
	}
	if total == 0 || total > time.Minute {
		return nil, fmt.Errorf("%w: ringback cadence of %v", ErrConfig, total)
	}
	if r.Level > 0 || r.Level < -60 {
		return nil, fmt.Errorf("%w: ringback level %g dBm0 (between -60 and 0)", ErrConfig, r.Level)
	}
	n := int(total * mix.SampleRate / time.Second)
	pcm := make([]int16, n)
	// Two tones of equal level summing to Level: each one's RMS is 3 dB
	// down, so its peak is the RMS of the whole.
	amp := dBm0RMS * math.Pow(10, r.Level/20)
	i := 0
	for step, d := range r.Cadence {
		m := int(d * mix.SampleRate / time.Second)
		if step%2 == 0 { // on
			for k := range m {
				tt := float64(i+k) / mix.SampleRate
				v := amp * (math.Sin(2*math.Pi*r.Freqs[0]*tt) + math.Sin(2*math.Pi*r.Freqs[1]*tt))
				pcm[i+k] = int16(math.Round(v))
			}
		}
		i += m
	}
	out := make([]byte, n)
	law.Encode(out, pcm)
	return out, nil
}

// ringback plays tone (whole frames, repeated) to the caller, a frame
// every mix.FrameDuration, until stopped (stopRingback, which run calls as
// the call ends), the call is hung up or its dialog ends.
func (c *Call) ringback(tone []byte) {
	defer c.ringWG.Done()
	done := c.dlg.Context().Done()
	tick := time.NewTicker(mix.FrameDuration)
	defer tick.Stop()
	marker := true
	for i := 0; ; i = (i + mix.FrameSamples) % len(tone) {
		if err := c.write(tone[i:i+mix.FrameSamples], marker); err != nil {
			c.t.log.Debug("trunk: ringback not sent", "call", c.ID, "err", err)
		}
		marker = false
		select {
		case <-c.ringStop:
			return
		case <-c.stop:
			return
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// stopRingback stops the ringback, if any, and waits for it.
func (c *Call) stopRingback() {
	c.ringOnce.Do(func() {}) // none may start from now on
	c.ringEnd.Do(func() { close(c.ringStop) })
	c.ringWG.Wait()
}
