package protocol

import (
	"strings"
	"time"
)

// MaxMessage is the largest message a client may send, in bytes; a larger
// one closes the connection with CloseTooBig.
const MaxMessage = 64 << 10

// MaxServerMessage is the largest message the server sends, in bytes:
// clients must read messages this large (coder/websocket's default limit,
// 32 KiB, is too small). The server keeps under it by sending supervisors'
// snapshots in pages of at most SnapshotPage entries.
const MaxServerMessage = 1 << 20

// SnapshotPage is the most agents or calls one agents or calls message
// holds; a longer snapshot comes in several, all but the last with more.
const SnapshotPage = 100

// MaxID is the longest id a client may give a message: the server echoes
// it, so it must be an id, not a channel.
const MaxID = 64

// Type is a message's type. Some go both ways: presence, sdp, candidate
// and hold.
type Type string

// Messages a client sends.
const (
	TypePresence  Type = "presence"   // agents: available or away (status); the server: an agent's state
	TypeAnswer    Type = "answer"     // agents: take the call ringing for them (call)
	TypeDecline   Type = "decline"    // agents: refuse it (call)
	TypeHangup    Type = "hangup"     // agents: end their call (call)
	TypeSDP       Type = "sdp"        // a WebRTC session description for a call (call, kind, sdp), either way
	TypeCandidate Type = "candidate"  // an ICE candidate for a call (call, candidate), either way
	TypePing      Type = "ping"       // the server replies pong
	TypeDial      Type = "dial"       // agents: place a call through the trunk (number)
	TypeHold      Type = "hold"       // agents: hold (status on) or resume (off) their call; the server's reply
	TypeListen    Type = "listen"     // supervisors: listen in to a call, or change how (call, mode)
	TypeUnlisten  Type = "unlisten"   // supervisors: stop listening (call)
	TypePayStart  Type = "pay.start"  // agents: start a payment session on a call (call, pay)
	TypePayAsk    Type = "pay.ask"    // agents: have the caller type a field again (session, field)
	TypePayReset  Type = "pay.reset"  // agents: clear a field (session, field)
	TypePayCancel Type = "pay.cancel" // agents: end the session, nothing charged (session)
	TypePaySubmit Type = "pay.submit" // agents: send the payment to the gateway (session)
	TypePayStatus Type = "pay.status" // a session's status, as a pay.progress reply (session, or call)
)

// Messages the server sends (and presence, sdp, candidate and hold).
const (
	TypeHello         Type = "hello"          // the first message on every connection (user, role)
	TypePong          Type = "pong"           // the reply to ping (id)
	TypeCallOffered   Type = "call.offered"   // a call rings for the agent (call, from)
	TypeCallWithdrawn Type = "call.withdrawn" // it stopped ringing for the agent (call, reason: a WithdrawReason)
	TypeCallStarted   Type = "call.started"   // the call is the agent's (call, from, rejoined, outbound)
	TypeCallProgress  Type = "call.progress"  // an outbound call rings or is answered (call, status: a ProgressStatus)
	TypeCallEnded     Type = "call.ended"     // the agent's call is over (call, reason: an EndReason)
	TypeKeyPressed    Type = "key.pressed"    // the caller pressed a key; never which (call)
	TypeAgents        Type = "agents"         // every agent, for supervisors, on connecting (agents, more)
	TypeCalls         Type = "calls"          // every call, for supervisors, on connecting (calls, more)
	TypeAgentChanged  Type = "agent.changed"  // one agent's new state, for supervisors (agents: that one)
	TypeCallChanged   Type = "call.changed"   // one call's new state, for supervisors (calls: that one)
	TypeCallRemoved   Type = "call.removed"   // a call is over, for supervisors (call)
	TypeListenStarted Type = "listen.started" // a supervisor may send their offer (call, mode)
	TypeListenEnded   Type = "listen.ended"   // a supervisor no longer hears the call (call, reason: a ListenEndReason)
	TypePayProgress   Type = "pay.progress"   // a payment session's status (call, session, payment)
	TypeSupervisor    Type = "supervisor"     // to the agent: a supervisor whispers, barges or stops (call, user, mode)
	TypeError         Type = "error"          // a message was refused (code, message, id)
)

// clientTypes and serverTypes are the types each side sends, in the order
// docs/protocol.md lists them.
var (
	clientTypes = []Type{
		TypePresence, TypeAnswer, TypeDecline, TypeHangup, TypeSDP, TypeCandidate, TypeDial, TypeHold,
		TypeListen, TypeUnlisten, TypePayStart, TypePayAsk, TypePayReset, TypePayCancel, TypePaySubmit,
		TypePayStatus, TypePing,
	}
	serverTypes = []Type{
		TypeHello, TypePresence, TypeCallOffered, TypeCallWithdrawn, TypeCallStarted, TypeCallProgress,
		TypeCallEnded, TypeKeyPressed, TypeSDP, TypeCandidate, TypeHold, TypeAgents, TypeCalls,
		TypeAgentChanged, TypeCallChanged, TypeCallRemoved, TypeListenStarted, TypeListenEnded, TypeSupervisor, TypePayProgress, TypePong, TypeError,
	}
)

