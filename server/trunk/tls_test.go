package trunk

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testcert"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/server/trunk/rtpstream"
)

// tlsCaller is a hand-driven SIP caller over TLS.
type tlsCaller struct {
	t      *testing.T
	conn   *tls.Conn
	r      *bufio.Reader
	server string
	callID string
	toTag  string
	branch string
	uri    string // the Request-URI (default sips:hushphone@server)
}

func dialTLS(t *testing.T, server string, conf *tls.Config) (*tlsCaller, error) {
	t.Helper()
	d := tls.Dialer{Config: conf}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "tcp", server)
	if err != nil {
		return nil, err
	}
	tc := conn.(*tls.Conn)
	t.Cleanup(func() { _ = tc.Close() })
	return &tlsCaller{t: t, conn: tc, r: bufio.NewReader(tc), server: server,
		callID: "tls-" + strconv.FormatInt(time.Now().UnixNano(), 36)}, nil
}

func (c *tlsCaller) send(method string, cseq int, headers, body string) {
	c.t.Helper()
	local := c.conn.LocalAddr().String()
	if method != "CANCEL" || c.branch == "" {
		c.branch = "z9hG4bK-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	uri := c.uri
	if uri == "" {
		uri = "sips:hushphone@" + c.server
	}
	msg := method + " " + uri + " SIP/2.0\r\n" +
		"Via: SIP/2.0/TLS " + local + ";branch=" + c.branch + "\r\n" +
		"From: <sips:0123456789@" + local + ">;tag=caller\r\n" +
		"To: <sips:hushphone@" + c.server + ">" + c.toTag + "\r\n" +
		"Call-ID: " + c.callID + "\r\n" +
		"CSeq: " + strconv.Itoa(cseq) + " " + method + "\r\n" +
		"Contact: <sips:0123456789@" + local + ">\r\nMax-Forwards: 70\r\n" +
		headers + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := c.conn.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}

// tlsMsg is a SIP message read off the TLS stream: its first line, headers
// (lower-case names) and body.
type tlsMsg struct {
	start   string
	headers map[string][]string
	body    string
}

func (c *tlsCaller) readMsg(timeout time.Duration) (tlsMsg, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	m := tlsMsg{headers: map[string][]string{}}
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return m, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if m.start == "" {
				continue // a keep-alive
			}
			break
		}
		if m.start == "" {
			m.start = line
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		k = strings.ToLower(strings.TrimSpace(k))
		m.headers[k] = append(m.headers[k], strings.TrimSpace(v))
	}
	if n, _ := strconv.Atoi(first(m.headers["content-length"])); n > 0 {
		b := make([]byte, n)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return m, err
		}
		m.body = string(b)
	}
	return m, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// until reads until a response with code, failing on another final one.
func (c *tlsCaller) until(code int, timeout time.Duration) tlsMsg {
	c.t.Helper()
	for {
		m, err := c.readMsg(timeout)
		if err != nil {
			c.t.Fatalf("waiting for %d: %v", code, err)
		}
		var got int
		if _, err := fmtSscanf(m.start, &got); err != nil {
			c.t.Fatalf("waiting for %d, got %q", code, m.start)
		}
		if to := first(m.headers["to"]); strings.Contains(to, ";tag=") {
			c.toTag = to[strings.Index(to, ";tag="):]
		}
		if got == code {
			return m
		}
		if got >= 200 {
			c.t.Fatalf("got %d waiting for %d", got, code)
		}
	}
}

