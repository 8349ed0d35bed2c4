package route

// This file holds the longest wait (WithMaxWait): a call waiting for an
// agent, queued or ringing, ends with protocol.EndQueueTimeout when it has
// waited too long since it (last) joined the queue.

import "github.com/hushphone/hushphone/protocol"

// startWait starts (again) the longest wait of a call that joined the
// queue.
func (r *Router) startWait(c *call) {
	if r.maxWait <= 0 {
		return
	}
	r.stopWait(c)
	gen := c.waitGen
	c.wait = r.after(r.maxWait, func() { r.waitTimeout(c, gen) })
}

// stopWait stops a call's longest wait: an agent took it, or it ended.
func (r *Router) stopWait(c *call) {
	c.waitGen++
	if c.wait != nil && c.wait.Stop() {
		r.timers.Done()
	}
	c.wait = nil
}

func (r *Router) waitTimeout(c *call, gen uint64) {
	if c.waitGen != gen || (c.state != CallStateQueued && c.state != CallStateRinging) || r.calls[c.id] != c {
		return
	}
	c.wait = nil
	r.log.Info("call waited too long; ending it", "call", c.id, "waited", r.maxWait)
	r.end(c, protocol.EndQueueTimeout, r.clock.Now())
}
