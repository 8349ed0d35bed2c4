package calls

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/agentleg"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/trunk"
)

// watchTimers has m's timers kept for checkNothingOutlives.
func watchTimers(m *Manager) *[]*time.Timer {
	var mu sync.Mutex
	timers := &[]*time.Timer{}
	m.afterFunc = func(d time.Duration, f func()) *time.Timer {
		tm := time.AfterFunc(d, f)
		mu.Lock()
		*timers = append(*timers, tm)
		mu.Unlock()
		return tm
	}
	return timers
}

// checkNothingOutlives fails t if, once Close has returned, a goroutine
// the package started (or one running its code, as a timer's function
// does) still runs after a moment to finish returning, or a timer it set
// still waits.
func checkNothingOutlives(t *testing.T, timers *[]*time.Timer) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		left := ownGoroutines()
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutine(s) of the package outlived Close:\n\n%s", len(left), strings.Join(left, "\n\n"))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, tm := range *timers {
		if tm.Stop() { // it was still waiting
			t.Error("a timer outlived Close")
		}
	}
}

// ownGoroutines are the stacks of the goroutines that the package's code
// (not its tests) started or is running.
func ownGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var own []string
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		for _, line := range strings.Split(string(g), "\n") {
			// A frame's file: "\t/path/server/calls/calls.go:123 +0x45".
			file, _, _ := strings.Cut(strings.TrimSpace(line), ":")
			if strings.Contains(file, "/server/calls/") && strings.HasSuffix(file, ".go") && !strings.HasSuffix(file, "_test.go") {
				own = append(own, string(g))
				break
			}
		}
	}
	return own
}

// fakeRouter is a queue that takes every call and tells the test.
type fakeRouter struct{ inbound, outbound chan string }

func (r *fakeRouter) InboundTo(id, _, _ string) error         { r.inbound <- id; return nil }
func (r *fakeRouter) Outbound(_, id, _ string) error          { r.outbound <- id; return nil }
func (r *fakeRouter) Hangup(string, protocol.EndReason) error { return nil }

// dialer rings until it is stopped: no far end ever answers.
type dialer struct{}

func (dialer) Dial(ctx context.Context, _ string, _ func([]byte), _ func(dtmf.Event), _ ...trunk.DialOption) (*trunk.Call, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// leakRig is a Manager with a real trunk, store and WebRTC, a fake queue,
// and no agents: the test plays the queue's part.
type leakRig struct {
	mgr     *Manager
	router  *fakeRouter
	timers  *[]*time.Timer
	sipAddr string
	stop    func() // stops the trunk (hanging its calls up), then closes the Manager
}

func newLeakRig(t *testing.T) *leakRig {
	t.Helper()
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	api, err := agentleg.NewAPI(agentleg.Config{Loopback: true, IPFilter: loopback})
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRouter{inbound: make(chan string, 4), outbound: make(chan string, 4)}
	mgr, err := New(Params{Router: r, WebRTC: api, Store: st, DataDir: data, Outbound: dialer{}})
	if err != nil {
		t.Fatal(err)
	}
	rig := &leakRig{mgr: mgr, router: r, timers: watchTimers(mgr), sipAddr: sipptest.FreeAddr(t)}
	// The media wait, shortened: these tests are about who stops the
	// timer, not how long it waits.
	watched := mgr.afterFunc
	mgr.afterFunc = func(d time.Duration, f func()) *time.Timer { return watched(min(d, 300*time.Millisecond), f) }
	tr, err := trunk.New(trunk.Config{SIPAddr: rig.sipAddr, OnCall: mgr.OnCall})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	tctx, stopTrunk := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- tr.Serve(tctx) }()
	var once sync.Once
	rig.stop = func() {
		once.Do(func() {
			stopTrunk()
			if err := <-served; err != nil {
				t.Errorf("trunk: %v", err)
			}
			_ = mgr.Close()
		})
	}
	t.Cleanup(rig.stop)
	return rig
}

// next is the next call the queue was given.
func next(t *testing.T, calls <-chan string) string {
	t.Helper()
	select {
	case id := <-calls:
		return id
	case <-time.After(10 * time.Second):
		t.Fatal("no call came to the queue")
		return ""
	}
}

// waitOver waits until the Manager has no live call.
func (rig *leakRig) waitOver(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rig.mgr.mu.Lock()
		n := len(rig.mgr.calls)
		rig.mgr.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d call(s) still live", n)
		}
	}
}

// waitAnswered waits until the call's SIP side is answered.
func (rig *leakRig) waitAnswered(t *testing.T, id string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		rig.mgr.mu.Lock()
		c := rig.mgr.calls[id]
		rig.mgr.mu.Unlock()
		if c != nil {
			c.mu.Lock()
			answered := c.answered
			c.mu.Unlock()
			if answered {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the call was not answered")
		}
	}
}