// TestSIPOverTLS: a caller over TLS (sips:) with SRTP gets our 200 with a
// sips: Contact at the TLS address and SRTP; a BYE, a key press (INFO) and
// a re-INVITE to plain RTP for its call sent over UDP, with its Call-ID
// and both tags, get 481 and change nothing (a call over TLS is reached
// over TLS only); our Hangup's BYE comes back on
// the caller's own connection, which outlived the idle timeout while the
// call was up (an idle one beside it did not). TLS 1.1 is refused, and so
// is a connection from outside the allow list, before any handshake.
func TestSIPOverTLS(t *testing.T) {
	cert := testcert.New(t)
	tlsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	calls := make(chan *Call, 1)
	keys := make(chan dtmf.Event, 16)
	const idle = 300 * time.Millisecond
	addr, _, _ := startTrunkCfg(t, Config{TLSAddr: tlsAddr, TLSConfig: cert.ServerConfig(), SRTP: SRTPRequired, IdleTimeout: idle}, func(_ *answered, c *Call) {
		if err := c.Answer(func([]byte) {}, func(e dtmf.Event) {
			select {
			case keys <- e:
			default:
			}
		}); err != nil {
			t.Error(err)
		}
		calls <- c
	})
	caller, err := dialTLS(t, tlsAddr, cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	if v := caller.conn.ConnectionState().Version; v < tls.VersionTLS12 {
		t.Fatalf("TLS version %x", v)
	}
	media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	caller.send("INVITE", 1, "Content-Type: application/sdp\r\n", savpOffer(media.LocalAddr().(*net.UDPAddr).Port, newKey(t)))
	ok := caller.until(200, 3*time.Second)
	contact := first(ok.headers["contact"])
	if !strings.Contains(contact, "sips:hushphone@"+tlsAddr) {
		t.Fatalf("the 200's Contact is %q, want sips: at %s", contact, tlsAddr)
	}
	answerOf(t, ok.body)
	caller.send("ACK", 1, "", "")
	call := <-calls
	if _, ok := call.stream.(*rtpstream.SRTP); !ok {
		t.Fatalf("the call's stream is a %T", call.stream)
	}

	// The call's connection outlives the idle timeout while the call is
	// up; an idle one beside it does not.
	spare, err := dialTLS(t, tlsAddr, cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * idle)
	if _, err := spare.readMsg(time.Second); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an idle TLS connection was not closed: %v", err)
	}

	// The call's BYE, a key press (SIP INFO) and a re-INVITE to plain
	// RTP, over UDP, not the call's transport, with its Call-ID and both
	// tags: 481, and nothing changes.
	udp, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	local := udp.LocalAddr().String()
	for i, r := range []struct{ method, headers, body string }{
		{"BYE", "", ""},
		{"INFO", "Content-Type: application/dtmf-relay\r\n", "Signal=5\r\nDuration=160\r\n"},
		{"INVITE", "Content-Type: application/sdp\r\nContact: <sip:0123456789@" + local + ">\r\n", avpOffer(media.LocalAddr().(*net.UDPAddr).Port)},
	} {
		req := r.method + " sips:hushphone@" + tlsAddr + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=z9hG4bK-udp" + strconv.Itoa(i) + "\r\n" +
			"From: <sips:0123456789@" + local + ">;tag=caller\r\nTo: <sips:hushphone@" + tlsAddr + ">" + caller.toTag + "\r\n" +
			"Call-ID: " + caller.callID + "\r\nCSeq: " + strconv.Itoa(9+i) + " " + r.method + "\r\nMax-Forwards: 70\r\n" +
			r.headers + "Content-Length: " + strconv.Itoa(len(r.body)) + "\r\n\r\n" + r.body
		if _, err := udp.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2048)
		for {
			_ = udp.SetReadDeadline(time.Now().Add(3 * time.Second))
			n, err := udp.Read(buf)
			if err == nil && strings.HasPrefix(string(buf[:n]), "SIP/2.0 1") {
				continue // 100 Trying
			}
			if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 481") {
				t.Fatalf("%s over UDP for a call over TLS: %v %q", r.method, err, buf[:n])
			}
			break
		}
	}
	if len(keys) > 0 {
		t.Fatal("a key press over UDP reached a call over TLS")
	}
	select {
	case <-call.Done():
		t.Fatal("a BYE over UDP ended a call over TLS")
	case <-time.After(200 * time.Millisecond):
	}

	// Our BYE, on the caller's connection.
	hung := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hung <- call.Hangup(ctx)
	}()
	m, err := caller.readMsg(5 * time.Second)
	if err != nil || !strings.HasPrefix(m.start, "BYE ") {
		t.Fatalf("waiting for our BYE on the caller's connection: %v %q", err, m.start)
	}
	resp := "SIP/2.0 200 OK\r\n"
	for _, h := range []string{"via", "from", "to", "call-id", "cseq"} {
		for _, v := range m.headers[h] {
			resp += h + ": " + v + "\r\n"
		}
	}
	if _, err := caller.conn.Write([]byte(resp + "Content-Length: 0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := <-hung; err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end")
	}

	// TLS 1.1: refused.
	old := cert.ClientConfig()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := dialTLS(t, tlsAddr, old); err == nil {
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
}

// TestTLSOutsideAllowList: a connection from outside the allow list is
// closed before the handshake.
func TestTLSOutsideAllowList(t *testing.T) {
	cert := testcert.New(t)
	tlsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	cfg := Config{TLSAddr: tlsAddr, TLSConfig: cert.ServerConfig()}
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	startTrunkCfg(t, cfg, func(*answered, *Call) {})
	_, err := dialTLS(t, tlsAddr, cert.ClientConfig())
	if err == nil || !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("a handshake from outside the allow list: %v, want the connection closed", err)
	}
}

