package trunk

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icholy/digest"
	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
)

// TestStrangerCannotTypeIntoAPayment is the first attack: a host
// not on the allow list (127.0.0.2) sends SIP INFO key presses with a
// live call's Call-ID (every agent and supervisor sees Call-IDs), and the
// tags it could guess, or even the dialog's own; a host on the allow list
// but outside the call tries the same, and re-INVITEs, UPDATEs and BYEs
// too. Every one is refused (403 from the stranger, 481 outside the
// dialog, 482 for a new INVITE with the call's Call-ID), counted, and
// changes nothing: no key reaches the payment, the call goes on. The
// caller's own INFO is taken.
func TestStrangerCannotTypeIntoAPayment(t *testing.T) {
	t.Parallel()
	m := newCounts()
	keys := make(chan dtmf.Event, 64)
	calls := make(chan *Call, 1)
	addr, _, _ := startTrunkCfg(t, Config{Allow: onlyLoopbackOne, Metrics: m}, func(_ *answered, c *Call) {
		if err := c.Answer(func([]byte) {}, func(e dtmf.Event) { keys <- e }); err != nil {
			t.Error(err)
		}
		calls <- c
	})
	caller := sipptest.Dial(t, addr, g711.ULaw, 5*time.Second)
	call := <-calls
	stranger := newPeer(t, "127.0.0.2", addr)
	neighbour := newPeer(t, "127.0.0.1", addr) // on the allow list, not in the call
	info := "Content-Type: application/dtmf-relay\r\n"
	sdp := "Content-Type: application/sdp\r\n"
	cseq := 100
	for _, c := range []struct {
		name string
		from *sipPeer
		d    dialogIDs
		want int // for INFO, UPDATE and BYE; a new INVITE (no To-tag) from an allowed host gets 482
	}{
		{"stranger, the Call-ID alone", stranger, dialogIDs{call.ID, "x", ""}, 403},
		{"stranger, guessed tags", stranger, dialogIDs{call.ID, call.remoteTag, "1"}, 403},
		{"stranger, the dialog's own tags", stranger, dialogIDs{call.ID, call.remoteTag, call.localTag}, 403},
		{"allowed host, the Call-ID alone", neighbour, dialogIDs{call.ID, call.remoteTag, ""}, 481},
		{"allowed host, a guessed To-tag", neighbour, dialogIDs{call.ID, call.remoteTag, "1"}, 481},
		{"allowed host, another From-tag", neighbour, dialogIDs{call.ID, "x", call.localTag}, 481},
	} {
		for _, r := range []struct{ method, headers, body string }{
			{"INFO", info, "Signal=4\r\nDuration=100\r\n"},
			{"INVITE", sdp, c.from.offer("a=inactive\r\n")},
			{"UPDATE", sdp, c.from.offer("a=inactive\r\n")},
			{"OPTIONS", "", ""},
			{"BYE", "", ""},
		} {
			if r.method == "OPTIONS" && c.d.toTag == "" {
				continue // outside any dialog: a keep-alive
			}
			cseq++
			want := c.want
			if r.method == "INVITE" && c.d.toTag == "" && c.want == 481 {
				want = 482
			}
			if res := c.from.do(r.method, c.d, cseq, r.headers, r.body); res.code != want {
				t.Errorf("%s: %s answered %d, want %d", c.name, r.method, res.code, want)
			}
		}
	}
	select {
	case k := <-keys:
		t.Fatalf("a key from outside the dialog reached the payment: %+v", k.Phase)
	case <-call.Done():
		t.Fatal("a BYE from outside the dialog ended the call")
	case <-time.After(300 * time.Millisecond):
	}
	if n, d := m.get(m.refused, "INFO source"), m.get(m.refused, "INFO dialog"); n != 3 || d != 3 {
		t.Errorf("INFO refusals counted: %d source, %d dialog; want 3 and 3", n, d)
	}
	if n := m.get(m.refused, "BYE source") + m.get(m.refused, "INVITE source") + m.get(m.refused, "INVITE dialog"); n != 9 {
		t.Errorf("BYE and re-INVITE refusals counted: %d, want 9", n)
	}
	// The caller's own key press is taken.
	if err := caller.Info('5'); err != nil {
		t.Fatal(err)
	}
	select {
	case k := <-keys:
		if k.Digit != '5' || k.Source != dtmf.SourceSIPInfo {
			t.Fatalf("the caller's key: %c from %v", k.Digit, k.Source)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the caller's own INFO was not taken")
	}
	caller.Hangup(t)
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the caller's BYE did not end the call")
	}
}

