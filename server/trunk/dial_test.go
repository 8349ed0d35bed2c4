package trunk

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
)

// frameCounter counts the masked frames an outbound call gives out.
type frameCounter struct {
	mu     sync.Mutex
	frames int
}

func (f *frameCounter) out([]byte) {
	f.mu.Lock()
	f.frames++
	f.mu.Unlock()
}

func (f *frameCounter) n() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.frames
}

func noKeys(dtmf.Event) {}

// TestDialSippUAS: Dial calls sipp's built-in uas scenario (180, then 200
// with PCMU), which echoes our RTP (-rtp_echo): the agent's voice we Send
// comes back through the Masker to out; Hangup's BYE ends sipp's call,
// which it counts as a success.
func TestDialSippUAS(t *testing.T) {
	t.Parallel() // a trunk, ports and peer of its own, and no log it reads
	bin := sipptest.Sipp(t)
	sippAddr := sipptest.FreeAddr(t)
	_, sippPort, _ := splitHostPort(t, sippAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sn", "uas", "-i", "127.0.0.1", "-p", sippPort, "-mp", sipptest.FreePort(t),
		"-rtp_echo", "-m", "1", "-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err")
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = 5 * time.Second // a killed sipp's pipes must not hold the test
	var sippOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &sippOut, &sippOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sippDone := make(chan error, 1)
	go func() { sippDone <- cmd.Wait() }()
	_, _, tr := startTrunkCfg(t, Config{Outbound: sippAddr}, func(_ *answered, c *Call) { _ = c.Reject(480, "No") })

	// sipp listens once its SIP port is taken.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		probe, err := net.ListenPacket("udp", sippAddr)
		if err != nil {
			break
		}
		_ = probe.Close()
		if time.Now().After(deadline) {
			t.Fatalf("sipp does not listen on %s\n%s", sippAddr, sippOut.String())
		}
	}
	var heard frameCounter
	dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
	call, err := tr.Dial(dctx, "0123456789", heard.out, noKeys)
	dcancel()
	if err != nil {
		t.Fatalf("Dial: %v\n%s", err, sippOut.String())
	}
	if !call.Outbound || call.Offer.Law != g711.ULaw || call.From != "0123456789" {
		t.Fatalf("call %+v", call)
	}
	voice := bytes.Repeat([]byte{0x17, 0x2f, 0x3c, 0x2f, 0x17, 0x97, 0xaf, 0xbc, 0xaf, 0x97}, 16)
	tick := time.NewTicker(20 * time.Millisecond)
	for range 50 {
		<-tick.C
		if err := call.Send(voice); err != nil {
			t.Fatal(err)
		}
	}
	tick.Stop()
	deadline := time.Now().Add(3 * time.Second)
	for heard.n() < 40 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := heard.n(); n < 40 {
		t.Fatalf("%d masked frames of sipp's echo, want 40 or more (stats %+v)", n, call.Stats())
	}
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	defer hcancel()
	if err := call.Hangup(hctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end after Hangup")
	}
	select {
	case err := <-sippDone:
		if err != nil {
			t.Fatalf("sipp: %v\n%s", err, sippOut.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("sipp did not end\n%s", sippOut.String())
	}
	t.Logf("outbound call: %d masked frames heard; leg %+v", heard.n(), call.Stats())
}

func splitHostPort(t *testing.T, addr string) (string, string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return host, port, p
}

// TestDialAnotherTrunk: one trunk dials another, which demands SHA-256
// digest credentials; the answered call carries audio both ways, and the
// far end's hangup ends ours. A refusal is a *RejectedError with its code;
// wrong credentials end in 401; a call not answered before ctx ends is
// cancelled, and the far end sees it end.
func TestDialAnotherTrunk(t *testing.T) {
	type farCall struct{ c *Call }
	calls := make(chan farCall, 4)
	mode := make(chan string, 4)
	cred := Credential{Realm: "far", User: "near", Password: "pw-0f-near"}
	var farHeard frameCounter
	farAddr, _, _ := startTrunkCfg(t, Config{Auth: []Credential{cred}, AuthAlgorithms: []string{"SHA-256"}}, func(_ *answered, c *Call) {
		switch <-mode {
		case "answer":
			_ = c.Answer(farHeard.out, noKeys)
		case "busy":
			_ = c.Reject(486, "Busy Here")
		case "ring":
			_ = c.Ring()
		}
		calls <- farCall{c}
	})
	_, _, near := startTrunkCfg(t, Config{Outbound: farAddr, OutboundAuth: &cred, OutboundFrom: "+442070000000"}, func(_ *answered, c *Call) { _ = c.Reject(480, "No") })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Answered.
	mode <- "answer"
	var heard frameCounter
	call, err := near.Dial(ctx, "+441234567890", heard.out, noKeys)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	far := (<-calls).c
	if far.From != "+442070000000" {
		t.Errorf("the far end sees the call from %q, want +442070000000", far.From)
	}
	voice := bytes.Repeat([]byte{0x17, 0x2f, 0x3c, 0x2f, 0x17, 0x97, 0xaf, 0xbc, 0xaf, 0x97}, 16)
	for range 25 {
		if err := call.Send(voice); err != nil {
			t.Fatal(err)
		}
		if err := far.Send(voice); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	deadline := time.Now().Add(3 * time.Second)
	for (heard.n() < 20 || farHeard.n() < 20) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if heard.n() < 20 || farHeard.n() < 20 {
		t.Fatalf("frames heard: near %d, far %d; want 20 each", heard.n(), farHeard.n())
	}
	if err := far.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the far end's BYE did not end our call")
	}

	// Refused.
	mode <- "busy"
	_, err = near.Dial(ctx, "100", heard.out, noKeys)
	var rej *RejectedError
	if !errors.Is(err, ErrRejected) || !errors.As(err, &rej) || rej.Code != 486 {
		t.Fatalf("Dial to a busy far end: %v", err)
	}
	<-calls

	// Not answered in time: cancelled.
	mode <- "ring"
	dctx, dcancel := context.WithTimeout(ctx, 700*time.Millisecond)
	_, err = near.Dial(dctx, "101", heard.out, noKeys)
	dcancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial past its deadline: %v", err)
	}
	rung := (<-calls).c
	select {
	case <-rung.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the far end's call did not end after CANCEL")
	}

	// Wrong credentials.
	_, _, liar := startTrunkCfg(t, Config{Outbound: farAddr, OutboundAuth: &Credential{Realm: "far", User: "near", Password: "nope"}}, func(*answered, *Call) {})
	if _, err := liar.Dial(ctx, "102", heard.out, noKeys); !errors.As(err, &rej) || rej.Code != 401 {
		t.Fatalf("Dial with a wrong password: %v", err)
	}
}

