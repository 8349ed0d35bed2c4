package calls

import (
	"context"
	"fmt"
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
	if c.hold != nil && c.agentHold {
		// On hold by its agent, who has now dropped: the tone plays on,
		// and the dead leg goes.
		c.agentHold = false
		leg := c.leg
		c.leg = nil
		c.mu.Unlock()
		if leg != nil {
			_ = leg.Close()
		}
		return
	}
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
	c.agentHold = false
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

// Hold puts the agent's call on hold (on) or takes it off (the agent's
// "hold" button): the caller hears the hold tone instead of the agent,
// the agent's leg stays up, and the recording goes on (the agent's side
// silent). It is the agent's own call or ErrNoCall; a call not answered
// yet, or one on hold because its agent dropped, cannot be held.
func (m *Manager) Hold(_ context.Context, user, callID string, on bool) error {
	c, lis, err := m.userCall(user, callID)
	if err != nil || lis != nil {
		return ErrNoCall
	}
	c.mu.Lock()
	if !c.answered || c.tc == nil || (c.hold != nil && !c.agentHold) {
		c.mu.Unlock()
		return fmt.Errorf("%w: the call is not one the agent can hold now", ErrNotActive)
	}
	switch {
	case on && c.hold == nil:
		stop := make(chan struct{})
		c.hold, c.agentHold = stop, true
		c.mu.Unlock()
		m.log.Info("call on hold by its agent", "call", c.id)
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			playHold(c, stop)
		}()
		return nil
	case !on && c.hold != nil:
		close(c.hold)
		c.hold, c.agentHold = nil, false
		m.log.Info("call off hold", "call", c.id)
	}
	c.mu.Unlock()
	return nil
}
