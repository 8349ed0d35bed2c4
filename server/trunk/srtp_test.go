package trunk

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/server/sdpneg"
	"github.com/hushphone/hushphone/server/trunk/rtpstream"
)

// newKey is a fresh AES_CM_128 master key and salt.
func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, 30)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// savpOffer is an SRTP offer (PCMU and telephone-event) for media at
// port, with a suite we do not take first and then ours with key at tag 2.
func savpOffer(port int, key []byte) string {
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + strconv.Itoa(port) +
		" RTP/SAVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n" +
		"a=crypto:1 F8_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(key) + "\r\n" +
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(key) + "\r\n"
}

// avpOffer is the same over plain RTP.
func avpOffer(port int) string {
	return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio " + strconv.Itoa(port) +
		" RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
}

// srtpPeer is the caller's media over SRTP: a socket, the context that
// seals what it sends (its key) and the one that opens what it gets (the
// key in our answer).
type srtpPeer struct {
	t    *testing.T
	conn *net.UDPConn
	to   netip.AddrPort
	seal *srtp.Context
	open *srtp.Context
	seq  uint16
}

func ctxFor(t testing.TB, key []byte) *srtp.Context {
	t.Helper()
	c, err := srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80, srtp.SRTPReplayProtection(64))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// answerOf reads our SRTP answer: where our media is and our key.
func answerOf(t *testing.T, body string) sdpneg.Offer {
	t.Helper()
	a, err := sdpneg.NegotiateWith([]byte(body), sdpneg.SAVPOnly)
	if err != nil {
		t.Fatalf("our answer is not SRTP: %v\n%s", err, body)
	}
	return a
}

// packet seals one PCMU packet of payload.
func (p *srtpPeer) packet(payload []byte) []byte {
	p.t.Helper()
	p.seq++
	plain, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: p.seq, Timestamp: uint32(p.seq) * 160, SSRC: 0x1234}, Payload: payload}).Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	sealed, err := p.seal.EncryptRTP(nil, plain, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return sealed
}

func (p *srtpPeer) send(b []byte) {
	p.t.Helper()
	if _, err := p.conn.WriteToUDPAddrPort(b, p.to); err != nil {
		p.t.Fatal(err)
	}
}

// receive reads what we send until n packets open with the answer's key,
// and returns their payloads; it fails on anything it cannot open, and on
// a payload seen in clear on the wire.
func (p *srtpPeer) receive(n int, clearPayload []byte) [][]byte {
	p.t.Helper()
	var got [][]byte
	buf := make([]byte, 1500)
	for len(got) < n {
		_ = p.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		k, err := p.conn.Read(buf)
		if err != nil {
			p.t.Fatalf("%d of %d packets: %v", len(got), n, err)
		}
		if rtpstream.IsRTCP(buf[:k]) {
			continue
		}
		if bytes.Contains(buf[:k], clearPayload[:32]) {
			p.t.Fatalf("our RTP goes out in clear: %x", buf[:k])
		}
		opened, err := p.open.DecryptRTP(nil, buf[:k], nil)
		if err != nil {
			p.t.Fatalf("our packet does not open with the answer's key: %v", err)
		}
		var pkt rtp.Packet
		if err := pkt.Unmarshal(opened); err != nil {
			p.t.Fatal(err)
		}
		got = append(got, pkt.Payload)
	}
	return got
}

// keyForms are the ways a key could show in a log.
func keyForms(k []byte) []string {
	b64 := base64.StdEncoding.EncodeToString(k)
	return []string{b64, strings.TrimRight(b64, "="), b64[:16], hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)),
		strings.Trim(fmt.Sprintf("%d", k), "[]"), string(k)}
}

