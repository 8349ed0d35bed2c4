package trunk

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/server/callerleg"
)

// onlyLoopbackOne is the allow list of the attacks: 127.0.0.1 may
// call, 127.0.0.2 (the stranger's address) may not.
var onlyLoopbackOne = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

// sipPeer is a SIP endpoint by hand over UDP, bound to a chosen loopback
// address, that sends whatever requests a test builds (any Call-ID, tags
// and headers) and reads what comes back, requests included.
type sipPeer struct {
	t      *testing.T
	conn   *net.UDPConn
	server *net.UDPAddr
	addr   string // the server's SIP address, HOST:PORT
	media  *net.UDPConn
	queue  []sipMsg // read while waiting for something else
}

// dialogIDs are what puts a request in a dialog.
type dialogIDs struct {
	callID, fromTag, toTag string
}

// sipMsg is one message read: a response (code set) or a request
// (method set), with its headers (lower-case names) and body.
type sipMsg struct {
	code    int
	method  string
	headers map[string][]string
	body    string
	raw     string
}

func (m sipMsg) header(name string) string {
	if v := m.headers[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// sdpField is the value of the SDP body's first line starting with prefix.
func (m sipMsg) sdpField(prefix string) string {
	for _, line := range strings.Split(m.body, "\r\n") {
		if strings.HasPrefix(line, prefix) {
			return strings.TrimPrefix(line, prefix)
		}
	}
	return ""
}

func newPeer(t *testing.T, ip, server string) *sipPeer {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("binding %s: %v", ip, err)
	}
	media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(); _ = media.Close() })
	return &sipPeer{t: t, conn: conn, server: raddr, addr: server, media: media}
}

// offer is a PCMU and telephone-event 0-15 offer for the peer's media
// socket, with extra lines.
func (p *sipPeer) offer(extra string) string {
	a := p.media.LocalAddr().(*net.UDPAddr)
	return "v=0\r\no=- 1 1 IN IP4 " + a.IP.String() + "\r\ns=-\r\nc=IN IP4 " + a.IP.String() + "\r\nt=0 0\r\nm=audio " + strconv.Itoa(a.Port) +
		" RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" + extra
}