// TestReInviteMustAuthenticate: with trunk credentials set, a re-INVITE
// (and an INFO, a BYE) must prove the credential the call's INVITE proved,
// like the INVITE: one without credentials is challenged (401), one with
// another trunk's is refused and counted, one with the call's is taken.
func TestReInviteMustAuthenticate(t *testing.T) {
	t.Parallel()
	m := newCounts()
	creds := []Credential{{Realm: "hushphone", User: "trunk-a", Password: "secret-a"}, {Realm: "hushphone", User: "trunk-b", Password: "secret-b"}}
	addr, got, _ := startTrunkCfg(t, Config{Auth: creds, AuthAlgorithms: []string{"MD5"}, Metrics: m}, autoAnswer)
	p := newPeer(t, "127.0.0.1", addr)
	uri := "sip:hushphone@" + addr
	answer := func(challenge sipMsg, method string, cred Credential) string {
		t.Helper()
		ch, err := digest.ParseChallenge(challenge.header("www-authenticate"))
		if err != nil {
			t.Fatalf("challenge: %v\n%s", err, challenge.raw)
		}
		cr, err := digest.Digest(ch, digest.Options{Method: method, URI: uri, Username: cred.User, Password: cred.Password})
		if err != nil {
			t.Fatal(err)
		}
		return "Authorization: " + cr.String() + "\r\n"
	}
	d := dialogIDs{callID: "auth-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@test", fromTag: "caller"}
	sdp := "Content-Type: application/sdp\r\n"
	ch := p.do("INVITE", d, 1, sdp, p.offer(""))
	if ch.code != 401 {
		t.Fatalf("INVITE without credentials: %d", ch.code)
	}
	p.send("ACK", d, 1, "", "")
	ok := p.do("INVITE", d, 2, sdp+answer(ch, "INVITE", creds[0]), p.offer(""))
	if ok.code != 200 {
		t.Fatalf("INVITE with credentials: %d", ok.code)
	}
	d.toTag = tagOf(ok.header("to"))
	p.send("ACK", d, 2, "", "")

	ch = p.do("INVITE", d, 3, sdp, p.offer("a=sendonly\r\n"))
	if ch.code != 401 {
		t.Fatalf("re-INVITE without credentials: %d, want 401", ch.code)
	}
	p.send("ACK", d, 3, "", "")
	if res := p.do("INVITE", d, 4, sdp+answer(ch, "INVITE", creds[1]), p.offer("a=sendonly\r\n")); res.code != 401 {
		t.Fatalf("re-INVITE with another trunk's credentials: %d, want 401", res.code)
	}
	p.send("ACK", d, 4, "", "")
	if n := m.get(m.refused, "INVITE auth"); n != 1 {
		t.Errorf("%d refusals counted for wrong credentials, want 1", n)
	}
	ch = p.do("INVITE", d, 5, sdp, p.offer("a=sendonly\r\n"))
	p.send("ACK", d, 5, "", "")
	if res := p.do("INVITE", d, 6, sdp+answer(ch, "INVITE", creds[0]), p.offer("a=sendonly\r\n")); res.code != 200 || res.sdpField("a=recvonly") == "" && !strings.Contains(res.body, "a=recvonly") {
		t.Fatalf("re-INVITE with the call's credentials: %d\n%s", res.code, res.raw)
	}
	p.send("ACK", d, 6, "", "")

	// INFO and BYE too: challenged without credentials, refused with
	// another trunk's, taken with the call's.
	info, key := "Content-Type: application/dtmf-relay\r\n", "Signal=7\r\nDuration=100\r\n"
	cseq := 6
	for _, method := range []string{"INFO", "BYE"} {
		headers, body := "", ""
		if method == "INFO" {
			headers, body = info, key
		}
		cseq++
		ch := p.do(method, d, cseq, headers, body)
		if ch.code != 401 {
			t.Fatalf("%s without credentials: %d, want 401", method, ch.code)
		}
		cseq++
		if res := p.do(method, d, cseq, headers+answer(ch, method, creds[1]), body); res.code != 401 {
			t.Fatalf("%s with another trunk's credentials: %d, want 401", method, res.code)
		}
		if method == "INFO" {
			got.mu.Lock()
			n := len(got.keys)
			got.mu.Unlock()
			if n != 0 {
				t.Fatalf("an INFO without the call's credentials typed %d key events", n)
			}
		}
		cseq++
		ch = p.do(method, d, cseq, headers, body)
		cseq++
		if res := p.do(method, d, cseq, headers+answer(ch, method, creds[0]), body); res.code != 200 {
			t.Fatalf("%s with the call's credentials: %d", method, res.code)
		}
	}
	got.mu.Lock()
	n := len(got.keys)
	got.mu.Unlock()
	if n == 0 {
		t.Error("the INFO with the call's credentials typed nothing")
	}
	if n := m.get(m.refused, "INFO auth") + m.get(m.refused, "BYE auth"); n != 2 {
		t.Errorf("%d INFO and BYE refusals counted for wrong credentials, want 2", n)
	}
}