// TestSRTPCall: with the default policy an SRTP offer (RTP/SAVP with SDES
// keys) is answered with SRTP and a key of ours (before SRTP, it got 488).
// The caller's SRTP reaches the call's Masker in clear; what we send opens
// with our answer's key and is not on the wire in clear; a packet altered
// in flight, one replayed and one in plain RTP are dropped and counted,
// and reach nothing. A re-INVITE cannot turn the call into plain RTP
// (488, and the call goes on in SRTP); one with new keys is answered with
// ours and the new keys take over. Not one of the keys is in the log, at
// debug level.
func TestSRTPCall(t *testing.T) {
	var logBuf testkit.SyncBuffer
	log := slog.New(slog.NewJSONHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	calls := make(chan *Call, 1)
	var mu sync.Mutex
	frames := 0
	addr, _, _ := startTrunkCfg(t, Config{Logger: log}, func(_ *answered, c *Call) {
		if err := c.Answer(func([]byte) { mu.Lock(); frames++; mu.Unlock() }, func(dtmf.Event) {}); err != nil {
			t.Error(err)
		}
		calls <- c
	})
	caller := newRawCaller(t, addr, nil)
	callerKey := newKey(t)
	port := caller.media.LocalAddr().(*net.UDPAddr).Port
	caller.send("INVITE", 1, "Content-Type: application/sdp\r\n", savpOffer(port, callerKey))
	ok := caller.until(200, 3*time.Second)
	caller.send("ACK", 1, "", "")
	ans := answerOf(t, ok.body)
	if ans.Crypto.Tag != 2 || ans.Crypto.Suite != sdpneg.AESCM128HMACSHA180 {
		t.Fatalf("the answer's a=crypto: tag %d, %v; want tag 2 (the line we take), AES_CM_128_HMAC_SHA1_80\n%s", ans.Crypto.Tag, ans.Crypto.Suite, ok.body)
	}
	ourKey := append([]byte(nil), ans.Crypto.Key.Bytes()...)
	if bytes.Equal(ourKey, callerKey) {
		t.Fatal("we answered with the caller's own key")
	}
	call := <-calls
	peer := &srtpPeer{t: t, conn: caller.media, to: ans.Remote, seal: ctxFor(t, callerKey), open: ctxFor(t, ourKey)}

	// The caller's audio, through the Masker.
	tone := bytes.Repeat([]byte{0x17, 0x2f, 0x3c, 0x2f, 0x17, 0x97, 0xaf, 0xbc, 0xaf, 0x97}, 16)
	var first []byte
	for i := range 20 {
		b := peer.packet(tone)
		if i == 0 {
			first = b
		}
		peer.send(b)
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "the caller's 20 packets", func() bool { return legPackets(call) >= 20 })
	mu.Lock()
	heard := frames
	mu.Unlock()
	if heard < 10 {
		t.Fatalf("%d masked frames from 20 SRTP packets", heard)
	}
	// The agent's voice to the caller.
	voice := bytes.Repeat([]byte{0x55, 0xd5}, 80)
	for range 5 {
		if err := call.Send(voice); err != nil {
			t.Fatal(err)
		}
	}
	for _, got := range peer.receive(5, voice) {
		if !bytes.Equal(got, voice) {
			t.Fatalf("the caller got %x", got)
		}
	}

	// Altered, replayed, plain: dropped and counted, and nothing reaches
	// the leg.
	altered := peer.packet(tone)
	altered[30] ^= 0x40
	peer.send(altered)
	peer.send(first)
	plain, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 999, SSRC: 0x1234}, Payload: tone}).Marshal()
	peer.send(plain)
	s, isSRTP := call.stream.(*rtpstream.SRTP)
	if !isSRTP {
		t.Fatalf("the call's stream is a %T", call.stream)
	}
	waitFor(t, "three packets dropped", func() bool { return s.Dropped() >= 3 })
	time.Sleep(100 * time.Millisecond)
	if n := s.Dropped(); n != 3 {
		t.Fatalf("%d packets dropped, want 3", n)
	}
	if n := legPackets(call); n != 20 {
		t.Fatalf("the leg counts %d packets, want the 20 good ones", n)
	}

	// Re-INVITEs: plain RTP refused; the same keys and then new ones
	// answered with our key, the new keys taking over.
	reinvite := func(cseq int, body string) sipResponse {
		t.Helper()
		caller.send("INVITE", cseq, "Content-Type: application/sdp\r\n", body)
		for {
			r := caller.read(3 * time.Second)
			if r.code >= 200 {
				if r.code == 200 {
					caller.send("ACK", cseq, "", "")
				}
				return r
			}
		}
	}
	if r := reinvite(2, avpOffer(port)); r.code != 488 {
		t.Fatalf("re-INVITE to plain RTP: %d, want 488", r.code)
	}
	if r := reinvite(3, savpOffer(port, callerKey)); r.code != 200 || !bytes.Equal(answerOf(t, r.body).Crypto.Key.Bytes(), ourKey) {
		t.Fatalf("re-INVITE with the same keys: %d\n%s", r.code, r.body)
	}
	peer.send(first) // still a replay: the same keys kept what they had seen
	waitFor(t, "the replay dropped", func() bool { return s.Dropped() >= 4 })
	newCallerKey := newKey(t)
	if r := reinvite(4, savpOffer(port, newCallerKey)); r.code != 200 || !bytes.Equal(answerOf(t, r.body).Crypto.Key.Bytes(), ourKey) {
		t.Fatalf("re-INVITE with new keys: %d\n%s", r.code, r.body)
	}
	peer.seal = ctxFor(t, newCallerKey)
	peer.send(peer.packet(tone))
	waitFor(t, "a packet under the new keys", func() bool { return legPackets(call) >= 21 })
	peer.seal = ctxFor(t, callerKey) // the old keys no longer open
	peer.send(peer.packet(tone))
	waitFor(t, "a packet under the old keys dropped", func() bool { return s.Dropped() >= 5 })

	caller.send("BYE", 5, "", "")
	caller.until(200, 3*time.Second)
	select {
	case <-call.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the call did not end")
	}
	logged := logBuf.String()
	if !strings.Contains(logged, `"msg":"trunk: call's SRTP closed"`) || !strings.Contains(logged, `"dropped":5`) {
		t.Errorf("no record of the dropped packets in the log:\n%s", logged)
	}
	for name, k := range map[string][]byte{"the caller's key": callerKey, "the caller's new key": newCallerKey, "our key": ourKey} {
		for _, form := range keyForms(k) {
			if strings.Contains(logged, form) {
				t.Errorf("%s is in the log (as %q)", name, form)
			}
		}
	}
}

