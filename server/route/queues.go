package route

// This file holds the queues: a call waits in one (its dialled number's,
// or the default queue) and rings only that queue's members.

import "fmt"

// DefaultQueue is the queue of a call to a number no queue has, and of
// Inbound's calls.
const DefaultQueue = "default"

// WithMembers sets who may take a queue's calls: member(name, queue)
// reports whether the agent of that name is a member of queue. Without
// it, every agent takes every call. It is called with the Router's lock
// held: it must answer from memory, at once.
func WithMembers(member func(agentName, queue string) bool) Option {
	return func(r *Router) { r.member = member }
}

// Inbound puts a new call at the back of the default queue.
func (r *Router) Inbound(id, from string) error { return r.InboundTo(id, from, DefaultQueue) }

// InboundTo puts a new call at the back of the queue: it rings only the
// queue's members (WithMembers), the longest idle first.
func (r *Router) InboundTo(id, from, queue string) error {
	if id == "" {
		return fmt.Errorf("inbound call: %w", ErrBadID)
	}
	if queue == "" {
		queue = DefaultQueue
	}
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	if _, ok := r.calls[id]; ok {
		return fmt.Errorf("inbound call: %w", ErrCallExists)
	}
	now := r.clock.Now()
	c := &call{id: id, from: from, queue: queue, state: CallStateQueued, since: now, arrived: now, tried: map[string]bool{}}
	r.calls[id] = c
	r.queue = append(r.queue, c)
	r.startWait(c)
	r.log.Info("call queued", "call", id, "queue", queue)
	r.emit(CallQueued{Call: id, From: from, Queue: queue})
	r.dispatch(now)
	return nil
}