// TestStrangerCannotTakeTheAudio is the second attack: a stranger
// (127.0.0.2) sprays the call's RTP port with audio and RFC 4733 key
// presses from before the caller sends anything. The trunk never latches
// onto it: the stranger receives none of the agent's voice and injects no
// key, the caller gets the audio, and the stranger's packets are counted.
func TestStrangerCannotTakeTheAudio(t *testing.T) {
	t.Parallel()
	m := newCounts()
	keys := make(chan dtmf.Event, 256)
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatalf("binding 127.0.0.2: %v", err)
	}
	defer stranger.Close()
	var strangerGot atomic.Int64
	sprayed := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	addr, _, _ := startTrunkCfg(t, Config{Allow: onlyLoopbackOne, Metrics: m}, func(_ *answered, c *Call) {
		port := c.stream.LocalAddr()
		wg.Go(func() { // the stranger's spray: audio and the key 9, over and over
			to := net.UDPAddrFromAddrPort(port)
			audio := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 0xbad}, Payload: make([]byte, 160)}
			event := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SSRC: 0xbad, Marker: true}, Payload: []byte{9, 0x0a, 0, 160}}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				audio.SequenceNumber, audio.Timestamp = uint16(2*i), uint32(i*160)
				event.SequenceNumber, event.Timestamp = uint16(2*i+1), uint32((i/10)*1600)
				event.Payload[1] = 0x0a
				if i%10 == 9 {
					event.Payload[1] = 0x8a // the key's end
				}
				b, _ := audio.Marshal()
				_, _ = stranger.WriteToUDP(b, to)
				b, _ = event.Marshal()
				_, _ = stranger.WriteToUDP(b, to)
				if i == 20 {
					close(sprayed)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
		wg.Go(func() { // what the stranger receives
			buf := make([]byte, 1500)
			for {
				_ = stranger.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				n, _, err := stranger.ReadFromUDP(buf)
				select {
				case <-stop:
					return
				default:
				}
				if err == nil && n > 12 {
					strangerGot.Add(1)
				}
			}
		})
		<-sprayed // the stranger is first
		if err := c.Answer(func([]byte) {}, func(e dtmf.Event) { keys <- e }); err != nil {
			t.Error(err)
			return
		}
		voice := make([]byte, 160)
		for i := range voice {
			voice[i] = 0x55
		}
		for range 75 { // 1.5 s of the agent's voice, or until the caller hangs up
			if err := c.Send(voice); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	defer func() { close(stop); wg.Wait() }()
	caller := sipptest.Dial(t, addr, g711.ULaw, 5*time.Second)
	audio, packets := caller.Listen(1200 * time.Millisecond)
	if packets < 30 || !strings.Contains(string(audio), strings.Repeat("\x55", 160)) {
		t.Errorf("the caller received %d packets of the agent's voice, want most of 60", packets)
	}
	if n := strangerGot.Load(); n != 0 {
		t.Errorf("the stranger received %d packets of the call's audio", n)
	}
	select {
	case k := <-keys:
		t.Errorf("the stranger's RFC 4733 key reached the payment (%v)", k.Source)
	default:
	}
	if a, e := m.get(m.strangers, "audio"), m.get(m.strangers, "event"); a == 0 || e == 0 {
		t.Errorf("stranger packets counted: %d audio, %d events", a, e)
	}
	caller.Hangup(t)
}

// TestUnacknowledgedAnswerEndsTheCall: a caller that never ACKs the 200
// OK (a broken NAT, a bad Contact) has the call ended with BYE once the
// 200 has been resent for 64*T1 (RFC 3261 13.3.1.4): Done closes, so the
// queue hears of it, and Answer says why.
func TestUnacknowledgedAnswerEndsTheCall(t *testing.T) {
	t.Parallel()
	m := newCounts()
	answerErr := make(chan error, 1)
	calls := make(chan *Call, 1)
	addr, _, _ := startTrunkCfg(t, Config{Metrics: m}, func(_ *answered, c *Call) {
		calls <- c
		answerErr <- c.Answer(func([]byte) {}, func(dtmf.Event) {})
	})
	p := newPeer(t, "127.0.0.1", addr)
	d := dialogIDs{callID: "noack-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@test", fromTag: "caller"}
	p.send("INVITE", d, 1, "Content-Type: application/sdp\r\n", p.offer(""))
	ok := p.final("INVITE", 1, 3*time.Second)
	if ok.code != 200 {
		t.Fatalf("INVITE: %d", ok.code)
	}
	checkCapabilities(t, "the 200 to INVITE", ok.raw)
	call := <-calls
	start := time.Now()
	bye, got := p.request("BYE", 45*time.Second)
	if !got {
		t.Fatal("no BYE within 45 s of an unacknowledged 200 OK")
	}
	t.Logf("BYE after %v", time.Since(start).Round(time.Second))
	p.reply(bye, 200, "")
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end")
	}
	if err := <-answerErr; !errors.Is(err, ErrNoAck) {
		t.Fatalf("Answer: %v, want ErrNoAck", err)
	}
	if n := m.get(m.cut, cutNoAck); n != 1 {
		t.Errorf("%d calls cut for no ACK counted", n)
	}
}

