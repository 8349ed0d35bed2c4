package trunk

import (
	"bytes"
	"context"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
)

// rawCaller is a hand-driven SIP caller over UDP, for tests that read
// provisional responses and early media, which sipp does not keep.
type rawCaller struct {
	t      *testing.T
	sig    *net.UDPConn
	media  *net.UDPConn
	server string
	callID string
	toTag  string
	branch string
}

func newRawCaller(t *testing.T, server string, media *net.UDPConn) *rawCaller {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sig.Close() })
	if media == nil {
		if media, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = media.Close() })
	}
	return &rawCaller{t: t, sig: sig, media: media, server: server,
		callID: "raw-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@" + sig.LocalAddr().String()}
}

// offer is a PCMU (payload type 0) and telephone-event offer for the
// caller's media socket, with extra SDP lines appended.
func (c *rawCaller) offer(extra string) string {
	port := c.media.LocalAddr().(*net.UDPAddr).Port
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + strconv.Itoa(port) +
		" RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" + extra
}

func (c *rawCaller) send(method string, cseq int, headers, body string) {
	c.t.Helper()
	local := c.sig.LocalAddr().String()
	if method != "CANCEL" || c.branch == "" { // CANCEL is the INVITE's; ACK of a 2xx is its own
		c.branch = "z9hG4bK-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	msg := method + " sip:hushphone@" + c.server + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=" + c.branch + "\r\n" +
		"From: <sip:0123456789@" + local + ">;tag=caller\r\n" +
		"To: <sip:hushphone@" + c.server + ">" + c.toTag + "\r\n" +
		"Call-ID: " + c.callID + "\r\n" +
		"CSeq: " + strconv.Itoa(cseq) + " " + method + "\r\n" +
		"Contact: <sip:0123456789@" + local + ">\r\nMax-Forwards: 70\r\n" +
		headers + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := c.sig.Write([]byte(msg)); err != nil {
		c.t.Fatal(err)
	}
}

// sipResponse is a response's status, headers (lower-case names) and body.
type sipResponse struct {
	code    int
	headers map[string][]string
	body    string
}

// read returns the next SIP response, within timeout.
func (c *rawCaller) read(timeout time.Duration) sipResponse {
	c.t.Helper()
	buf := make([]byte, 8192)
	_ = c.sig.SetReadDeadline(time.Now().Add(timeout))
	n, err := c.sig.Read(buf)
	if err != nil {
		c.t.Fatalf("no SIP response: %v", err)
	}
	msg := string(buf[:n])
	head, body, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	var r sipResponse
	if _, err := fmtSscanf(lines[0], &r.code); err != nil {
		c.t.Fatalf("not a response: %q", msg)
	}
	r.headers, r.body = map[string][]string{}, body
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		k = strings.ToLower(strings.TrimSpace(k))
		r.headers[k] = append(r.headers[k], strings.TrimSpace(v))
		if k == "to" {
			if i := strings.Index(v, ";tag="); i >= 0 {
				c.toTag = strings.TrimSpace(v[i:])
			}
		}
	}
	return r
}

// until reads responses until one with code, failing on a final other.
func (c *rawCaller) until(code int, timeout time.Duration) sipResponse {
	c.t.Helper()
	for {
		r := c.read(timeout)
		if r.code == code {
			return r
		}
		if r.code >= 200 {
			c.t.Fatalf("got %d waiting for %d: %v", r.code, code, r.headers)
		}
	}
}

// goertzel is the power of freq in samples (8 kHz), normalised so that a
// sine of amplitude A at a bin's centre gives about (A/2)².
func goertzel(samples []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / 8000
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - coeff*s1*s2
	n := float64(len(samples))
	return p / (n * n)
}

