package trunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
)

func fmtSscanf(s string, code *int) (int, error) { return fmt.Sscanf(s, "SIP/2.0 %d", code) }

func freePort(t *testing.T) int {
	t.Helper()
	// Free for both UDP and TCP.
	for range 20 {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		_ = u.Close()
		if err == nil {
			_ = l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// answered is what an auto-answering OnCall saw of a call.
type answered struct {
	mu     sync.Mutex
	frames int
	keys   []dtmf.Event
	calls  []*Call
}

func startTrunk(t *testing.T, h func(*answered, *Call)) (string, *answered) {
	t.Helper()
	return startTrunkWith(t, nil, h)
}

func startTrunkWith(t *testing.T, m Metrics, h func(*answered, *Call)) (string, *answered) {
	t.Helper()
	addr, got, _ := startTrunkCfg(t, Config{Metrics: m}, h)
	return addr, got
}

// startTrunkCfg serves a trunk configured as cfg (its SIPAddr and OnCall
// set here) until the test ends.
func startTrunkCfg(t *testing.T, cfg Config, h func(*answered, *Call)) (string, *answered, *Trunk) {
	t.Helper()
	got := &answered{}
	cfg.OnCall = func(c *Call) {
		got.mu.Lock()
		got.calls = append(got.calls, c)
		got.mu.Unlock()
		h(got, c)
	}
	var (
		addr   string
		tr     *Trunk
		ctx    context.Context
		cancel context.CancelFunc
	)
	// The free port may be taken (by another test's media) before the
	// trunk binds it: then another.
	for try := 0; ; try++ {
		addr = "127.0.0.1:" + strconv.Itoa(freePort(t))
		cfg.SIPAddr = addr
		var err error
		if tr, err = New(cfg); err != nil {
			t.Fatal(err)
		}
		ctx, cancel = context.WithCancel(context.Background())
		err = tr.Listen(ctx)
		if err == nil {
			break
		}
		cancel()
		if try == 4 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- tr.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the trunk did not stop")
		}
	})
	return addr, got, tr
}

func autoAnswer(got *answered, c *Call) {
	_ = c.Ring()
	_ = c.Answer(func([]byte) {
		got.mu.Lock()
		got.frames++
		got.mu.Unlock()
	}, func(e dtmf.Event) {
		got.mu.Lock()
		got.keys = append(got.keys, e)
		got.mu.Unlock()
	})
}

// TestSippCallWithRFC4733Key: sipp calls with G.711 A-law audio and then
// the key 1 as RFC 4733 events (its built-in uac_pcap scenario), and hangs
// up. The trunk answers, masks, and reports the key once; the call ends.
func TestSippCallWithRFC4733Key(t *testing.T) {
	t.Parallel() // a trunk, ports and peer of its own, and no log it reads
	bin := sipptest.Sipp(t)
	addr, got := startTrunk(t, autoAnswer)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "pcap"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"g711a.pcap", "dtmf_2833_1.pcap"} {
		b, err := os.ReadFile(filepath.Join("/usr/share/sip-tester", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "pcap", f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sn", "uac_pcap", "-s", "1000", "-m", "1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freePort(t)), "-mp", strconv.Itoa(freePort(t)), "-timeout", "40s", "-timeout_error", "-nostdin", "-trace_err", addr)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second // a killed sipp's pipes must not hold the test
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, out.String())
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.calls) != 1 {
		t.Fatalf("%d calls offered, want 1", len(got.calls))
	}
	c := got.calls[0]
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end after sipp's BYE")
	}
	var downs []byte
	for _, k := range got.keys {
		if k.Phase == dtmf.KeyDown {
			downs = append(downs, k.Digit)
			if k.Source != dtmf.SourceRFC4733 {
				t.Errorf("key from %v, want RFC 4733", k.Source)
			}
		}
	}
	if string(downs) != "1" {
		t.Fatalf("keys %q, want one 1", downs)
	}
	s := c.Stats()
	if s.Events == 0 || s.Received < 200 || got.frames < 300 || s.Malformed != 0 || s.Ignored != 0 {
		t.Fatalf("stats %+v, %d frames: want the pcap's audio and events", s, got.frames)
	}
	t.Logf("caller leg: %+v; %d masked frames", s, got.frames)
}

