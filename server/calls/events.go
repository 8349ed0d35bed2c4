package calls

import "github.com/hushphone/hushphone/protocol"

// Event is something the calls have to tell a user: the server's side of
// a WebRTC exchange, an outbound call's progress, a key pressed (never
// which), the end of a supervisor's listening. Params.Notify delivers it
// (the node hands it to the signalling hub); it must not block.
type Event interface{ callEvent() }

// Description is the server's session description for a user's leg of a
// call (its answer to the user's offer).
type Description struct {
	User, Call string
	Kind       protocol.SDPKind // an answer
	SDP        string
}

// Candidate is one of the server's ICE candidates for a user's leg, with
// its media section; Candidate empty: the server has no more
// (end-of-candidates).
type Candidate struct {
	User, Call    string
	Candidate     string
	SDPMid        *string
	SDPMLineIndex *uint16
}

// Progress says how a call an agent placed is going: "ringing" (the far
// end rings) or "answered".
type Progress struct {
	Agent, Call string
	Status      protocol.ProgressStatus
}

// KeyPressed says the caller pressed a key on the call: for its agent (if
// any) and the supervisors. Which key is never said: there is no field for
// it.
type KeyPressed struct {
	Call, Agent string
}

// ListenEnded tells a supervisor their listening to a call is over.
type ListenEnded struct {
	User, Call string
	Reason     protocol.ListenEndReason
}

// SupervisorMode tells a call's agent that a supervisor started
// whispering or barging (Mode), or stopped being heard (Mode empty).
type SupervisorMode struct {
	Agent, Call, User string
	Mode              protocol.ListenMode
}

func (Description) callEvent()    {}
func (Candidate) callEvent()      {}
func (Progress) callEvent()       {}
func (KeyPressed) callEvent()     {}
func (ListenEnded) callEvent()    {}
func (SupervisorMode) callEvent() {}