// TestEarlyMediaRingback: with a ringback configured, Ring answers the
// INVITE with 183 and our SDP, and the caller hears the UK ringing tone
// (400+450 Hz, 0.4 on, 0.2 off, 0.4 on, 2 off, at -19 dBm0) over RTP until
// Answer; the 200 OK carries the same SDP, and the agent's voice follows on
// the same RTP stream with no tone after it.
func TestEarlyMediaRingback(t *testing.T) {
	t.Parallel() // a trunk, ports and peer of its own, and no log it reads
	answerNow := make(chan struct{})
	answeredErr := make(chan error, 1)
	addr, _, _ := startTrunkCfg(t, Config{Ringback: &RingbackUK}, func(_ *answered, c *Call) {
		if err := c.Ring(); err != nil {
			answeredErr <- err
			return
		}
		select {
		case <-answerNow:
		case <-c.Done():
			return
		}
		if err := c.Answer(func([]byte) {}, func(dtmf.Event) {}); err != nil {
			answeredErr <- err
			return
		}
		agent := bytes.Repeat([]byte{0x55}, 160)
		for range 10 {
			if err := c.Send(agent); err != nil {
				answeredErr <- err
				return
			}
		}
		answeredErr <- nil
	})
	caller := newRawCaller(t, addr, nil)
	caller.send("INVITE", 1, "Content-Type: application/sdp\r\n", caller.offer(""))
	progress := caller.until(183, 3*time.Second)
	if ct := progress.headers["content-type"]; len(ct) != 1 || ct[0] != "application/sdp" || !strings.Contains(progress.body, "m=audio ") {
		t.Fatalf("183 without our SDP: %v\n%s", progress.headers, progress.body)
	}

	// One whole cadence period (3 s, 150 frames), by RTP timestamp.
	const period = 150
	frames := make([][]byte, period)
	var p rtp.Packet
	buf := make([]byte, 1500)
	var ts0 uint32
	var ssrc uint32
	var lastSeq uint16
	have := 0
	for have < period {
		_ = caller.media.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := caller.media.Read(buf)
		if err != nil {
			t.Fatalf("ringback stopped after %d frames: %v", have, err)
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if ssrc == 0 {
			if !p.Marker {
				t.Errorf("the ringback's first packet has no marker bit")
			}
			ts0, ssrc = p.Timestamp, p.SSRC
		}
		if p.SSRC != ssrc || p.PayloadType != 0 || len(p.Payload) != 160 {
			t.Fatalf("ringback packet %+v", p.Header)
		}
		lastSeq = p.SequenceNumber
		i := int((p.Timestamp - ts0) / 160)
		if i >= period {
			break
		}
		if frames[i] == nil {
			have++
		}
		frames[i] = append([]byte(nil), p.Payload...)
	}
	pcm := make([]int16, 160)
	var onLevels []float64
	for i, f := range frames {
		if f == nil {
			t.Fatalf("frame %d missing", i)
		}
		g711.ULaw.Decode(pcm, f)
		var sum float64
		for _, x := range pcm {
			sum += float64(x) * float64(x)
		}
		rms := math.Sqrt(sum / 160)
		want := i < 20 || i >= 30 && i < 50 // 0.4 on, 0.2 off, 0.4 on, 2 off
		on := rms > 100
		if on != want {
			t.Fatalf("frame %d (at %d ms): tone %v, want %v (rms %.0f)", i, i*20, on, want, rms)
		}
		if !on {
			continue
		}
		onLevels = append(onLevels, 20*math.Log10(rms/dBm0RMS))
		p400, p450, p1k, p425 := goertzel(pcm, 400), goertzel(pcm, 450), goertzel(pcm, 1000), goertzel(pcm, 350)
		if p400 < 100*p1k || p450 < 100*p1k || p400 < 100*p425 || math.Abs(10*math.Log10(p400/p450)) > 1 {
			t.Fatalf("frame %d: power at 400 Hz %.0f, 450 Hz %.0f, 350 Hz %.0f, 1 kHz %.0f: not 400+450 Hz", i, p400, p450, p425, p1k)
		}
	}
	for _, l := range onLevels {
		if l < -20 || l > -18 {
			t.Fatalf("tone level %.2f dBm0, want -19 ± 1", l)
		}
	}
	t.Logf("ringback: %d tone frames at %.2f dBm0", len(onLevels), onLevels[0])

	close(answerNow)
	ok := caller.until(200, 3*time.Second)
	if ok.body != progress.body {
		t.Fatalf("the 200 OK's SDP differs from the 183's:\n%s\n---\n%s", ok.body, progress.body)
	}
	caller.send("ACK", 1, "", "")
	if err := <-answeredErr; err != nil {
		t.Fatal(err)
	}
	// Tone sent before Answer may still be queued; then the agent's ten
	// frames, on the same stream, and nothing else.
	agent := 0
	for agent < 10 {
		_ = caller.media.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := caller.media.Read(buf)
		if err != nil {
			t.Fatalf("after %d agent frames: %v", agent, err)
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			t.Fatal(err)
		}
		if p.SSRC != ssrc || p.SequenceNumber != lastSeq+1 {
			t.Fatalf("packet %+v does not follow the ringback's stream (SSRC %x, sequence %d)", p.Header, ssrc, lastSeq)
		}
		lastSeq = p.SequenceNumber
		isAgent := p.Payload[0] == 0x55
		if !isAgent && agent > 0 {
			t.Fatalf("ringback tone after the agent's voice began")
		}
		if isAgent {
			if p.Marker != (agent == 0) {
				t.Errorf("agent frame %d: marker %v", agent, p.Marker)
			}
			agent++
		}
	}
	caller.send("BYE", 2, "", "")
	caller.until(200, 3*time.Second)
}

func TestRingbackConfig(t *testing.T) {
	for _, name := range []string{"uk", "us"} {
		rb, on, err := RingbackByName(name)
		if err != nil || !on {
			t.Fatalf("%s: %v %v", name, on, err)
		}
		for _, law := range []g711.Law{g711.ULaw, g711.ALaw} {
			f, err := rb.frames(law)
			if err != nil || len(f)%160 != 0 {
				t.Fatalf("%s %v: %d bytes, %v", name, law, len(f), err)
			}
		}
	}
	if _, on, err := RingbackByName("off"); on || err != nil {
		t.Fatalf("off: %v %v", on, err)
	}
	if _, _, err := RingbackByName("fr"); err == nil {
		t.Fatal("an unknown tone name is accepted")
	}
	for _, bad := range []Ringback{
		{Freqs: [2]float64{400, 450}, Cadence: []time.Duration{30 * time.Millisecond}, Level: -19},
		{Freqs: [2]float64{400, 450}, Level: -19},
		{Freqs: [2]float64{400, 450}, Cadence: []time.Duration{time.Second}, Level: 3},
	} {
		if _, err := New(Config{Ringback: &bad, OnCall: func(*Call) {}}); err == nil {
			t.Errorf("ringback %+v accepted", bad)
		}
	}
}

// TestSippEarlyMedia: sipp, as a real caller, must get our 183 with SDP and
// then the 200 OK (sipptest's caller scenario), plays its audio and hangs
// up; the call is answered and masked as without early media.
func TestSippEarlyMedia(t *testing.T) {
	bin := sipptest.Sipp(t)
	addr, got, _ := startTrunkCfg(t, Config{Ringback: &RingbackUS}, autoAnswer)
	dir := t.TempDir()
	// The 183 is not optional here: sipp fails without it.
	scenario := bytes.Replace(sipptest.CallerScenario(500), []byte(`<recv response="183" optional="true"/>`), []byte(`<recv response="183"/>`), 1)
	if !bytes.Contains(scenario, []byte(`<recv response="183"/>`)) {
		t.Fatal("sipptest's caller scenario has no optional 183 to make mandatory")
	}
	if err := os.WriteFile(filepath.Join(dir, "caller.xml"), scenario, 0o600); err != nil {
		t.Fatal(err)
	}
	silence := bytes.Repeat([]byte{0xff}, 8000)
	if err := sipptest.WritePCAP(filepath.Join(dir, "caller.pcap"), silence); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-sf", "caller.xml", "-m", "1", "-i", "127.0.0.1", "-p", sipptest.FreePort(t),
		"-mp", sipptest.FreePort(t), "-timeout", "20s", "-timeout_error", "-nostdin", "-trace_err", addr)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second // a killed sipp's pipes must not hold the test
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp: %v\n%s", err, out)
	}
	got.mu.Lock()
	defer got.mu.Unlock()
	if len(got.calls) != 1 || got.frames == 0 {
		t.Fatalf("%d calls, %d masked frames", len(got.calls), got.frames)
	}
}