// request sends one SIP request over UDP from a fresh socket and returns
// the status code of the first final response.
func request(t *testing.T, addr, method, extra, body string) int {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	msg := method + " sip:hushphone@" + addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "\r\n" +
		"From: <sip:caller@" + local + ">;tag=t1\r\n" +
		"To: <sip:hushphone@" + addr + ">\r\n" +
		"Call-ID: " + strconv.FormatInt(time.Now().UnixNano(), 36) + "@test\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Contact: <sip:caller@" + local + ">\r\n" +
		"Max-Forwards: 70\r\n" + extra +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("%s: no final response: %v", method, err)
		}
		var code int
		if _, err := fmtSscanf(string(buf[:n]), &code); err != nil {
			t.Fatalf("%s: not a response: %q", method, buf[:n])
		}
		if os.Getenv("SIPDEBUG") != "" {
			t.Logf("%s", buf[:n])
		}
		if code >= 200 {
			return code
		}
	}
}

func TestBadRequests(t *testing.T) {
	addr, got := startTrunk(t, autoAnswer)
	sdpType := "Content-Type: application/sdp\r\n"
	if code := request(t, addr, "OPTIONS", "", ""); code != 200 {
		t.Fatalf("OPTIONS: %d", code)
	}
	// Junk on the SIP port changes nothing.
	if c, err := net.Dial("udp", addr); err == nil {
		_, _ = c.Write([]byte("\x00\x01 not SIP at all \r\n\r\n"))
		_, _ = c.Write([]byte("INVITE sip:x SIP/2.0\r\nVia: broken\r\n\r\n"))
		_ = c.Close()
	}
	opus := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2\r\n"
	if code := request(t, addr, "INVITE", sdpType, opus); code != 488 {
		t.Fatalf("INVITE with only Opus: %d, want 488", code)
	}
	if code := request(t, addr, "INVITE", sdpType, "this is not SDP"); code != 400 {
		t.Fatalf("INVITE with junk SDP: %d, want 400", code)
	}
	if code := request(t, addr, "BYE", "", ""); code != 481 {
		t.Fatalf("BYE for no call: %d, want 481", code)
	}
	if code := request(t, addr, "OPTIONS", "", ""); code != 200 {
		t.Fatalf("OPTIONS after the junk: %d", code)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.calls) != 0 {
		t.Fatalf("%d calls offered from bad INVITEs", len(got.calls))
	}
}

