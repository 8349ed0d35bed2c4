package signal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hushphone/hushphone/server/pay"
)

// MaxMessage is the largest message a client may send, in bytes; a larger
// one closes the connection with status 1009 (message too big).
const MaxMessage = 64 << 10

// Message types. See docs/protocol.md.
const (
	// client to server
	TypePresence  = "presence"
	TypeAnswer    = "answer"
	TypeDecline   = "decline"
	TypeHangup    = "hangup"
	TypeSDP       = "sdp"
	TypeCandidate = "candidate"
	TypePing      = "ping"
	TypeDial      = "dial"     // agents: place a call through the trunk
	TypeHold      = "hold"     // agents: hold (status "on") or resume ("off") their call
	TypeListen    = "listen"   // supervisors: listen in to a call
	TypeUnlisten  = "unlisten" // supervisors: stop listening
	// Secure pay (agents; supervisors may send pay.status).
	TypePayStart  = "pay.start"  // start a capture session on a call: call, pay
	TypePayAsk    = "pay.ask"    // have the caller type a field again: session, field
	TypePayReset  = "pay.reset"  // clear a field: session, field
	TypePayCancel = "pay.cancel" // end the session: session
	TypePaySubmit = "pay.submit" // send the card to the gateway: session
	TypePayStatus = "pay.status" // the session's status: session, or call

	// server to client (TypePresence, TypeSDP and TypeCandidate too)
	TypeHello      = "hello"
	TypePong       = "pong"
	TypeOffered    = "call.offered"
	TypeWithdrawn  = "call.withdrawn"
	TypeStarted    = "call.started"
	TypeEnded      = "call.ended"
	TypeKeyPressed = "key.pressed"
	TypeProgress   = "call.progress" // an outbound call rings or is answered
	TypeListening  = "listen.started"
	TypeListenEnd  = "listen.ended"
	TypeAgents     = "agents"
	TypeCalls      = "calls"
	TypePayment    = "pay.progress" // a payment session's status (payment)
	TypeError      = "error"
)

// SDP kinds.
const (
	KindOffer  = "offer"
	KindAnswer = "answer"
)

// Error codes in error messages.
const (
	CodeBadJSON       = "bad_json"       // not a JSON object, or a field of the wrong type
	CodeBadMessage    = "bad_message"    // a binary message
	CodeUnknownType   = "unknown_type"   // no such message type
	CodeBadRequest    = "bad_request"    // a field missing or out of range
	CodeForbidden     = "forbidden"      // not for this role
	CodeNotOffered    = "not_offered"    // answer or decline of a call not ringing here
	CodeNotYourCall   = "not_your_call"  // hangup, sdp or candidate for a call that is not this agent's
	CodeNoCall        = "no_call"        // no such call
	CodeMedia         = "media"          // the media side refused the SDP or candidate
	CodeUnavailable   = "unavailable"    // the server is shutting down, or has no media
	CodeInternal      = "internal"       // the server failed; try again
	CodeNotRegistered = "not_registered" // the agent is not in the queue (reconnect)
	CodeNotActive     = "not_active"     // listen to a call no agent has answered yet
	CodeBusy          = "busy"           // dial while a call rings or is in progress
	CodeLimit         = "limit"          // too many supervisors listen to that call
	CodeNotListening  = "not_listening"  // unlisten of a call not listened to
	CodeNoPayment     = "no_payment"     // no such payment session (it may have ended)
	CodePayActive     = "payment_active" // pay.start on a call that has a session under way
	CodeNotReady      = "not_ready"      // pay.submit before every field is valid
	CodePayOver       = "payment_over"   // a request for a session that has ended
	CodeSubmitting    = "submitting"     // a request while the gateway has the payment
)

// Message is every message, both ways: a type, an optional id the server
// echoes in its replies (pong, error), and the fields of that type.
type Message struct {
	Type      string          `json:"type"`
	ID        string          `json:"id,omitempty"`
	User      string          `json:"user,omitempty"`
	Role      string          `json:"role,omitempty"`
	Status    string          `json:"status,omitempty"`
	Call      string          `json:"call,omitempty"`
	From      string          `json:"from,omitempty"`
	Rejoined  bool            `json:"rejoined,omitempty"`
	Outbound  bool            `json:"outbound,omitempty"`
	Number    string          `json:"number,omitempty"`
	Reason    string          `json:"reason,omitempty"`
	Kind      string          `json:"kind,omitempty"`
	SDP       string          `json:"sdp,omitempty"`
	Candidate string          `json:"candidate,omitempty"`
	Code      string          `json:"code,omitempty"`
	Message   string          `json:"message,omitempty"`
	Agents    []AgentSnapshot `json:"agents,omitzero"`
	Calls     []CallSnapshot  `json:"calls,omitzero"`
	// Secure pay: a pay.start's request, the session and field a request
	// is for, and the status in pay.progress.
	Pay     *pay.Request `json:"pay,omitempty"`
	Session string       `json:"session,omitempty"`
	Field   string       `json:"field,omitempty"`
	Payment *pay.Status  `json:"payment,omitempty"`
}

