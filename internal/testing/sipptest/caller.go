package sipptest

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
)

// Caller is a bare SIP caller over UDP with a G.711 RTP socket, for tests
// that need what the server sends to the caller (sipp does not keep it).
// It sends 20 ms of silence every 20 ms, as a phone would, so the server
// latches onto its RTP address.
type Caller struct {
	Media *net.UDPConn
	PT    uint8 // the RTP payload type offered: 0 (PCMU) or 8 (PCMA)

	sig            *net.UDPConn
	server, callID string
	toTag          string
	cseq           int    // the last CSeq sent
	number         string // the request URI's user
	remoteMu       sync.Mutex
	remote         *net.UDPAddr // the server's RTP address
	stop           chan struct{}
	wg             sync.WaitGroup
}

// Dial calls sipAddr offering law (and telephone-event) and returns once
// the call is answered (200 OK, ACK sent), within timeout.
func Dial(t testing.TB, sipAddr string, law g711.Law, timeout time.Duration) *Caller {
	t.Helper()
	return DialNumber(t, sipAddr, "hushphone", law, timeout)
}

// DialNumber is Dial to number (the request URI's user: the number
// dialled, which picks the call's queue).
func DialNumber(t testing.TB, sipAddr, number string, law g711.Law, timeout time.Duration) *Caller {
	t.Helper()
	pt, name := uint8(0), "PCMU"
	if law == g711.ALaw {
		pt, name = 8, "PCMA"
	}
	media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	raddr, err := net.ResolveUDPAddr("udp", sipAddr)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		t.Fatal(err)
	}
	c := &Caller{Media: media, PT: pt, sig: sig, server: sipAddr, number: number, stop: make(chan struct{}),
		callID: "caller-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "@" + sig.LocalAddr().String()}
	t.Cleanup(c.Close)
	port := media.LocalAddr().(*net.UDPAddr).Port //nolint:forcetypeassert // a UDP socket's address
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + strconv.Itoa(port) +
		" RTP/AVP " + strconv.Itoa(int(pt)) + " 101\r\na=rtpmap:" + strconv.Itoa(int(pt)) + " " + name + "/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
	c.cseq = 1
	c.send(t, "INVITE", 1, "Content-Type: application/sdp\r\n", offer)
	buf := make([]byte, 4096)
	deadline := time.Now().Add(timeout)
	for {
		_ = sig.SetReadDeadline(deadline)
		n, err := sig.Read(buf)
		if err != nil {
			t.Fatalf("the call was not answered: %v", err)
		}
		resp := buf[:n]
		if !bytes.HasPrefix(resp, []byte("SIP/2.0 ")) || len(resp) < 12 {
			continue
		}
		code, _ := strconv.Atoi(string(resp[8:11]))
		if code < 200 {
			continue
		}
		if code != 200 {
			t.Fatalf("the call was refused: %s", firstLine(resp))
		}
		ip, rport := "", 0
		for _, line := range strings.Split(string(resp), "\r\n") {
			switch {
			case strings.HasPrefix(line, "To:"):
				if i := strings.Index(line, ";tag="); i >= 0 {
					c.toTag = line[i:]
				}
			case strings.HasPrefix(line, "c=IN IP4 "):
				ip = strings.TrimPrefix(line, "c=IN IP4 ")
			case strings.HasPrefix(line, "m=audio "):
				rport, _ = strconv.Atoi(strings.Fields(line)[1])
			}
		}
		if c.remote = (&net.UDPAddr{IP: net.ParseIP(ip), Port: rport}); c.remote.IP == nil || rport == 0 {
			t.Fatalf("no RTP address in the answer:\n%s", resp)
		}
		c.send(t, "ACK", 1, "", "")
		break
	}
	c.wg.Add(1)
	go c.speak()
	return c
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\r'); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

func (c *Caller) send(t testing.TB, method string, cseq int, headers, body string) {
	t.Helper()
	if err := c.write(method, cseq, headers, body); err != nil {
		t.Fatal(err)
	}
}

// CallID is the call's SIP Call-ID.
func (c *Caller) CallID() string { return c.callID }

// Info sends one key press as SIP INFO (application/dtmf-relay, 100 ms),
// as some trunks do; the server answers 200 (not waited for here). Not
// for use at the same time as the other requests.
func (c *Caller) Info(digit byte) error {
	c.cseq++
	return c.write("INFO", c.cseq, "Content-Type: application/dtmf-relay\r\n", "Signal="+string(digit)+"\r\nDuration=100\r\n")
}

func (c *Caller) write(method string, cseq int, headers, body string) error {
	local := c.sig.LocalAddr().String()
	msg := method + " sip:" + c.number + "@" + c.server + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "\r\n" +
		"From: <sip:0123456789@" + local + ">;tag=caller\r\n" +
		"To: <sip:" + c.number + "@" + c.server + ">" + c.toTag + "\r\n" +
		"Call-ID: " + c.callID + "\r\n" +
		"CSeq: " + strconv.Itoa(cseq) + " " + method + "\r\n" +
		"Contact: <sip:0123456789@" + local + ">\r\nMax-Forwards: 70\r\n" +
		headers + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := c.sig.Write([]byte(msg)); err != nil {
		return fmt.Errorf("sipptest: %s: %w", method, err)
	}
	return nil
}

// speak sends mu-law silence to the server's RTP address every 20 ms (the
// answer's, then where the server's packets come from).
func (c *Caller) speak() {
	defer c.wg.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	silence := make([]byte, mix.FrameSamples)
	law := g711.ULaw
	if c.PT == 8 {
		law = g711.ALaw
	}
	law.Encode(silence, make([]int16, mix.FrameSamples))
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: c.PT, SSRC: 0x5eed}, Payload: silence}
	for i := 0; ; i++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		c.remoteMu.Lock()
		to := c.remote
		c.remoteMu.Unlock()
		p.SequenceNumber, p.Timestamp = uint16(i), uint32(i*mix.FrameSamples)
		b, _ := p.Marshal()
		_, _ = c.Media.WriteToUDP(b, to)
	}
}

