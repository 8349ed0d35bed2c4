package engine

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/protocol"
)

// TestCallerHangingUpEndsTheCallCallerGone: a caller hangs up mid-call,
// and the agent is told call.ended with the reason caller_gone, the
// protocol's word for it (docs/protocol.md), on the wire and as an event.
func TestCallerHangingUpEndsTheCallCallerGone(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var mu sync.Mutex
	var ended []Event
	var wire []protocol.Message
	started := make(chan string, 1)
	stop := runAgent(ctx, t, Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true, Loopback: true,
		OnEvent: func(e Event) {
			switch e.Type {
			case protocol.TypeCallStarted:
				select {
				case started <- e.Call:
				default:
				}
			case protocol.TypeCallEnded:
				mu.Lock()
				ended = append(ended, e)
				mu.Unlock()
			}
		},
		OnMessage: func(b []byte) {
			var m protocol.Message
			if err := json.Unmarshal(b, &m); err == nil && m.Type == protocol.TypeCallEnded {
				mu.Lock()
				wire = append(wire, m)
				mu.Unlock()
			}
		}})
	defer stop()
	srv.WaitAvailable(t, 1)

	caller := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)
	var call string
	select {
	case call = <-started:
	case <-ctx.Done():
		t.Fatal("the call never started at the agent")
	}
	caller.Listen(500 * time.Millisecond) // a moment of talking
	caller.Hangup(t)

	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(ended)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ended) != 1 || ended[0].Call != call || ended[0].Reason != string(protocol.EndCallerGone) {
		t.Fatalf("call.ended events %+v, want one for %s with reason %s", ended, call, protocol.EndCallerGone)
	}
	if len(wire) != 1 || wire[0].Reason != "caller_gone" {
		t.Fatalf("call.ended messages %+v, want the reason caller_gone", wire)
	}
}
