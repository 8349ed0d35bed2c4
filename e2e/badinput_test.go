package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
)

// ears is an agent's audio for this test: a tone out, everything heard
// kept.
type ears struct {
	mu    sync.Mutex
	i     int
	heard []int16
}

func (e *ears) Mic(f []int16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range f {
		f[k] = int16(agentAmp * math.Sin(2*math.Pi*agentHz*float64(e.i)/8000))
		e.i++
	}
}

func (e *ears) Speaker(f []int16) {
	e.mu.Lock()
	e.heard = append(e.heard, f...)
	e.mu.Unlock()
}
func (e *ears) CallStarted(string) {}
func (e *ears) CallEnded(string)   {}

func (e *ears) since(n int) []int16 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]int16(nil), e.heard[min(n, len(e.heard)):]...)
}

func (e *ears) len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.heard)
}

// sipRequest is a request from a raw socket, for junk and bad offers.
func sipRequest(method, callID, local, server, contentType, body string) []byte {
	return []byte(method + " sip:hushphone@" + server + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + callID + "\r\n" +
		"From: <sip:0123456789@" + local + ">;tag=junk\r\n" +
		"To: <sip:hushphone@" + server + ">\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 " + method + "\r\n" +
		"Contact: <sip:0123456789@" + local + ">\r\nMax-Forwards: 70\r\n" +
		"Content-Type: " + contentType + "\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// TestBadInputKeepsCallsGoing: while a call is in progress, the server is
// sent junk of every kind: datagrams and TCP streams that are not SIP, an
// INVITE with a malformed offer and one with only a codec we do not serve,
// loud RTP from a stranger to the call's media port, a wrong password, and
// junk on a WebSocket. Each gets its clear answer (400, 488, 401, the
// protocol's error codes) or is dropped; the call in progress carries on
// without a gap, the stranger's audio reaches no one, and a new call is
// taken afterwards.
func TestBadInputKeepsCallsGoing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddAgent(t, "bob", "bob-password")
	run := func(name string, audio engine.Audio) {
		a, err := engine.New(engine.Config{Server: srv.URL, User: name, Password: name + "-password", AutoAnswer: true, Audio: audio, Loopback: true})
		if err != nil {
			t.Fatal(err)
		}
		actx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(actx) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	annEars := &ears{}
	run("ann", annEars)
	srv.WaitAvailable(t, 1)
	caller := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)
	waitAudio(t, caller, "ann")
	heardFrom := annEars.len()

	// The barrage, while the caller listens.
	const listenFor = 4 * time.Second
	type heard struct {
		audio   []byte
		packets int
	}
	listened := make(chan heard, 1)
	go func() {
		a, n := caller.Listen(listenFor)
		listened <- heard{a, n}
	}()

	sip, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer sip.Close()
	server, err := net.ResolveUDPAddr("udp", srv.SIPAddr)
	if err != nil {
		t.Fatal(err)
	}
	local := sip.LocalAddr().String()
	send := func(b []byte) {
		if _, err := sip.WriteToUDP(b, server); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		junk := make([]byte, 1+rng.IntN(1400))
		for i := range junk {
			junk[i] = byte(rng.Uint32())
		}
		send(junk)
	}
	send([]byte("INVITE sip:x SIP/2.0\r\n\r\n"))
	send(bytes.Repeat([]byte("A"), 8000))
	badOffers := map[string][]byte{
		"bad-sdp": sipRequest("INVITE", "bad-sdp", local, srv.SIPAddr, "application/sdp", "v=0\r\nthis is not SDP\r\n"),
		"g729-only": sipRequest("INVITE", "g729-only", local, srv.SIPAddr, "application/sdp",
			"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"),
	}
	for _, b := range badOffers {
		send(b)
	}
	for _, junk := range []string{"\x00\x01\x02 not SIP at all\r\n\r\n", "INVITE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\nshort"} {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", srv.SIPAddr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write([]byte(junk))
		_ = c.Close()
	}

	// Loud 3 kHz from a stranger, at the call's media port.
	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	loud := make([]int16, 160)
	for i := range loud {
		loud[i] = int16(20000 * math.Sin(2*math.Pi*3000*float64(i)/8000))
	}
	payload := make([]byte, 160)
	g711.EncodeULawTo(payload, loud)
	for i := range 150 {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(i * 160), SSRC: 0xbad}, Payload: payload}
		b, _ := p.Marshal()
		_, _ = stranger.WriteToUDP(b, caller.ServerRTP())
		time.Sleep(5 * time.Millisecond)
	}

	// A wrong password, then junk on a WebSocket.
	body := strings.NewReader(`{"name":"bob","password":"Tr0ub4dor&3"}`)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/v1/session", body)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var refusal map[string]string
	_ = json.NewDecoder(res.Body).Decode(&refusal)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || refusal["error"] == "" || strings.Contains(refusal["error"], "Tr0ub4dor") {
		t.Errorf("wrong password: %d %v", res.StatusCode, refusal)
	}
	token := signIn(ctx, t, srv.URL, "bob", "bob-password")
	ws, wsRes, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/ws?token="+token, nil)
	if wsRes != nil && wsRes.Body != nil {
		_ = wsRes.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	codes := wsJunk(ctx, t, ws)
	if want := "bad_message bad_json unknown_type bad_request bad_json"; codes != want {
		t.Errorf("junk on the WebSocket got errors %q, want %q", codes, want)
	}
	_ = ws.Close(websocket.StatusNormalClosure, "")

	// The SIP refusals. The junk may have filled the server's socket
	// buffer, so the offers are sent again every 500 ms until answered,
	// as any SIP client does over UDP.
	got := map[string]string{}
	buf := make([]byte, 4096)
	until := time.Now().Add(5 * time.Second)
	for len(got) < 2 && time.Now().Before(until) {
		_ = sip.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := sip.Read(buf)
		if err != nil {
			for id, b := range badOffers {
				if got[id] == "" {
					send(b)
				}
			}
			continue
		}
		resp := string(buf[:n])
		code := strings.Fields(resp)[1]
		if code == "100" {
			continue
		}
		for _, id := range []string{"bad-sdp", "g729-only"} {
			if strings.Contains(resp, "Call-ID: "+id) {
				got[id] = code
			}
		}
	}
	if got["bad-sdp"] != "400" || got["g729-only"] != "488" {
		t.Errorf("SIP refusals %v, want bad-sdp 400 and g729-only 488", got)
	}

	// The call in progress never missed a beat.
	h := <-listened
	want := int(listenFor / (20 * time.Millisecond))
	if h.packets < want*9/10 {
		t.Errorf("during the junk the caller got %d of about %d packets from ann", h.packets, want)
	}
	if st := measureTone(decode(h.audio), agentHz); st.Level < dbfs(agentAmp)-1 || st.Longest < 3 {
		t.Errorf("ann's voice during the junk: %+v", st)
	}
	// The stranger's tone reached no one.
	if st := measureTone(annEars.since(heardFrom), 3000); st.Peak > -60 {
		t.Errorf("the stranger's 3 kHz reached ann at %.1f dBFS", st.Peak)
	}

	// And a new call is taken.
	run("bob", nil)
	srv.WaitAvailable(t, 1)
	second := sipptest.Dial(t, srv.SIPAddr, g711.ALaw, 15*time.Second)
	waitAudio(t, second, "bob")
	second.Hangup(t)
	caller.Hangup(t)
	t.Logf("during the junk: %d packets of %d to the caller, SIP refusals %v, WebSocket errors %s", h.packets, want, got, codes)
}

