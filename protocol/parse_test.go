package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		code ErrorCode // "" for a good message
		id   string
	}{
		{`{"type":"ping"}`, "", ""},
		{`{"type":"ping","id":"p1","extra":{"a":[1,2]}}`, "", "p1"},
		{`{"type":"presence","status":"available"}`, "", ""},
		{`{"type":"presence","status":"away","id":"x"}`, "", "x"},
		{`{"type":"presence","status":"busy","id":"x"}`, CodeBadRequest, "x"},
		{`{"type":"presence"}`, CodeBadRequest, ""},
		{`{"type":"answer","call":"c1"}`, "", ""},
		{`{"type":"decline","call":"c1"}`, "", ""},
		{`{"type":"hangup","call":"c1"}`, "", ""},
		{`{"type":"hangup"}`, CodeBadRequest, ""},
		{`{"type":"sdp","call":"c1","kind":"offer","sdp":"v=0"}`, "", ""},
		{`{"type":"sdp","call":"c1","kind":"answer","sdp":"v=0"}`, "", ""},
		{`{"type":"sdp","call":"c1","kind":"rollback","sdp":"v=0"}`, CodeBadRequest, ""},
		{`{"type":"sdp","call":"c1","kind":"offer"}`, CodeBadRequest, ""},
		{`{"type":"candidate","call":"c1","candidate":"candidate:1"}`, "", ""},
		{`{"type":"candidate","call":"c1"}`, CodeBadRequest, ""},
		{`{"type":"candidate","call":"c1","candidate":"candidate:1","sdpMid":"0","sdpMLineIndex":0}`, "", ""},
		{`{"type":"candidate","call":"c1","end":true}`, "", ""},
		{`{"type":"candidate","call":"c1","end":true,"candidate":"candidate:1"}`, CodeBadRequest, ""},
		{`{"type":"candidate","end":true}`, CodeBadRequest, ""},
		{`{"type":"listen","call":"c1"}`, "", ""},
		{`{"type":"listen","call":"c1","mode":"listen"}`, "", ""},
		{`{"type":"listen","call":"c1","mode":"whisper"}`, "", ""},
		{`{"type":"listen","call":"c1","mode":"barge"}`, "", ""},
		{`{"type":"listen","call":"c1","mode":"shout","id":"m"}`, CodeBadRequest, "m"},
		{`{"type":"listen","call":"c1","mode":"Whisper"}`, CodeBadRequest, ""},
		{`{"type":"listen","mode":"whisper"}`, CodeBadRequest, ""},
		{`{"type":"call.offered","call":"c1"}`, CodeUnknownType, ""},
		{`{"type":""}`, CodeBadRequest, ""},
		{`{"type":7}`, CodeBadJSON, ""},
		{`{"id":["a"]}`, CodeBadJSON, ""},
		{`null`, CodeBadRequest, ""},
		{`"ping"`, CodeBadJSON, ""},
		{``, CodeBadJSON, ""},
		{`{"type":"ping"} {"type":"ping"}`, CodeBadJSON, ""},
	}
	for _, tc := range cases {
		m, err := Parse([]byte(tc.in))
		var pe *Error
		switch {
		case tc.code == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.code != "" && (!errors.As(err, &pe) || pe.Code != tc.code):
			t.Errorf("%s: got %v, want code %s", tc.in, err, tc.code)
		}
		if m.ID != tc.id {
			t.Errorf("%s: id %q, want %q", tc.in, m.ID, tc.id)
		}
	}
}

// FuzzParse: any input gives either a message of a known type with the
// fields it needs, or an error to send back that does not repeat the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"ping","id":"1"}`, `{"type":"presence","status":"away"}`, `{"type":"answer","call":"c"}`,
		`{"type":"sdp","call":"c","kind":"offer","sdp":"v=0\r\n"}`, `{"type":"candidate","call":"c","candidate":"x"}`,
		`{"type":"hangup","call":"c","agents":[{"user":"x","since":"2026-01-01T00:00:00Z"}]}`, `{`, `[]`, `{"type":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Code == "" || pe.Message == "" {
				t.Fatalf("error %v is not a reply", err)
			}
			const example = `malformed JSON: send one object such as {"type":"ping"}`
			if len(b) >= 6 && strings.Contains(pe.Message, string(b)) && !strings.Contains(example, string(b)) {
				t.Fatalf("the error repeats the input: %q", pe.Message)
			}
			if len(m.ID) > 64 {
				t.Fatalf("an id of %d bytes echoed", len(m.ID))
			}
			return
		}
		payTo := m.Session
		if payTo == "" {
			payTo = m.Call
		}
		hasPay := ""
		if m.Pay != nil {
			hasPay = "pay"
		}
		need := map[Type][]string{
			TypePing: nil, TypePresence: {m.Status}, TypeAnswer: {m.Call}, TypeDecline: {m.Call},
			TypeHangup: {m.Call}, TypeSDP: {m.Call, string(m.Kind), m.SDP}, TypeCandidate: {m.Call, m.Candidate},
			TypeDial: {m.Number}, TypeHold: {m.Call, m.Status}, TypeListen: {m.Call}, TypeUnlisten: {m.Call},
			TypePayStart: {m.Call, hasPay}, TypePayAsk: {m.Session, string(m.Field)}, TypePayReset: {m.Session, string(m.Field)},
			TypePayCancel: {m.Session}, TypePaySubmit: {m.Session}, TypePayStatus: {payTo},
		}
		fields, ok := need[m.Type]
		if !ok {
			t.Fatalf("accepted type %q", m.Type)
		}
		for _, v := range fields {
			if v == "" {
				t.Fatalf("accepted %q without a field it needs", m.Type)
			}
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("cannot encode what was accepted: %v", err)
		}
	})
}

// TestParseKnowsEveryClientType: every type a client sends is parsed (not
// refused as unknown), and the unknown-type error names each of them.
func TestParseKnowsEveryClientType(t *testing.T) {
	_, err := Parse([]byte(`{"type":"nonsense"}`))
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != CodeUnknownType {
		t.Fatalf("got %v, want %s", err, CodeUnknownType)
	}
	named := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.TrimPrefix(pe.Message, "unknown message type: use "), func(r rune) bool { return r == ',' || r == ' ' }) {
		named[w] = true
	}
	delete(named, "or")
	for _, typ := range ClientTypes() {
		if !named[string(typ)] {
			t.Errorf("the unknown-type error does not name %s", typ)
		}
		delete(named, string(typ))
		b, _ := json.Marshal(Message{Type: typ})
		if _, err := Parse(b); errors.As(err, &pe) && pe.Code == CodeUnknownType {
			t.Errorf("%s is refused as unknown", typ)
		}
	}
	for w := range named {
		t.Errorf("the unknown-type error names %q, which is no client type", w)
	}
}