// Pay reports whether t is one of secure pay's: pay.start, pay.status,
// pay.progress and the rest.
func (t Type) Pay() bool { return strings.HasPrefix(string(t), "pay.") }

// ClientTypes are the types a client may send.
func ClientTypes() []Type { return append([]Type(nil), clientTypes...) }

// ServerTypes are the types the server sends.
func ServerTypes() []Type { return append([]Type(nil), serverTypes...) }

// Message is every message, both ways: a type, an optional id the server
// echoes in its replies (pong, error, and the replies to listen, unlisten,
// hold and pay.*), and the fields of that type. Fields a message has
// nothing to say in are left out.
type Message struct {
	Type Type   `json:"type"`
	ID   string `json:"id,omitempty"`
	// User and Role are hello's; User is presence's too.
	User string `json:"user,omitempty"`
	Role Role   `json:"role,omitempty"`
	// Status is presence's (an AgentState; a client sends available or
	// away), hold's (a HoldStatus) or call.progress's (a ProgressStatus).
	Status string `json:"status,omitempty" ts:"AgentState | HoldStatus | ProgressStatus"`
	Call   string `json:"call,omitempty"`
	// From is the caller's number, or the number an agent dialled.
	From     string `json:"from,omitempty"`
	Rejoined bool   `json:"rejoined,omitempty"`
	Outbound bool   `json:"outbound,omitempty"`
	// Number is the number to dial: 1 to 32 of 0-9, * and #, with an
	// optional leading +.
	Number string `json:"number,omitempty"`
	// Reason is call.ended's (an EndReason), call.withdrawn's (a
	// WithdrawReason) or listen.ended's (a ListenEndReason).
	Reason    string  `json:"reason,omitempty" ts:"EndReason | WithdrawReason | ListenEndReason"`
	Kind      SDPKind `json:"kind,omitempty"`
	SDP       string  `json:"sdp,omitempty"`
	Candidate string  `json:"candidate,omitempty"`
	// SDPMid and SDPMLineIndex are a candidate's media section, as WebRTC
	// names them, so a browser can hand the message to addIceCandidate as
	// it is. The server sends both; it takes them from clients and needs
	// neither (a call has one audio section).
	SDPMid        *string `json:"sdpMid,omitempty"`
	SDPMLineIndex *uint16 `json:"sdpMLineIndex,omitempty"`
	// Mode is listen's and listen.started's (how the supervisor takes
	// part: listen, whisper or barge; listen when left out) and
	// supervisor's (whisper or barge; left out when that supervisor is no
	// longer heard).
	Mode ListenMode `json:"mode,omitempty"`
	// End on a candidate message says the sender has no more candidates
	// (end-of-candidates); it carries no candidate.
	End bool `json:"end,omitempty"`
	// Code and Message are an error's: what was wrong, in words for the
	// user, never repeating what the client sent.
	Code    ErrorCode       `json:"code,omitempty"`
	Message string          `json:"message,omitempty"`
	Agents  []AgentSnapshot `json:"agents,omitzero"`
	Calls   []CallSnapshot  `json:"calls,omitzero"`
	// More says more pages of this agents or calls snapshot follow.
	More bool `json:"more,omitempty"`
	// Secure pay: a pay.start's request, the session and field a request
	// is for, and the status in pay.progress.
	Pay     *PayRequest `json:"pay,omitempty"`
	Session string      `json:"session,omitempty"`
	Field   Field       `json:"field,omitempty"`
	Payment *Payment    `json:"payment,omitempty"`
}

// AgentSnapshot is one agent in an agents message.
type AgentSnapshot struct {
	User   string     `json:"user"`
	Status AgentState `json:"status"`
	Since  time.Time  `json:"since"`
	Call   string     `json:"call,omitempty"`
}

// CallSnapshot is one call in a calls message.
type CallSnapshot struct {
	Call     string    `json:"call"`
	From     string    `json:"from,omitempty"`
	State    CallState `json:"state"`
	Outbound bool      `json:"outbound,omitempty"`
	// Queue is an inbound call's queue (the wallboard counts each queue's
	// callers waiting and its longest wait from these).
	Queue   string    `json:"queue,omitempty"`
	Agent   string    `json:"agent,omitempty"`
	Since   time.Time `json:"since"`
	Arrived time.Time `json:"arrived"`
}

// Role is a signed-in user's role (hello's role).
type Role string

// Roles.
const (
	RoleAgent      Role = "agent"      // takes calls
	RoleSupervisor Role = "supervisor" // sees every agent and call, listens in; takes no calls
	RoleAdmin      Role = "admin"      // everything a supervisor can, and user admin
)

// SDPKind is an sdp message's kind.
type SDPKind string

// SDP kinds: the client offers, the server answers.
const (
	KindOffer  SDPKind = "offer"
	KindAnswer SDPKind = "answer"
)