// Listen returns the audio (G.711 payloads, in arrival order) the server
// sends to the caller for d, and how many packets it was.
func (c *Caller) Listen(d time.Duration) (audio []byte, packets int) {
	buf := make([]byte, 1500)
	var p rtp.Packet
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		_ = c.Media.SetReadDeadline(end)
		n, from, err := c.Media.ReadFromUDP(buf)
		if err != nil {
			break
		}
		if p.Unmarshal(buf[:n]) != nil || p.PayloadType != c.PT {
			continue
		}
		c.remoteMu.Lock()
		c.remote = from
		c.remoteMu.Unlock()
		audio = append(audio, p.Payload...)
		packets++
	}
	return audio, packets
}

// ServerRTP is the address the server's RTP for this call comes from (its
// SDP answer's until a packet has come).
func (c *Caller) ServerRTP() *net.UDPAddr {
	c.remoteMu.Lock()
	defer c.remoteMu.Unlock()
	return c.remote
}

// ReInvite sends a re-INVITE in the call (the SDP body, none if empty) and
// returns the final response's code and text (ACKing a 2xx), within
// timeout.
func (c *Caller) ReInvite(t testing.TB, sdp string, timeout time.Duration) (int, string) {
	t.Helper()
	c.cseq++
	cseq := c.cseq
	headers := ""
	if sdp != "" {
		headers = "Content-Type: application/sdp\r\n"
	}
	c.send(t, "INVITE", cseq, headers, sdp)
	buf := make([]byte, 4096)
	deadline := time.Now().Add(timeout)
	for {
		_ = c.sig.SetReadDeadline(deadline)
		n, err := c.sig.Read(buf)
		if err != nil {
			t.Fatalf("no answer to the re-INVITE: %v", err)
		}
		resp := string(buf[:n])
		code, _ := strconv.Atoi(resp[min(8, len(resp)):min(11, len(resp))])
		if !strings.HasPrefix(resp, "SIP/2.0 ") || code < 200 || !strings.Contains(resp, "CSeq: "+strconv.Itoa(cseq)+" INVITE") {
			continue
		}
		if code < 300 {
			c.send(t, "ACK", cseq, "", "")
		}
		return code, resp
	}
}

// Hangup sends BYE.
func (c *Caller) Hangup(t testing.TB) {
	t.Helper()
	c.cseq++
	c.send(t, "BYE", c.cseq, "", "")
}

// Close stops the caller's audio and closes its sockets.
func (c *Caller) Close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.wg.Wait()
	_ = c.Media.Close()
	_ = c.sig.Close()
}
