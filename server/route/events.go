package route

import (
	"time"

	"github.com/hushphone/hushphone/protocol"
)

// Event is something that happened, for the signalling hub to send.
type Event interface{ event() }

// OfferCall: the call is ringing at the agent.
type OfferCall struct {
	Agent, Call string
	From        string // the caller's number
}

// WithdrawOffer: the call stopped ringing at the agent (Reason says why).
type WithdrawOffer struct {
	Agent, Call string
	Reason      protocol.WithdrawReason
}

// CallAssigned: the agent answered the call, or rejoined it (Rejoined),
// or placed it (Outbound: From is then the number dialled).
type CallAssigned struct {
	Agent, Call string
	From        string
	Rejoined    bool
	Outbound    bool
}

// CallQueued: a new inbound call is waiting in Queue.
type CallQueued struct {
	Call, From string
	Queue      string
}

// CallHeld: the agent on the call disconnected; the call waits for them to
// rejoin (until Until), then goes back to the queue.
type CallHeld struct {
	Agent, Call string
	Until       time.Time
}

// CallRequeued: a held call went back to the front of the queue because its
// agent did not rejoin in time.
type CallRequeued struct {
	Call, Agent string
	Reason      protocol.EndReason // why it left its agent: agent_gone
}

// CallEnded: the call left the Router (Agent is empty if no agent had it).
type CallEnded struct {
	Call, Agent string
	Reason      protocol.EndReason
}

// AgentState: an agent's state changed. StateOffline with no held call
// means the agent is gone from the Router.
type AgentState struct {
	Agent, Name string
	State       State
	Since       time.Time
}

func (OfferCall) event()     {}
func (WithdrawOffer) event() {}
func (CallAssigned) event()  {}
func (CallQueued) event()    {}
func (CallHeld) event()      {}
func (CallRequeued) event()  {}
func (CallEnded) event()     {}
func (AgentState) event()    {}