// AgentSnapshot is one agent in an agents message.
type AgentSnapshot struct {
	User   string    `json:"user"`
	Status string    `json:"status"` // available, away, ringing, busy, offline
	Since  time.Time `json:"since"`
	Call   string    `json:"call,omitempty"`
}

// CallSnapshot is one call in a calls message.
type CallSnapshot struct {
	Call     string    `json:"call"`
	From     string    `json:"from,omitempty"`
	State    string    `json:"state"` // queued, ringing, active, held
	Outbound bool      `json:"outbound,omitempty"`
	Agent    string    `json:"agent,omitempty"`
	Since    time.Time `json:"since"`
	Arrived  time.Time `json:"arrived"`
}

// protoError is an error reply: a code and a message for the client.
type protoError struct {
	Code, Message string
}

func (e *protoError) Error() string { return e.Code + ": " + e.Message }

func perr(code, msg string) *protoError { return &protoError{Code: code, Message: msg} }

// Parse reads one client message and checks it has the fields its type
// needs. The error, if any, is what to tell the client; its text never
// repeats what the client sent.
func Parse(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return Message{}, perr(CodeBadJSON, fmt.Sprintf("%q must be a %s", typ.Field, typ.Type))
		}
		return Message{}, perr(CodeBadJSON, `malformed JSON: send one object such as {"type":"ping"}`)
	}
	// The id is echoed in the reply, so it must be an id, not a channel.
	if len(m.ID) > 64 {
		return Message{}, perr(CodeBadRequest, `"id" is at most 64 characters`)
	}
	need := func(fields ...string) error {
		for _, f := range fields {
			var v string
			switch f {
			case "call":
				v = m.Call
			case "status":
				v = m.Status
			case "sdp":
				v = m.SDP
			case "kind":
				v = m.Kind
			case "candidate":
				v = m.Candidate
			case "number":
				v = m.Number
			case "session":
				v = m.Session
			case "field":
				v = m.Field
			}
			if v == "" {
				return perr(CodeBadRequest, fmt.Sprintf("a %q message needs %q", m.Type, f))
			}
		}
		return nil
	}
	var err error
	switch m.Type {
	case TypePing:
	case TypePresence:
		if err = need("status"); err == nil && m.Status != "available" && m.Status != "away" {
			err = perr(CodeBadRequest, `"status" must be "available" or "away"`)
		}
	case TypeAnswer, TypeDecline, TypeHangup, TypeListen, TypeUnlisten:
		err = need("call")
	case TypeHold:
		if err = need("call", "status"); err == nil && m.Status != "on" && m.Status != "off" {
			err = perr(CodeBadRequest, `"status" must be "on" or "off"`)
		}
	case TypeSDP:
		if err = need("call", "kind", "sdp"); err == nil && m.Kind != KindOffer && m.Kind != KindAnswer {
			err = perr(CodeBadRequest, `"kind" must be "offer" or "answer"`)
		}
	case TypeCandidate:
		err = need("call", "candidate")
	case TypeDial:
		if err = need("number"); err == nil && !validNumber(m.Number) {
			err = perr(CodeBadRequest, `"number" is 1 to 32 of the digits 0-9, * and #, with an optional leading +`)
		}
	case TypePayStart:
		if err = need("call"); err == nil && m.Pay == nil {
			err = perr(CodeBadRequest, `a "pay.start" message needs "pay": {"amount","currency",...}`)
		}
	case TypePayAsk, TypePayReset:
		err = need("session", "field")
	case TypePayCancel, TypePaySubmit:
		err = need("session")
	case TypePayStatus:
		if m.Session == "" && m.Call == "" {
			err = perr(CodeBadRequest, `a "pay.status" message needs "session" or "call"`)
		}
	case "":
		err = perr(CodeBadRequest, `every message needs a "type"`)
	default:
		err = perr(CodeUnknownType, "unknown message type: use presence, answer, decline, hangup, hold, sdp, candidate, dial, listen, unlisten, pay.start, pay.ask, pay.reset, pay.cancel, pay.submit, pay.status or ping")
	}
	if err != nil {
		return Message{ID: m.ID}, err
	}
	return m, nil
}

// validNumber reports whether s is a number to dial: 1 to 32 keypad
// characters, optionally after a +.
func validNumber(s string) bool {
	d := strings.TrimPrefix(s, "+")
	if d == "" || len(d) > 32 {
		return false
	}
	for i := range len(d) {
		c := d[i]
		if (c < '0' || c > '9') && c != '*' && c != '#' {
			return false
		}
	}
	return true
}