func decode(ulaw []byte) []int16 {
	pcm := make([]int16, len(ulaw))
	g711.DecodeULawTo(pcm, ulaw)
	return pcm
}

func signIn(ctx context.Context, t *testing.T, base, name, password string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"name": name, "password": password})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/session", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatalf("sign in %s: %d %v", name, res.StatusCode, err)
	}
	return out.Token
}

// wsJunk sends junk on a signalling WebSocket and returns the error codes
// it got back, then checks the connection still answers a ping.
func wsJunk(ctx context.Context, t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	sends := []struct {
		typ websocket.MessageType
		msg string
	}{
		{websocket.MessageBinary, "\x00\x01"},
		{websocket.MessageText, "{"},
		{websocket.MessageText, `{"type":"nope"}`},
		{websocket.MessageText, `{"type":"answer"}`},
		{websocket.MessageText, `{"type":"presence","status":7}`},
		{websocket.MessageText, `{"type":"ping","id":"still-there"}`},
	}
	for _, s := range sends {
		if err := ws.Write(ctx, s.typ, []byte(s.msg)); err != nil {
			t.Fatal(err)
		}
	}
	var codes []string
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("the WebSocket closed after junk: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		switch m["type"] {
		case "error":
			codes = append(codes, m["code"].(string))
		case "pong":
			return strings.Join(codes, " ")
		}
	}
}

// waitAudio waits (up to 10 s) until the caller gets a steady stream from
// the agent: 20 packets in 500 ms.
func waitAudio(t *testing.T, c *sipptest.Caller, agent string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, n := c.Listen(500 * time.Millisecond); n >= 20 {
			return
		}
	}
	t.Fatalf("the caller never got a steady stream from %s", agent)
}