func TestSourceNotAllowed(t *testing.T) {
	got := &answered{}
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	tr, err := New(Config{SIPAddr: addr, Allow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, OnCall: func(c *Call) { autoAnswer(got, c) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := tr.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tr.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"
	if code := request(t, addr, "INVITE", "Content-Type: application/sdp\r\n", offer); code != 403 {
		t.Fatalf("INVITE from a stranger: %d, want 403", code)
	}
}

func TestParseInfo(t *testing.T) {
	for _, c := range []struct {
		ctype, body string
		digit       byte
		d           time.Duration
		ok          bool
	}{
		{"application/dtmf-relay", "Signal=5\r\nDuration=250\r\n", '5', 250 * time.Millisecond, true},
		{"application/dtmf-relay", "Signal= #\nDuration=100", '#', 100 * time.Millisecond, true},
		{"application/dtmf", "a", 'A', 160 * time.Millisecond, true},
		{"application/dtmf-relay", "Signal=55\r\n", 0, 0, false},
		{"application/dtmf-relay", "Duration=100", 0, 0, false},
		{"application/dtmf", "x", 0, 0, false},
		{"text/plain", "5", 0, 0, false},
	} {
		req := sip.NewRequest(sip.INFO, sip.Uri{Host: "x"})
		req.AppendHeader(sip.NewHeader("Content-Type", c.ctype))
		req.SetBody([]byte(c.body))
		digit, d, err := parseInfo(req)
		if (err == nil) != c.ok || digit != c.digit || d != c.d {
			t.Errorf("%s %q: %q %v %v", c.ctype, c.body, digit, d, err)
		}
	}
}

// TestCancelBeforeAnswer: a caller that gives up while ringing gets 487,
// and the call ends on the server.
func TestCancelBeforeAnswer(t *testing.T) {
	addr, got := startTrunk(t, func(_ *answered, c *Call) { _ = c.Ring() })
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	local := conn.LocalAddr().String()
	branch := "z9hG4bK-cancel-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	common := func(method string) string {
		return method + " sip:hushphone@" + addr + " SIP/2.0\r\n" +
			"Via: SIP/2.0/UDP " + local + ";branch=" + branch + "\r\n" +
			"From: <sip:caller@" + local + ">;tag=c1\r\n" +
			"To: <sip:hushphone@" + addr + ">\r\n" +
			"Call-ID: cancel-test@" + local + "\r\n" +
			"CSeq: 1 " + method + "\r\n" +
			"Contact: <sip:caller@" + local + ">\r\nMax-Forwards: 70\r\n"
	}
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n"
	invite := common("INVITE") + "Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(offer)) + "\r\n\r\n" + offer
	if _, err := conn.Write([]byte(invite)); err != nil {
		t.Fatal(err)
	}
	read := func() int {
		buf := make([]byte, 4096)
		_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		var code int
		if _, err := fmtSscanf(string(buf[:n]), &code); err != nil {
			t.Fatalf("not a response: %q", buf[:n])
		}
		return code
	}
	for code := read(); code != 180; code = read() {
		if code >= 200 {
			t.Fatalf("INVITE answered %d before CANCEL", code)
		}
	}
	if _, err := conn.Write([]byte(common("CANCEL") + "Content-Length: 0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	codes := map[int]bool{}
	for len(codes) < 2 {
		codes[read()] = true
	}
	if !codes[200] || !codes[487] {
		t.Fatalf("responses %v, want 200 (CANCEL) and 487 (INVITE)", codes)
	}
	got.mu.Lock()
	c := got.calls[0]
	got.mu.Unlock()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end after CANCEL")
	}
}

// TestNoGoroutinesLeft: once Serve has returned, the goroutines it
// started (listeners, transactions) are gone.
func TestNoGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("serve", func(t *testing.T) {
		addr, _ := startTrunk(t, autoAnswer)
		if code := request(t, addr, "OPTIONS", "", ""); code != 200 {
			t.Fatalf("OPTIONS: %d", code)
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestAgentVoiceToTheCaller: after Answer, Send puts the agent's frames on
// RTP to the caller's SDP address, in order, in the agreed payload type.
func TestAgentVoiceToTheCaller(t *testing.T) {
	sent := make(chan error, 1)
	addr, _ := startTrunk(t, func(_ *answered, c *Call) {
		if err := c.Send(make([]byte, 160)); !errors.Is(err, ErrNotAnswered) {
			sent <- fmt.Errorf("Send before Answer: %w", err)
			return
		}
		if err := c.Answer(func([]byte) {}, func(dtmf.Event) {}); err != nil {
			sent <- err
			return
		}
		for i := 0; i < 10; i++ {
			frame := bytes.Repeat([]byte{byte(i)}, 160)
			if err := c.Send(frame); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	})
	caller := sipptest.Dial(t, addr, g711.ALaw, 3*time.Second)
	media := caller.Media
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	var p rtp.Packet
	buf := make([]byte, 1500)
	var prev rtp.Header
	for i := 0; i < 10; i++ {
		_ = media.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := media.Read(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if p.PayloadType != 8 || len(p.Payload) != 160 || p.Payload[0] != byte(i) || p.Marker != (i == 0) {
			t.Fatalf("packet %d: %+v", i, p.Header)
		}
		if i > 0 && (p.SequenceNumber != prev.SequenceNumber+1 || p.Timestamp != prev.Timestamp+160 || p.SSRC != prev.SSRC) {
			t.Fatalf("packet %d follows %+v with %+v", i, prev, p.Header)
		}
		prev = p.Header
	}
}

// TestListenOnATakenPort: a SIP port another process holds is an error
// from Listen, naming the address, and Serve without Listen is refused.
func TestListenOnATakenPort(t *testing.T) {
	taken, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.LocalAddr().String()
	tr, err := New(Config{SIPAddr: addr, OnCall: func(c *Call) { _ = c.Reject(480, "Unavailable") }})
	if err != nil {
		t.Fatal(err)
	}
	err = tr.Listen(context.Background())
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("Listen on a taken port: %v", err)
	}
	if err := tr.Serve(context.Background()); !errors.Is(err, ErrConfig) {
		t.Fatalf("Serve before Listen: %v", err)
	}
}