// TestRequestsOutsideCalls: what is not in any call: an unmatched CANCEL
// gets 481, a method we do not take 405 with Allow (RFC 3261 21.4.6).
func TestRequestsOutsideCalls(t *testing.T) {
	addr, _ := startTrunk(t, autoAnswer)
	p := newPeer(t, "127.0.0.1", addr)
	d := dialogIDs{callID: "outside@test", fromTag: "x"}
	if res := p.do("CANCEL", d, 1, "", ""); res.code != 481 {
		t.Errorf("CANCEL of nothing: %d, want 481", res.code)
	}
	res := p.do("MESSAGE", d, 2, "Content-Type: text/plain\r\n", "hello")
	if res.code != 405 || !strings.Contains(res.header("allow"), "INVITE") || !strings.Contains(res.header("allow"), "INFO") {
		t.Errorf("MESSAGE: %d, Allow %q; want 405 with Allow", res.code, res.header("allow"))
	}
}

// TestAdvertised: the Contact names sip-advertise when set, else the SIP
// address, else (bound to every address) the media address with the SIP
// port; an unspecified address is never advertised.
func TestAdvertised(t *testing.T) {
	lo := netip.MustParseAddr("127.0.0.1")
	for _, c := range []struct {
		name      string
		cfg       Config
		host      string
		port      int
		want      string
		wantError bool
	}{
		{"the SIP address", Config{RTPAddr: lo}, "192.0.2.1", 5060, "192.0.2.1:5060", false},
		{"every address: the media address", Config{RTPAddr: netip.MustParseAddr("192.0.2.7")}, "0.0.0.0", 5070, "192.0.2.7:5070", false},
		{"every address, IPv6", Config{RTPAddr: lo}, "::", 5060, "127.0.0.1:5060", false},
		{"sip-advertise", Config{RTPAddr: lo, Advertise: "sip.example.net:5080"}, "0.0.0.0", 5060, "sip.example.net:5080", false},
		{"sip-advertise of every address", Config{RTPAddr: lo, Advertise: "0.0.0.0:5060"}, "0.0.0.0", 5060, "", true},
		{"sip-advertise without a port", Config{RTPAddr: lo, Advertise: "sip.example.net"}, "0.0.0.0", 5060, "", true},
		{"every address, media too", Config{RTPAddr: netip.MustParseAddr("0.0.0.0")}, "0.0.0.0", 5060, "", true},
	} {
		h, p, err := advertised(c.cfg, c.host, c.port)
		if c.wantError {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%s: %s:%d, %v; want ErrConfig", c.name, h, p, err)
			}
			continue
		}
		if err != nil || net.JoinHostPort(h, strconv.Itoa(p)) != c.want {
			t.Errorf("%s: %s:%d, %v; want %s", c.name, h, p, err, c.want)
		}
	}
}

