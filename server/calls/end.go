package calls

// This file holds what the calls do when the queue ends a call: BYE to the
// caller, or for a caller who waited too long, a busy tone first.

import (
	"context"
	"time"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/route"
)

// callEnded acts on the queue ending a call.
func (m *Manager) callEnded(e route.CallEnded) {
	m.mu.Lock()
	c := m.calls[e.Call]
	m.mu.Unlock()
	if c != nil && e.Reason != protocol.EndCallerGone {
		// The agent (or the queue) ended it: BYE to the caller, off
		// the queue's goroutine; an outbound call still ringing stops
		// ringing.
		c.mu.Lock()
		tc, stopDial := c.tc, c.cancel
		if tc == nil {
			c.over = true // an answer that comes now is hung up at once
		}
		c.mu.Unlock()
		if stopDial != nil {
			stopDial()
		}
		if tc == nil {
			if c.number != "" {
				m.end(context.Background(), c.id) // dialling stopped: nothing else will end it
			}
			return
		}
		if e.Reason == protocol.EndQueueTimeout {
			// Waited too long: a short busy tone says so, then BYE.
			c.stopHold()
			m.spawn(func() {
				ctx, cancel := context.WithTimeout(context.Background(), busyWait)
				if err := tc.Busy(ctx, busyTone); err != nil {
					m.log.Info("caller let go after waiting too long, not cleanly", "call", e.Call, "err", err)
				}
				cancel()
			})
			return
		}
		m.spawn(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = tc.Hangup(ctx)
			cancel()
		})
	}
}

// busyTone is how long a caller who waited too long (the max-queue-wait
// setting) hears the busy tone before the BYE; busyWait bounds the whole,
// answering (whose ACK may take a lossy network's retransmissions) and the
// BYE included.
const (
	busyTone = 3 * time.Second
	busyWait = 40 * time.Second
)