// legPackets counts every packet that reached the call's caller leg,
// whatever became of it.
func legPackets(c *Call) uint64 {
	s := c.Stats()
	return s.Received + s.Events + s.Late + s.Ignored + s.Malformed
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSRTPPolicy: off takes plain RTP only (an SRTP offer gets 488),
// optional both, required SRTP only (a plain offer gets 488). An offer the
// policy takes reaches OnCall, which here refuses it with 486.
func TestSRTPPolicy(t *testing.T) {
	media, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer media.Close()
	port := media.LocalAddr().(*net.UDPAddr).Port
	for _, c := range []struct {
		policy      SRTPPolicy
		plain, srtp int
	}{
		{SRTPOff, 486, 488},
		{SRTPOptional, 486, 486},
		{SRTPRequired, 488, 486},
	} {
		t.Run(c.policy.String(), func(t *testing.T) {
			addr, _, _ := startTrunkCfg(t, Config{SRTP: c.policy}, func(_ *answered, call *Call) { _ = call.Reject(486, "Busy Here") })
			if got := invite(t, addr, avpOffer(port)); got != c.plain {
				t.Errorf("plain RTP offer: %d, want %d", got, c.plain)
			}
			if got := invite(t, addr, savpOffer(port, newKey(t))); got != c.srtp {
				t.Errorf("SRTP offer: %d, want %d", got, c.srtp)
			}
		})
	}
	for _, s := range []string{"off", "optional", "required"} {
		if p, err := ParseSRTPPolicy(s); err != nil || p.String() != s {
			t.Errorf("ParseSRTPPolicy(%q): %v, %v", s, p, err)
		}
	}
	if _, err := ParseSRTPPolicy("on"); err == nil {
		t.Error("ParseSRTPPolicy(on) taken")
	}
}

// invite sends an INVITE with offer and returns its final status,
// acknowledging it (the ACK of a refusal is the INVITE's transaction's,
// with its branch).
func invite(t *testing.T, addr, offer string) int {
	t.Helper()
	caller := newRawCaller(t, addr, nil)
	caller.send("INVITE", 1, "Content-Type: application/sdp\r\n", offer)
	for {
		r := caller.read(3 * time.Second)
		if r.code < 200 {
			continue
		}
		if r.code >= 300 {
			local := caller.sig.LocalAddr().String()
			ack := "ACK sip:hushphone@" + addr + " SIP/2.0\r\nVia: SIP/2.0/UDP " + local + ";branch=" + caller.branch + "\r\n" +
				"From: <sip:0123456789@" + local + ">;tag=caller\r\nTo: <sip:hushphone@" + addr + ">" + caller.toTag + "\r\n" +
				"Call-ID: " + caller.callID + "\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
			if _, err := caller.sig.Write([]byte(ack)); err != nil {
				t.Fatal(err)
			}
		}
		return r.code
	}
}

// TestSRTPEarlyMedia: the 183's ringback is SRTP too, under the key the
// 183 (and then the 200) carries.
func TestSRTPEarlyMedia(t *testing.T) {
	t.Parallel() // a trunk, ports and peer of its own, and no log it reads
	addr, _, _ := startTrunkCfg(t, Config{Ringback: &RingbackUK}, func(_ *answered, c *Call) {
		_ = c.Ring()
		<-c.Done()
	})
	caller := newRawCaller(t, addr, nil)
	key := newKey(t)
	caller.send("INVITE", 1, "Content-Type: application/sdp\r\n", savpOffer(caller.media.LocalAddr().(*net.UDPAddr).Port, key))
	progress := caller.until(183, 3*time.Second)
	ans := answerOf(t, progress.body)
	peer := &srtpPeer{t: t, conn: caller.media, to: ans.Remote, seal: ctxFor(t, key), open: ctxFor(t, append([]byte(nil), ans.Crypto.Key.Bytes()...))}
	for _, p := range peer.receive(10, bytes.Repeat([]byte{0xff}, 32)) {
		if len(p) != 160 {
			t.Fatalf("ringback payload of %d bytes", len(p))
		}
	}
	caller.send("CANCEL", 1, "", "")
	caller.until(200, 3*time.Second)
}