// TestTLSConfig: sip-tls without a certificate, and an outbound trunk over
// TLS without sip-tls, are configuration errors.
func TestTLSConfig(t *testing.T) {
	on := func(*Call) {}
	for name, cfg := range map[string]Config{
		"sip-tls without a certificate":   {TLSAddr: "127.0.0.1:5061", OnCall: on},
		"trunk-out sips: without sip-tls": {Outbound: "sips:127.0.0.1:5061", OnCall: on},
		"trunk-out sips: with no port":    {Outbound: "sips:127.0.0.1", OnCall: on},
	} {
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
}

// TestDialOverTLS: Dial to an outbound trunk at sips:HOST:PORT goes over
// TLS, checking the far end's certificate, and offers SRTP; the far end
// (another trunk, SRTP required) answers, and the audio goes both ways in
// SRTP; the far end's BYE ends our call. A far end whose certificate we
// do not trust is never called.
func TestDialOverTLS(t *testing.T) {
	cert := testcert.New(t)
	farTLS := "127.0.0.1:" + strconv.Itoa(freePort(t))
	calls := make(chan *Call, 1)
	var farHeard frameCounter
	startTrunkCfg(t, Config{TLSAddr: farTLS, TLSConfig: cert.ServerConfig(), SRTP: SRTPRequired}, func(_ *answered, c *Call) {
		if err := c.Answer(farHeard.out, noKeys); err != nil {
			t.Error(err)
		}
		calls <- c
	})
	nearTLS := "127.0.0.1:" + strconv.Itoa(freePort(t))
	_, _, near := startTrunkCfg(t, Config{Outbound: "sips:" + farTLS, TLSAddr: nearTLS, TLSConfig: cert.ServerConfig(), TLSRoots: cert.Pool},
		func(_ *answered, c *Call) { _ = c.Reject(480, "No") })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var heard frameCounter
	call, err := near.Dial(ctx, "+441234567890", heard.out, noKeys)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	far := <-calls
	if !call.Offer.Secure || !far.Offer.Secure {
		t.Fatalf("SRTP: ours %v, the far end's %v", call.Offer.Secure, far.Offer.Secure)
	}
	if _, ok := far.dlg.(tlsDialog); !ok {
		t.Fatalf("the far end's call came over %s", far.srv.InviteRequest.Transport())
	}
	voice := make([]byte, 160)
	for i := range voice {
		voice[i] = byte(0x17 + i%9)
	}
	for range 25 {
		_ = call.Send(voice)
		_ = far.Send(voice)
		time.Sleep(20 * time.Millisecond)
	}
	waitFor(t, "20 frames each way", func() bool { return heard.n() >= 20 && farHeard.n() >= 20 })
	if err := far.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the far end's BYE did not end our call")
	}

	// Without the authority that signed the far end's certificate.
	otherTLS := "127.0.0.1:" + strconv.Itoa(freePort(t))
	_, _, untrusting := startTrunkCfg(t, Config{Outbound: "sips:" + farTLS, TLSAddr: otherTLS, TLSConfig: cert.ServerConfig()},
		func(_ *answered, c *Call) { _ = c.Reject(480, "No") })
	dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
	defer dcancel()
	if _, err := untrusting.Dial(dctx, "100", heard.out, noKeys); err == nil {
		t.Fatal("Dial to a far end whose certificate is not trusted succeeded")
	}
	select {
	case c := <-calls:
		t.Fatalf("the far end got a call from the trunk that does not trust it: %s", c.ID)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestTLSContactFollowsTheRequestURI: a call over TLS to
// sip:...;transport=tls (as baresip calls) gets a Contact of the same
// kind, which callers that take no sips: URI can use (baresip 1.0 ended
// the call on a sips: one); its in-dialog requests reach it over TLS.
func TestTLSContactFollowsTheRequestURI(t *testing.T) {
	cert := testcert.New(t)
	tlsAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	calls := make(chan *Call, 1)
	startTrunkCfg(t, Config{TLSAddr: tlsAddr, TLSConfig: cert.ServerConfig()}, func(_ *answered, c *Call) {
		if err := c.Answer(func([]byte) {}, func(dtmf.Event) {}); err != nil {
			t.Error(err)
		}
		calls <- c
	})
	caller, err := dialTLS(t, tlsAddr, cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	caller.uri = "sip:hushphone@" + tlsAddr + ";transport=tls"
	media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	caller.send("INVITE", 1, "Content-Type: application/sdp\r\n", avpOffer(media.LocalAddr().(*net.UDPAddr).Port))
	ok := caller.until(200, 3*time.Second)
	if contact := first(ok.headers["contact"]); !strings.Contains(contact, "<sip:hushphone@"+tlsAddr+";transport=tls>") {
		t.Fatalf("the 200's Contact is %q, want sip: at %s with transport=tls", contact, tlsAddr)
	}
	caller.send("ACK", 1, "", "")
	call := <-calls
	caller.send("BYE", 2, "", "")
	caller.until(200, 3*time.Second)
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the caller's BYE over TLS did not end the call")
	}
}