// send writes one request in d.
func (p *sipPeer) send(method string, d dialogIDs, cseq int, headers, body string) {
	p.t.Helper()
	local := p.conn.LocalAddr().String()
	cseqMethod := method
	to := "<sip:hushphone@" + p.addr + ">"
	if d.toTag != "" {
		to += ";tag=" + d.toTag
	}
	from := "<sip:0123456789@" + local + ">"
	if d.fromTag != "" {
		from += ";tag=" + d.fromTag
	}
	msg := method + " sip:hushphone@" + p.addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "\r\n" +
		"From: " + from + "\r\nTo: " + to + "\r\nCall-ID: " + d.callID + "\r\n" +
		"CSeq: " + strconv.Itoa(cseq) + " " + cseqMethod + "\r\n" +
		"Contact: <sip:0123456789@" + local + ">\r\nMax-Forwards: 70\r\n" +
		headers + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := p.conn.WriteToUDP([]byte(msg), p.server); err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next message, within timeout (ok false on none).
func (p *sipPeer) next(timeout time.Duration) (sipMsg, bool) {
	if len(p.queue) > 0 {
		m := p.queue[0]
		p.queue = p.queue[1:]
		return m, true
	}
	buf := make([]byte, 8192)
	_ = p.conn.SetReadDeadline(time.Now().Add(timeout))
	n, err := p.conn.Read(buf)
	if err != nil {
		return sipMsg{}, false
	}
	return parseSIP(string(buf[:n])), true
}

func parseSIP(raw string) sipMsg {
	head, body, _ := strings.Cut(raw, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	m := sipMsg{headers: map[string][]string{}, body: body, raw: raw}
	if strings.HasPrefix(lines[0], "SIP/2.0 ") {
		m.code, _ = strconv.Atoi(strings.Fields(lines[0])[1])
	} else {
		m.method = strings.Fields(lines[0] + " ")[0]
	}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		k = strings.ToLower(strings.TrimSpace(k))
		m.headers[k] = append(m.headers[k], strings.TrimSpace(v))
	}
	return m
}

// final waits for the final response to the request with cseq and
// method, keeping any other message for next; it fails the test after
// timeout.
func (p *sipPeer) final(method string, cseq int, timeout time.Duration) sipMsg {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	var kept []sipMsg
	defer func() { p.queue = append(kept, p.queue...) }()
	want := strconv.Itoa(cseq) + " " + method
	for time.Now().Before(deadline) {
		m, ok := p.next(time.Until(deadline))
		if !ok {
			break
		}
		if m.code >= 200 && m.header("cseq") == want {
			return m
		}
		if m.code == 0 || m.header("cseq") != want {
			kept = append(kept, m)
		}
	}
	p.t.Fatalf("no final response to %s %d within %v", method, cseq, timeout)
	return sipMsg{}
}

// do sends a request and returns its final response.
func (p *sipPeer) do(method string, d dialogIDs, cseq int, headers, body string) sipMsg {
	p.t.Helper()
	p.send(method, d, cseq, headers, body)
	return p.final(method, cseq, 3*time.Second)
}

// request waits for a request of method from the server, within timeout,
// keeping other messages; ok false if none came.
func (p *sipPeer) request(method string, timeout time.Duration) (sipMsg, bool) {
	deadline := time.Now().Add(timeout)
	var kept []sipMsg
	defer func() { p.queue = append(kept, p.queue...) }()
	for time.Now().Before(deadline) {
		m, ok := p.next(time.Until(deadline))
		if !ok {
			return sipMsg{}, false
		}
		if m.method == method {
			return m, true
		}
		if m.code == 0 { // another request: keep it
			kept = append(kept, m)
		}
	}
	return sipMsg{}, false
}

// reply answers a request from the server with code (and extra headers).
func (p *sipPeer) reply(req sipMsg, code int, headers string) {
	p.t.Helper()
	var b strings.Builder
	b.WriteString("SIP/2.0 " + strconv.Itoa(code) + " Whatever\r\n")
	for _, h := range []string{"via", "from", "to", "call-id", "cseq"} {
		for _, v := range req.headers[h] {
			b.WriteString(h + ": " + v + "\r\n")
		}
	}
	b.WriteString("Contact: <sip:0123456789@" + p.conn.LocalAddr().String() + ">\r\n" + headers + "Content-Length: 0\r\n\r\n")
	if _, err := p.conn.WriteToUDP([]byte(b.String()), p.server); err != nil {
		p.t.Fatal(err)
	}
}

// call makes a call from the peer that the trunk answers: INVITE (with
// extra headers), its 200 and the ACK. It returns the dialog and the 200.
func (p *sipPeer) call(headers string) (dialogIDs, sipMsg) {
	p.t.Helper()
	d := dialogIDs{callID: "peer-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@test", fromTag: "caller"}
	ok := p.do("INVITE", d, 1, "Content-Type: application/sdp\r\n"+headers, p.offer(""))
	if ok.code != 200 {
		p.t.Fatalf("INVITE answered %d:\n%s", ok.code, ok.raw)
	}
	d.toTag = tagOf(ok.header("to"))
	p.send("ACK", d, 1, "", "")
	return d, ok
}

// tagOf is a From or To value's tag.
func tagOf(v string) string {
	_, t, ok := strings.Cut(v, ";tag=")
	if !ok {
		return ""
	}
	t, _, _ = strings.Cut(t, ";")
	return t
}

// serverRTP is where an answer's SDP wants our RTP.
func serverRTP(t *testing.T, answer sipMsg) *net.UDPAddr {
	t.Helper()
	port, err := strconv.Atoi(strings.Fields(answer.sdpField("m=audio "))[0])
	if err != nil {
		t.Fatalf("no RTP port in %q", answer.body)
	}
	return &net.UDPAddr{IP: net.ParseIP(answer.sdpField("c=IN IP4 ")), Port: port}
}

// sendRTP sends n packets of mu-law silence, 20 ms apart, from the peer's
// media socket to to, from sequence number seq.
func (p *sipPeer) sendRTP(to *net.UDPAddr, seq, n int) {
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 0xca11}, Payload: make([]byte, 160)}
	for i := range pkt.Payload {
		pkt.Payload[i] = 0xff
	}
	for i := range n {
		pkt.SequenceNumber, pkt.Timestamp = uint16(seq+i), uint32((seq+i)*160)
		b, _ := pkt.Marshal()
		_, _ = p.media.WriteToUDP(b, to)
		time.Sleep(20 * time.Millisecond)
	}
}

// counts is a Metrics that keeps the trunk's refusals.
type counts struct {
	mu                      sync.Mutex
	refused, strangers, cut map[string]int
	offered, ended          int
}

func newCounts() *counts {
	return &counts{refused: map[string]int{}, strangers: map[string]int{}, cut: map[string]int{}}
}

func (c *counts) CallOffered()               { c.mu.Lock(); c.offered++; c.mu.Unlock() }
func (c *counts) CallEnded(callerleg.Stats)  { c.mu.Lock(); c.ended++; c.mu.Unlock() }
func (c *counts) AddedLatency(time.Duration) {}
func (c *counts) SIPRefused(method, reason string) {
	c.mu.Lock()
	c.refused[method+" "+reason]++
	c.mu.Unlock()
}
func (c *counts) RTPStranger(kind string) { c.mu.Lock(); c.strangers[kind]++; c.mu.Unlock() }
func (c *counts) CallCut(reason string)   { c.mu.Lock(); c.cut[reason]++; c.mu.Unlock() }

func (c *counts) get(m map[string]int, k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return m[k]
}
