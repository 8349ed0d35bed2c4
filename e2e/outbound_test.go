package e2e

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/trunk"
)

// farEnd is the other side of an outbound call: another SIP trunk on
// loopback that rings for 300 ms, then answers and echoes what it hears,
// or says busy.
type farEnd struct {
	busy  atomic.Bool
	calls atomic.Int32
	ended chan struct{} // one per answered call, when it ends
}

func startFarEnd(t *testing.T) (*farEnd, string) {
	t.Helper()
	f := &farEnd{ended: make(chan struct{}, 4)}
	addr := sipptest.FreeAddr(t)
	tr, err := trunk.New(trunk.Config{SIPAddr: addr, RTPAddr: netip.MustParseAddr("127.0.0.1"), OnCall: func(c *trunk.Call) {
		f.calls.Add(1)
		if f.busy.Load() {
			_ = c.Reject(486, "Busy Here")
			return
		}
		_ = c.Ring()
		time.Sleep(300 * time.Millisecond)
		echo := make(chan []byte, 50)
		if err := c.Answer(func(frame []byte) {
			select {
			case echo <- append([]byte(nil), frame...):
			default:
			}
		}, func(dtmf.Event) {}); err != nil {
			t.Errorf("far end: %v", err)
			return
		}
		go func() {
			for {
				select {
				case fr := <-echo:
					_ = c.Send(fr)
				case <-c.Done():
					f.ended <- struct{}{}
					return
				}
			}
		}()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := tr.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tr.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f, addr
}

// TestAgentPlacesACall: an agent dials a number; the call goes out through
// the server's outbound trunk to another SIP trunk that answers and echoes.
// The agent gets call.started (outbound), call.progress ringing and
// answered, hears
// its own voice back through the far end (masked, as all far-end audio is),
// hangs up, and the call is recorded with both sides. A second call finds
// the far end busy: call.ended says so, and the agent is free again.
func TestAgentPlacesACall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	far, farAddr := startFarEnd(t)
	srv := stacktest.Start(t, stacktest.WithOutbound(farAddr))
	srv.AddAgent(t, "ann", "ann-password")

	events := make(chan engine.Event, 64)
	annEars := &ears{}
	ann, err := engine.New(engine.Config{Server: srv.URL, User: "ann", Password: "ann-password", Audio: annEars, Loopback: true,
		OnEvent: func(e engine.Event) {
			switch e.Type {
			case "presence", "key.pressed", "sdp", "candidate", "hello":
				return
			}
			events <- e
		}})
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- ann.Run(actx) }()
	defer func() {
		stop()
		if err := <-runDone; err != nil {
			t.Error(err)
		}
	}()
	srv.WaitAvailable(t, 1)
	next := func(typ protocol.Type) engine.Event {
		t.Helper()
		for {
			select {
			case e := <-events:
				if e.Type != typ {
					t.Fatalf("got %+v, want %s", e, typ)
				}
				return e
			case <-ctx.Done():
				t.Fatalf("no %s", typ)
			}
		}
	}

	if err := ann.Dial(ctx, "+441632960123"); err != nil {
		t.Fatal(err)
	}
	started := next("call.started")
	if !started.Outbound || started.From != "+441632960123" || !strings.HasPrefix(started.Call, "out-") {
		t.Fatalf("call.started %+v", started)
	}
	for _, want := range []string{"ringing", "answered"} {
		if p := next("call.progress"); p.Status != want || p.Call != started.Call {
			t.Fatalf("call.progress %+v, want %s", p, want)
		}
	}
	from := annEars.len()
	time.Sleep(3 * time.Second)
	heard := annEars.since(from)
	st := measureTone(heard, agentHz)
	if st.Seconds < 2 || st.Level < dbfs(agentAmp)-2 {
		t.Errorf("ann's own voice back through the far end: %+v", st)
	}
	if err := ann.Hangup(ctx, started.Call); err != nil {
		t.Fatal(err)
	}
	if e := next("call.ended"); e.Reason != "agent" {
		t.Fatalf("call.ended %+v", e)
	}
	select {
	case <-far.ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the far end's call did not end after the agent hung up")
	}
	var rec []int16
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		recs, err := srv.Store.ListRecordings(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].Duration > 0 {
			if recs[0].Agent != "ann" || recs[0].CallID != started.Call || recs[0].Duration < 2*time.Second {
				t.Fatalf("recording %+v", recs[0])
			}
			a, err := wav.ReadFile(filepath.Join(srv.DataDir, recs[0].Path))
			if err != nil {
				t.Fatal(err)
			}
			rec = a.Samples
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rec == nil {
		t.Fatal("the outbound call was not recorded")
	}
	for ch, who := range []string{"far end (the echo)", "agent"} {
		if st := measureTone(channel(rec, 2, ch), agentHz); st.Seconds < 2 {
			t.Errorf("recording, %s: %+v", who, st)
		}
	}

	// The far end is busy now.
	far.busy.Store(true)
	srv.WaitAvailable(t, 1)
	if err := ann.Dial(ctx, "+441632960124"); err != nil {
		t.Fatal(err)
	}
	busy := next("call.started")
	if e := next("call.ended"); e.Reason != "busy" || e.Call != busy.Call {
		t.Fatalf("call.ended %+v, want busy", e)
	}
	srv.WaitAvailable(t, 1)
	if n := far.calls.Load(); n != 2 {
		t.Errorf("the far end saw %d calls", n)
	}
	t.Logf("outbound: ann heard her echo %.1f s at %.1f dBFS", st.Seconds, st.Level)
}

// TestDialWithoutOutboundTrunk: with no outbound trunk configured, a dial
// is refused with a clear error and the agent stays free.
func TestDialWithoutOutboundTrunk(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	errs := make(chan engine.Event, 4)
	ann, err := engine.New(engine.Config{Server: srv.URL, User: "ann", Password: "ann-password", Loopback: true,
		OnEvent: func(e engine.Event) {
			if e.Type == "error" || e.Type == "call.started" {
				errs <- e
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- ann.Run(actx) }()
	defer func() { stop(); <-runDone }()
	srv.WaitAvailable(t, 1)
	if err := ann.Dial(ctx, "123"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-errs:
		if e.Type != "error" || e.Code != "unavailable" || !strings.Contains(e.Message, "outbound trunk") {
			t.Fatalf("got %+v, want an unavailable error", e)
		}
	case <-ctx.Done():
		t.Fatal("no answer to dial")
	}
	srv.WaitAvailable(t, 1)
}
