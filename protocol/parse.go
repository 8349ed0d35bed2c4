package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Parse reads one client message and checks it has the fields its type
// needs. The error, if any, is an *Error to send back; its text never
// repeats what the client sent. The message returned with an error keeps
// only its id, for the reply.
func Parse(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return Message{}, NewError(CodeBadJSON, fmt.Sprintf("%q must be a %s", typ.Field, typ.Type))
		}
		return Message{}, NewError(CodeBadJSON, `malformed JSON: send one object such as {"type":"ping"}`)
	}
	if len(m.ID) > MaxID {
		return Message{}, NewError(CodeBadRequest, fmt.Sprintf(`"id" is at most %d characters`, MaxID))
	}
	if err := check(&m); err != nil {
		return Message{ID: m.ID}, err
	}
	return m, nil
}

// check says what a client message lacks.
func check(m *Message) error {
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
				v = string(m.Kind)
			case "candidate":
				v = m.Candidate
			case "number":
				v = m.Number
			case "session":
				v = m.Session
			case "field":
				v = string(m.Field)
			}
			if v == "" {
				return NewError(CodeBadRequest, fmt.Sprintf("a %q message needs %q", m.Type, f))
			}
		}
		return nil
	}
	var err error
	switch m.Type {
	case TypePing:
	case TypePresence:
		if err = need("status"); err == nil && m.Status != string(AgentAvailable) && m.Status != string(AgentAway) {
			err = NewError(CodeBadRequest, `"status" must be "available" or "away"`)
		}
	case TypeAnswer, TypeDecline, TypeHangup, TypeUnlisten:
		err = need("call")
	case TypeListen:
		if err = need("call"); err == nil && m.Mode != "" && m.Mode != ModeListen && !m.Mode.Heard() {
			err = NewError(CodeBadRequest, `"mode" must be "listen", "whisper" or "barge"`)
		}
	case TypeHold:
		if err = need("call", "status"); err == nil && m.Status != string(HoldOn) && m.Status != string(HoldOff) {
			err = NewError(CodeBadRequest, `"status" must be "on" or "off"`)
		}
	case TypeSDP:
		if err = need("call", "kind", "sdp"); err == nil && m.Kind != KindOffer && m.Kind != KindAnswer {
			err = NewError(CodeBadRequest, `"kind" must be "offer" or "answer"`)
		}
	case TypeCandidate:
		if m.End {
			err = need("call")
			if err == nil && m.Candidate != "" {
				err = NewError(CodeBadRequest, `a candidate message with "end" carries no "candidate"`)
			}
		} else {
			err = need("call", "candidate")
		}
	case TypeDial:
		if err = need("number"); err == nil && !ValidNumber(m.Number) {
			err = NewError(CodeBadRequest, `"number" is 1 to 32 of the digits 0-9, * and #, with an optional leading +`)
		}
	case TypePayStart:
		if err = need("call"); err == nil && m.Pay == nil {
			err = NewError(CodeBadRequest, `a "pay.start" message needs "pay": {"amount","currency",...}`)
		}
	case TypePayAsk, TypePayReset:
		err = need("session", "field")
	case TypePayCancel, TypePaySubmit:
		err = need("session")
	case TypePayStatus:
		if m.Session == "" && m.Call == "" {
			err = NewError(CodeBadRequest, `a "pay.status" message needs "session" or "call"`)
		}
	case "":
		err = NewError(CodeBadRequest, `every message needs a "type"`)
	default:
		err = NewError(CodeUnknownType, "unknown message type: use presence, answer, decline, hangup, hold, sdp, candidate, dial, listen, unlisten, pay.start, pay.ask, pay.reset, pay.cancel, pay.submit, pay.status or ping")
	}
	return err
}

// ValidNumber reports whether s is a number to dial: 1 to 32 keypad
// characters, optionally after a +.
func ValidNumber(s string) bool {
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
