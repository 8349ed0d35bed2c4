package calls

import (
	"math"
	"sync"
	"time"
)

// The hold tone is what a caller hears while the agent's connection is
// down (the agent may rejoin within the queue's rejoin timeout; after it
// the call goes back to the queue, and the tone goes on until an agent has
// it): two soft 440 Hz beeps every 4 s, so the line never sounds dead.
// 440 Hz is far below DTMF's lowest tone (697 Hz), and it goes only to the
// caller, never to the recording.
const (
	holdCycle  = 4 * 8000 // samples in one cycle of the pattern
	holdFreq   = 440.0
	holdPeak   = 2271 // −20 dBm0 (0 dBm0 is a sine of peak 22706)
	holdBeep   = 1600 // samples in one beep (200 ms)
	holdGap    = 1600 // samples between the two beeps
	holdRamp   = 80   // samples of raised-cosine ramp at each end of a beep
	holdFrame  = 160
	holdPeriod = 20 * time.Millisecond
)

// holdPCM is one cycle of the hold tone as 8 kHz PCM16.
var holdPCM = sync.OnceValue(func() []int16 {
	pcm := make([]int16, holdCycle)
	for _, start := range []int{0, holdBeep + holdGap} {
		for i := range holdBeep {
			env := 1.0
			if k := min(i, holdBeep-1-i); k < holdRamp {
				env = 0.5 - 0.5*math.Cos(math.Pi*float64(k)/holdRamp)
			}
			n := start + i
			pcm[n] = int16(holdPeak * env * math.Sin(2*math.Pi*holdFreq*float64(n)/8000))
		}
	}
	return pcm
})

// startHold closes the call's dead agent leg and plays the hold tone to
// the caller until stopHold or the call's end. A call not yet answered has
// nothing to hold: the caller hears ringing.
func (m *Manager) startHold(c *call) {
	c.mu.Lock()
	if c.hold != nil || !c.answered {
		c.mu.Unlock()
		return
	}
	stop := make(chan struct{})
	c.hold = stop
	leg := c.leg
	c.leg = nil
	c.mu.Unlock()
	if leg != nil {
		_ = leg.Close()
	}
	m.log.Info("call on hold: the agent's connection dropped", "call", c.id)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		playHold(c, stop)
	}()
}

// stopHold ends the hold tone, if it plays.
func (c *call) stopHold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold != nil {
		close(c.hold)
		c.hold = nil
	}
}

func playHold(c *call, stop <-chan struct{}) {
	law := c.tc.Offer.Law
	pcm := holdPCM()
	var frame [holdFrame]byte
	tick := time.NewTicker(holdPeriod)
	defer tick.Stop()
	for i := 0; ; i = (i + holdFrame) % holdCycle {
		law.Encode(frame[:], pcm[i:i+holdFrame])
		_ = c.tc.Send(frame[:]) // a lost frame of hold tone is not worth more
		select {
		case <-stop:
			return
		case <-c.tc.Done():
			return
		case <-tick.C:
		}
	}
}