// TestAdvertisedContact: bound to 0.0.0.0, the 200 to INVITE's Contact
// names the media address, never 0.0.0.0 (and sip-advertise when set).
func TestAdvertisedContact(t *testing.T) {
	port := freePort(t)
	tr, err := New(Config{SIPAddr: "0.0.0.0:" + strconv.Itoa(port), Advertise: "127.0.0.1:" + strconv.Itoa(port), OnCall: func(c *Call) {
		_ = c.Answer(func([]byte) {}, func(dtmf.Event) {})
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := tr.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tr.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	p := newPeer(t, "127.0.0.1", "127.0.0.1:"+strconv.Itoa(port))
	d := dialogIDs{callID: "contact-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@test", fromTag: "caller"}
	p.send("INVITE", d, 1, "Content-Type: application/sdp\r\n", p.offer(""))
	ok := p.final("INVITE", 1, 3*time.Second)
	if ok.code != 200 {
		t.Fatalf("INVITE: %d", ok.code)
	}
	if c := ok.header("contact"); !strings.Contains(c, "127.0.0.1:"+strconv.Itoa(port)) {
		t.Errorf("Contact %q, want the advertised address", c)
	}
	d.toTag = tagOf(ok.header("to"))
	p.send("ACK", d, 1, "", "")
	if res := p.do("BYE", d, 2, "", ""); res.code != 200 {
		t.Errorf("BYE: %d", res.code)
	}
}

// TestOptionsWhileDraining: OPTIONS outside a call gets 200 with Allow,
// Supported and Accept, and 503 once the trunk is shutting down, so that a
// dispatcher in front sees it draining.
func TestOptionsWhileDraining(t *testing.T) {
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	tr, err := New(Config{SIPAddr: addr, OnCall: func(*Call) {
		held <- struct{}{}
		<-release // a call still being handled keeps the trunk draining
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := tr.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tr.Serve(ctx) }()
	p := newPeer(t, "127.0.0.1", addr)
	ping := dialogIDs{callID: "ping@test", fromTag: "p"}
	res := p.do("OPTIONS", ping, 1, "", "")
	if res.code != 200 || !strings.Contains(res.header("allow"), "INFO") || res.header("supported") == "" || res.header("accept") == "" {
		t.Fatalf("OPTIONS: %d, Allow %q, Supported %q, Accept %q", res.code, res.header("allow"), res.header("supported"), res.header("accept"))
	}
	caller := newPeer(t, "127.0.0.1", addr)
	caller.send("INVITE", dialogIDs{callID: "held@test", fromTag: "c"}, 1, "Content-Type: application/sdp\r\n", caller.offer(""))
	<-held
	cancel()
	var code int
	for i := 2; i < 40 && code != 503; i++ {
		code = p.do("OPTIONS", ping, i, "", "").code
		if code != 503 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	close(release)
	if code != 503 {
		t.Errorf("OPTIONS while draining: %d, want 503", code)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("the trunk did not stop")
	}
}

// TestOutboundFarEndInDialog: on a trunk that demands credentials of
// trunks calling it, the far end of a call we placed is asked for none:
// its re-INVITE and BYE, inside the dialog, are taken (it answered our
// INVITE and holds none of our inbound credentials; before, its re-INVITE
// was challenged for ever), while a wrong To-tag still gets 481.
func TestOutboundFarEndInDialog(t *testing.T) {
	t.Parallel()
	far := newPeer(t, "127.0.0.1", "127.0.0.1:1") // the trunk's address comes next
	creds := []Credential{{Realm: "hushphone", User: "trunk-a", Password: "secret-a"}}
	addr, _, tr := startTrunkCfg(t, Config{Auth: creds, Outbound: far.conn.LocalAddr().String()}, func(*answered, *Call) {})
	var err error
	if far.server, err = net.ResolveUDPAddr("udp", addr); err != nil {
		t.Fatal(err)
	}
	far.addr = addr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type dialed struct {
		c   *Call
		err error
	}
	calls := make(chan dialed, 1)
	go func() {
		c, err := tr.Dial(ctx, "100", func([]byte) {}, noKeys)
		calls <- dialed{c, err}
	}()
	inv, ok := far.request("INVITE", 5*time.Second)
	if !ok {
		t.Fatal("no INVITE from the trunk")
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, h := range []string{"via", "from", "call-id", "cseq"} {
		for _, v := range inv.headers[h] {
			b.WriteString(h + ": " + v + "\r\n")
		}
	}
	body := far.offer("")
	b.WriteString("To: " + inv.header("to") + ";tag=far1\r\nContact: <sip:100@" + far.conn.LocalAddr().String() + ">\r\n" +
		"Content-Type: application/sdp\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	if _, err := far.conn.WriteToUDP([]byte(b.String()), far.server); err != nil {
		t.Fatal(err)
	}
	if _, ok := far.request("ACK", 5*time.Second); !ok {
		t.Fatal("no ACK of the far end's 200")
	}
	got := <-calls
	if got.err != nil {
		t.Fatalf("Dial: %v", got.err)
	}
	d := dialogIDs{callID: inv.header("call-id"), fromTag: "far1", toTag: tagOf(inv.header("from"))}
	sdp := "Content-Type: application/sdp\r\n"
	if res := far.do("INVITE", d, 1, sdp, far.offer("a=sendonly\r\n")); res.code != 200 {
		t.Fatalf("the far end's re-INVITE: %d, want 200", res.code)
	}
	far.send("ACK", d, 1, "", "")
	wrong := d
	wrong.toTag = "guess"
	if res := far.do("INFO", wrong, 2, "Content-Type: application/dtmf-relay\r\n", "Signal=1\r\nDuration=100\r\n"); res.code != 481 {
		t.Errorf("an INFO with a wrong To-tag: %d, want 481", res.code)
	}
	if res := far.do("BYE", d, 3, "", ""); res.code != 200 {
		t.Fatalf("the far end's BYE: %d, want 200", res.code)
	}
	select {
	case <-got.c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the far end's BYE did not end the call")
	}
}
