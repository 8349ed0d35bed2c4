package calls

import (
	"context"
	"fmt"
)

// A call is held when its agent's connection drops (the agent may rejoin
// within the queue's rejoin timeout; after it the call goes back to the
// queue, and stays held until an agent has it), or when its agent presses
// hold. Either way the caller hears the hold tone (audio.go) and the
// recording goes on.

// startHold closes the call's dead agent leg and holds the call until
// stopHold or the call's end. A call not yet answered has nothing to hold:
// the caller hears ringing.
func (m *Manager) startHold(c *call) {
	c.mu.Lock()
	if c.hold == heldDropped || (c.hold == notHeld && !c.answered) {
		c.mu.Unlock()
		return
	}
	// Not held yet, or on hold by its agent, who has now dropped: the
	// tone plays on, and the dead leg goes.
	fresh := c.hold == notHeld
	c.setHold(heldDropped)
	leg := c.leg
	c.leg = nil
	c.audio.setAgent(nil)
	c.mu.Unlock()
	if leg != nil {
		_ = leg.Close()
	}
	if fresh {
		m.log.Info("call on hold: the agent's connection dropped", "call", c.id)
	}
}

// stopHold takes the call off hold, if it is held.
func (c *call) stopHold() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.setHold(notHeld)
}

// setHold holds the call as h says, and has its audio follow (c.mu held).
func (c *call) setHold(h holdState) {
	c.hold = h
	c.audio.setHold(h)
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
	if !c.answered || c.tc == nil || c.hold == heldDropped {
		c.mu.Unlock()
		return fmt.Errorf("%w: the call is not one the agent can hold now", ErrNotActive)
	}
	switch {
	case on && c.hold == notHeld:
		c.setHold(heldByAgent)
		c.mu.Unlock()
		m.log.Info("call on hold by its agent", "call", c.id)
		return nil
	case !on && c.hold == heldByAgent:
		c.setHold(notHeld)
		m.log.Info("call off hold", "call", c.id)
	}
	c.mu.Unlock()
	return nil
}
