package node

import (
	"github.com/hushphone/hushphone/server/calls"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/trunk"
)

// topic is one kind of event and who hears it: its subscribers, called in
// the order they subscribed, synchronously, on the publisher's goroutine.
// Subscribing happens only while New builds the node, before anything that
// publishes runs; after that a topic is only read, so publishing needs no
// lock.
type topic[E any] struct {
	subs []subscriber[E]
}

type subscriber[E any] struct {
	name string
	fn   func(E)
}

// subscribe adds fn, named for the tests that check the order, after the
// subscribers so far.
func (t *topic[E]) subscribe(name string, fn func(E)) {
	t.subs = append(t.subs, subscriber[E]{name: name, fn: fn})
}

// publish gives e to every subscriber, in order.
func (t *topic[E]) publish(e E) {
	for _, s := range t.subs {
		s.fn(e)
	}
}

// names are the subscribers, in the order they hear an event.
func (t *topic[E]) names() []string {
	out := make([]string, len(t.subs))
	for i, s := range t.subs {
		out[i] = s.name
	}
	return out
}

// prompt is a tone for one call's caller only (a payment field accepted
// or rejected).
type prompt struct {
	call string
	pcm  []int16
}

// dispatcher is every event that crosses between the node's parts. It is
// built before any of them, so each part is built knowing only the parts
// built before it and the topics it publishes to: the graph has one
// direction, and the topics carry what flows back against it.
//
// Card digits never cross it: the calls hand key presses to the payment
// side directly (calls.Params.Keys), and every event here carries at most
// "a key was pressed".
type dispatcher struct {
	// route is the call queue's events. The calls hear them first, so a
	// call's agent is known before the hub tells the agent the call
	// started (the agent's offer may come at once: "no such call for this
	// agent" otherwise); then the payments (a call that ends ends its
	// payment); then the hub, which tells the users.
	route topic[route.Event]
	// inbound is each new call from the trunk: the calls queue it.
	inbound topic[*trunk.Call]
	// calls is what the calls tell users (SDP, candidates, progress, "a
	// key was pressed", listening over): the hub sends it.
	calls topic[calls.Event]
	// payments is each payment session's status: the hub sends it to the
	// session's agent and the supervisors.
	payments topic[pay.Status]
	// prompts are tones for a caller's ears only: the calls play them.
	prompts topic[prompt]
}