func TestDialRefusesBadUse(t *testing.T) {
	_, _, tr := startTrunkCfg(t, Config{}, func(*answered, *Call) {})
	if _, err := tr.Dial(context.Background(), "123", func([]byte) {}, noKeys); !errors.Is(err, ErrNoOutbound) {
		t.Fatalf("Dial without an outbound trunk: %v", err)
	}
	_, _, tr = startTrunkCfg(t, Config{Outbound: "127.0.0.1:9"}, func(*answered, *Call) {})
	for _, n := range []string{"", "12a", "1+2", "123456789012345678901234567890123", "1@evil"} {
		if _, err := tr.Dial(context.Background(), n, func([]byte) {}, noKeys); !errors.Is(err, ErrNumber) {
			t.Errorf("Dial %q: %v", n, err)
		}
	}
	if _, err := New(Config{Outbound: "127.0.0.1:9", OutboundFrom: "me", OnCall: func(*Call) {}}); !errors.Is(err, ErrConfig) {
		t.Errorf("a caller number that is not one: %v", err)
	}
	if _, err := New(Config{Outbound: "nowhere", OnCall: func(*Call) {}}); !errors.Is(err, ErrConfig) {
		t.Errorf("outbound without a port: %v", err)
	}
	notServing, err := New(Config{Outbound: "127.0.0.1:9", OnCall: func(*Call) {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := notServing.Dial(context.Background(), "1", func([]byte) {}, noKeys); !errors.Is(err, ErrNotServing) {
		t.Errorf("Dial before Serve: %v", err)
	}
}

// TestDialSilentFarEnd: a far end that never answers at all does not hold
// Dial past its ctx, nor the trunk's shutdown.
func TestDialSilentFarEnd(t *testing.T) {
	t.Parallel() // a trunk, ports and peer of its own, and no log it reads
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, _, tr := startTrunkCfg(t, Config{Outbound: silent.LocalAddr().String()}, func(*answered, *Call) {})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := tr.Dial(ctx, "1", func([]byte) {}, noKeys); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Dial to a silent far end: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Dial took %v past a 300 ms deadline", d)
	}
	buf := make([]byte, 4096)
	_ = silent.SetReadDeadline(time.Now().Add(time.Second))
	if n, _, err := silent.ReadFrom(buf); err != nil || !bytes.HasPrefix(buf[:n], []byte("INVITE ")) {
		t.Fatalf("the far end got no INVITE: %v %q", err, buf[:n])
	}
}

// TestDialCancelledByShutdown: a Dial still waiting for an answer when the
// trunk shuts down is cancelled, and Serve returns.
func TestDialCancelledByShutdown(t *testing.T) {
	rung := make(chan *Call, 1)
	farAddr, _, _ := startTrunkCfg(t, Config{}, func(_ *answered, c *Call) { _ = c.Ring(); rung <- c })
	near, err := New(Config{SIPAddr: sipptest.FreeAddr(t), Outbound: farAddr, OnCall: func(*Call) {}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := near.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- near.Serve(ctx) }()
	dialed := make(chan error, 1)
	go func() {
		_, err := near.Dial(context.Background(), "1", func([]byte) {}, noKeys)
		dialed <- err
	}()
	far := <-rung
	cancel()
	select {
	case err := <-dialed:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial during shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Dial was not cancelled by the shutdown")
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	select {
	case <-far.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the far end's call did not end after the CANCEL")
	}
}
