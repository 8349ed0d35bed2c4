package pay

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/payment/session"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

var (
	idField   = regexp.MustCompile(`"id":"pay_[0-9a-f]+"`)
	refField  = regexp.MustCompile(`"(reference|token)":"[^"]*"`)
	digitRun7 = regexp.MustCompile(`[0-9]{7,}`)
)

// FuzzManager drives one session with any mix of key presses, the agent's
// requests and the passing of time: the manager never panics, each status
// it sends has a higher seq than the one before, a session ends once and
// is then silent, its audit row agrees with how it ended, and no status
// holds a run of 7 digits (the typed digits are the fuzzer's, so any run
// that long could only come from them).
func FuzzManager(f *testing.F) {
	f.Add([]byte("4242424242424242#0931737S"))
	f.Add([]byte("4242424242424241#*42424242424242424#0931737aS"))
	f.Add([]byte("4000000000000002#0931737SC"))
	f.Add([]byte("42424242\x00T\x01rT4242424242424242#0931737S"))
	f.Add([]byte("4000000000000101#0931737SSC"))
	st, err := store.Open(context.Background(), f.TempDir()) // one audit for every run: opening one is most of a run's time
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = st.Close() })
	f.Fuzz(func(t *testing.T, ops []byte) {
		h := newHarnessOn(t, nil, st)
		h.m.p.GatewayTimeout = 5 * time.Millisecond // the sandbox's unreachable card
		ctx := context.Background()
		st, err := h.m.Start(ctx, "ann", "call-1", Request{Amount: 1250, Currency: "GBP", FieldTimeout: 5, Attempts: 2})
		if err != nil {
			t.Fatal(err)
		}
		fields := []session.Field{session.CardNumber, session.ExpiryDate, session.SecurityCode, "pin"}
		for i, op := range ops {
			switch {
			case op >= '0' && op <= '9' || op == '#' || op == '*' || op == 'A':
				h.m.Key("call-1", dtmf.Event{Digit: op, Phase: dtmf.KeyDown})
			case op == 'S':
				_, _ = h.m.Submit(ctx, "ann", st.ID)
			case op == 'C':
				_, _ = h.m.Cancel(ctx, "ann", st.ID)
			case op == 'a':
				_, _ = h.m.Ask("ann", st.ID, fields[i%len(fields)])
			case op == 'r':
				_, _ = h.m.Reset("ann", st.ID, fields[i%len(fields)])
			case op == 'T':
				h.clock.Add(6 * time.Second)
				h.m.mu.Lock()
				l := h.m.byID[st.ID]
				h.m.mu.Unlock()
				if l != nil {
					h.m.tick(ctx, l, h.clock.Now())
				}
			case op == 'E':
				h.m.RouteEvent(routeEnded("call-1"))
			case op < 8:
				_, _ = h.m.Ask("ann", st.ID, fields[int(op)%len(fields)])
			}
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		var seq uint64
		final := protocol.PaymentState("")
		for _, s := range h.sent {
			if s.Seq <= seq {
				t.Fatalf("seq %d after %d", s.Seq, seq)
			}
			seq = s.Seq
			if final != "" {
				t.Fatalf("a status after the session ended %s: %+v", final, s)
			}
			if s.State.Final() {
				final = s.State
			}
			b, _ := json.Marshal(s)
			b = refField.ReplaceAll(idField.ReplaceAll(b, nil), nil)
			if digitRun7.Match(b) {
				t.Fatalf("a status holds 7 digits in a row: %s", b)
			}
			for _, fp := range s.Fields {
				if fp.Last4 != "" && (fp.Field != protocol.FieldCardNumber || fp.State != protocol.FieldComplete) {
					t.Fatalf("last4 on %+v", fp)
				}
			}
		}
		a, err := h.st.PaymentByID(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case final == "" && a.Outcome != "":
			t.Fatalf("audit %q for a live session", a.Outcome)
		case final != "" && a.Outcome != string(final) && a.Outcome != "failed":
			t.Fatalf("audit %q for a session that ended %s", a.Outcome, final)
		}
	})
}

func routeEnded(call string) route.CallEnded {
	return route.CallEnded{Call: call, Agent: "ann", Reason: "caller_hangup"}
}