// TestCloseOwnsEverything: whatever a call went through, once the trunk
// has stopped and Close has returned, no goroutine of the package runs
// and no timer of it waits (the media wait's included); after Close, the
// Manager starts nothing.
func TestCloseOwnsEverything(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, rig *leakRig)
	}{
		{"the call ends before its media wait", func(t *testing.T, rig *leakRig) {
			refused := refusedCaller(t, rig.sipAddr)
			id := next(t, rig.router.inbound)
			rig.mgr.RouteEvent(route.CallAssigned{Call: id, Agent: "ann"}) // the media wait starts
			// The agent's media never comes; the agent hangs up first.
			rig.mgr.RouteEvent(route.CallEnded{Call: id, Agent: "ann", Reason: protocol.EndAgent})
			select {
			case code := <-refused:
				if code != 480 {
					t.Errorf("the caller got %d, want 480", code)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the call was not refused")
			}
			rig.waitOver(t)
		}},
		{"the media wait answers the call", func(t *testing.T, rig *leakRig) {
			dialed := make(chan *sipptest.Caller, 1)
			go func() { dialed <- sipptest.Dial(t, rig.sipAddr, g711.ULaw, 15*time.Second) }()
			id := next(t, rig.router.inbound)
			rig.mgr.RouteEvent(route.CallAssigned{Call: id, Agent: "ann"})
			caller := <-dialed // answered after mediaWait: no media came
			rig.waitAnswered(t, id)
			if err := rig.mgr.PlayToCaller(id, make([]int16, 50*mix.FrameSamples)); err != nil {
				t.Errorf("prompt: %v", err)
			}
			if err := rig.mgr.Hold(context.Background(), "ann", id, true); err != nil {
				t.Errorf("hold: %v", err)
			}
			caller.Hangup(t)
			rig.waitOver(t)
		}},
		{"the call is held when the trunk stops", func(t *testing.T, rig *leakRig) {
			dialed := make(chan *sipptest.Caller, 1)
			go func() { dialed <- sipptest.Dial(t, rig.sipAddr, g711.ULaw, 15*time.Second) }()
			id := next(t, rig.router.inbound)
			rig.mgr.RouteEvent(route.CallAssigned{Call: id, Agent: "ann"})
			<-dialed
			rig.waitAnswered(t, id)
			rig.mgr.RouteEvent(route.CallHeld{Call: id, Agent: "ann"}) // the hold tone plays
			if err := rig.mgr.PlayToCaller(id, make([]int16, 500*mix.FrameSamples)); err != nil {
				t.Errorf("prompt: %v", err)
			}
			// The trunk stopping hangs the call up (rig.stop, below).
		}},
		{"an outbound call stops ringing", func(t *testing.T, rig *leakRig) {
			if err := rig.mgr.Dial(context.Background(), "ann", "0123456789"); err != nil {
				t.Fatal(err)
			}
			id := next(t, rig.router.outbound)
			rig.mgr.RouteEvent(route.CallAssigned{Call: id, Agent: "ann", Outbound: true})
			rig.mgr.RouteEvent(route.CallEnded{Call: id, Agent: "ann", Reason: protocol.EndAgent})
			rig.waitOver(t)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rig := newLeakRig(t)
			tt.run(t, rig)
			rig.stop()
			checkNothingOutlives(t, rig.timers)
			// Closed: nothing more starts.
			if err := rig.mgr.Dial(context.Background(), "ann", "0123456789"); !errors.Is(err, ErrClosed) {
				t.Errorf("Dial after Close: %v, want ErrClosed", err)
			}
			checkNothingOutlives(t, rig.timers)
		})
	}
}

// refusedCaller calls sipAddr over bare UDP, ACKs the final response to
// its INVITE (a refusal, in the same transaction) and gives its code.
func refusedCaller(t *testing.T, sipAddr string) <-chan int {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", sipAddr)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	local := conn.LocalAddr().String()
	branch := "z9hG4bK-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	callID := "refused-" + branch + "@" + local
	msg := func(method, toTag, body string) []byte {
		return []byte(method + " sip:hushphone@" + sipAddr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + local + ";branch=" + branch + "\r\n" +
			"From: <sip:0123456789@" + local + ">;tag=caller\r\n" +
			"To: <sip:hushphone@" + sipAddr + ">" + toTag + "\r\n" +
			"Call-ID: " + callID + "\r\n" +
			"CSeq: 1 " + method + "\r\n" +
			"Contact: <sip:0123456789@" + local + ">\r\nMax-Forwards: 70\r\n" +
			"Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	port := conn.LocalAddr().(*net.UDPAddr).Port
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + strconv.Itoa(port+1) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	if _, err := conn.Write(msg("INVITE", "", sdp)); err != nil {
		t.Fatal(err)
	}
	codes := make(chan int, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			resp := string(buf[:n])
			code, _ := strconv.Atoi(resp[min(8, len(resp)):min(11, len(resp))])
			if !strings.HasPrefix(resp, "SIP/2.0 ") || code < 200 {
				continue
			}
			toTag := ""
			for _, line := range strings.Split(resp, "\r\n") {
				if strings.HasPrefix(line, "To:") {
					if i := strings.Index(line, ";tag="); i >= 0 {
						toTag = line[i:]
					}
				}
			}
			_, _ = conn.Write(msg("ACK", toTag, ""))
			codes <- code
			return
		}
	}()
	return codes
}
