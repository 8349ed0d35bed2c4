package trunk

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/server/callerleg"
	"github.com/hushphone/hushphone/server/sdpneg"
	"github.com/hushphone/hushphone/server/trunk/rtpstream"
)

// udpPair binds an even RTP port and the RTCP port above it on loopback.
func udpPair(t *testing.T) (rtpConn, rtcpConn *net.UDPConn) {
	t.Helper()
	for range 100 {
		r, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port := r.LocalAddr().(*net.UDPAddr).Port
		if port%2 == 0 {
			c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port + 1})
			if err == nil {
				t.Cleanup(func() { _ = r.Close(); _ = c.Close() })
				return r, c
			}
		}
		_ = r.Close()
	}
	t.Fatal("no port pair")
	return nil, nil
}

// TestRTCPReports: a caller with a real RTCP socket (the port above its
// RTP, or muxed on it) gets our sender reports, which parse with pion/rtcp
// and count what we sent, with a report of its stream that counts what it
// lost and echoes its sender report; its report of ours gives the round
// trip; junk and its BYE are counted; our BYE comes at the end.
func TestRTCPReports(t *testing.T) {
	for _, mux := range []bool{false, true} {
		t.Run("mux="+strconv.FormatBool(mux), func(t *testing.T) { testRTCP(t, mux) })
	}
}

func testRTCP(t *testing.T, mux bool) {
	const sent = 25
	answeredErr := make(chan error, 1)
	addr, got, _ := startTrunkCfg(t, Config{RTCPInterval: 100 * time.Millisecond}, func(_ *answered, c *Call) {
		if err := c.Answer(func([]byte) {}, func(dtmf.Event) {}); err != nil {
			answeredErr <- err
			return
		}
		for range sent {
			if err := c.Send(make([]byte, 160)); err != nil {
				answeredErr <- err
				return
			}
		}
		answeredErr <- nil
	})
	media, ctl := udpPair(t)
	extra := ""
	if mux {
		ctl, extra = media, "a=rtcp-mux\r\n"
	}
	caller := newRawCaller(t, addr, media)
	caller.send("INVITE", 1, "Content-Type: application/sdp\r\n", caller.offer(extra))
	ok := caller.until(200, 3*time.Second)
	caller.send("ACK", 1, "", "")
	if err := <-answeredErr; err != nil {
		t.Fatal(err)
	}
	ans, err := sdpneg.Negotiate([]byte(ok.body))
	if err != nil {
		t.Fatalf("our answer: %v\n%s", err, ok.body)
	}
	server := ans.Remote
	if ans.RTCPMux != mux || !mux && (server.Port()%2 != 0 || !strings.Contains(ok.body, "a=rtcp:"+strconv.Itoa(int(server.Port())+1)+"\r\n")) {
		t.Fatalf("answer's RTCP (mux %v):\n%s", mux, ok.body)
	}
	got.mu.Lock()
	call := got.calls[0]
	got.mu.Unlock()

	// The caller's audio: 20 packets, 2 of them lost.
	const callerSSRC = 0xCA11
	for i := range 20 {
		if i == 5 || i == 6 {
			continue
		}
		p := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(100 + i), Timestamp: uint32(i * 160), SSRC: callerSSRC}, Payload: make([]byte, 160)}
		b, _ := p.Marshal()
		if _, err := media.WriteToUDP(b, net.UDPAddrFromAddrPort(server)); err != nil {
			t.Fatal(err)
		}
	}
	rtcpTo := net.UDPAddrFromAddrPort(ans.RTCPAddr())

	// next reads our RTCP until one compound packet satisfies want.
	var ourSSRC uint32
	next := func(what string, want func(pkts []rtcp.Packet, from netip.AddrPort) bool) []rtcp.Packet {
		t.Helper()
		buf := make([]byte, 1500)
		deadline := time.Now().Add(5 * time.Second)
		var last []rtcp.Packet
		for {
			_ = ctl.SetReadDeadline(deadline)
			n, from, err := ctl.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatalf("no RTCP with %s (last: %+v): %v", what, last, err)
			}
			if !rtpstream.IsRTCP(buf[:n]) {
				continue // our RTP, muxed
			}
			pkts, err := rtcp.Unmarshal(buf[:n])
			if err != nil {
				t.Fatalf("our RTCP does not parse: %v", err)
			}
			last = pkts
			if want(pkts, from) {
				return pkts
			}
		}
	}
	var sr *rtcp.SenderReport
	next("a sender report of 25 packets and 2 of the caller's lost", func(pkts []rtcp.Packet, from netip.AddrPort) bool {
		wantPort := server.Port() + 1
		if mux {
			wantPort = server.Port()
		}
		if from.Port() != wantPort {
			t.Fatalf("RTCP from port %d, want %d", from.Port(), wantPort)
		}
		s, ok := pkts[0].(*rtcp.SenderReport)
		if !ok || len(pkts) < 2 {
			return false
		}
		sdes, ok := pkts[1].(*rtcp.SourceDescription)
		if !ok || len(sdes.Chunks) != 1 || sdes.Chunks[0].Source != s.SSRC || len(sdes.Chunks[0].Items) == 0 ||
			sdes.Chunks[0].Items[0].Type != rtcp.SDESCNAME || sdes.Chunks[0].Items[0].Text == "" {
			t.Fatalf("no CNAME after the report: %+v", pkts[1])
		}
		if s.PacketCount != sent || s.OctetCount != sent*160 || len(s.Reports) != 1 {
			return false
		}
		r := s.Reports[0]
		if r.SSRC != callerSSRC || r.LastSequenceNumber != 119 || r.TotalLost != 2 {
			return false
		}
		sr, ourSSRC = s, s.SSRC
		return true
	})
	if d := time.Since(time.Unix(int64(sr.NTPTime>>32)-2208988800, 0)); d < -time.Second || d > 5*time.Second {
		t.Fatalf("sender report's NTP time is %v off", d)
	}
	t.Logf("sender report: %+v", sr)

	// The caller reports our stream (held 0 s) and sends its own SR, and
	// some junk.
	callerSR := &rtcp.SenderReport{SSRC: callerSSRC, NTPTime: callerleg.NTP(time.Now()), PacketCount: 18, OctetCount: 18 * 160,
		Reports: []rtcp.ReceptionReport{{SSRC: ourSSRC, LastSequenceNumber: 25, LastSenderReport: uint32(sr.NTPTime >> 16)}}}
	b, err := rtcp.Marshal([]rtcp.Packet{callerSR})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range [][]byte{{0x80, 200, 0xff, 0xff, 1, 2, 3, 4}, b} {
		if _, err := ctl.WriteToUDP(d, rtcpTo); err != nil {
			t.Fatal(err)
		}
	}
	next("the caller's LSR echoed", func(pkts []rtcp.Packet, _ netip.AddrPort) bool {
		var reports []rtcp.ReceptionReport
		switch p := pkts[0].(type) {
		case *rtcp.SenderReport:
			reports = p.Reports
		case *rtcp.ReceiverReport:
			reports = p.Reports
		}
		return len(reports) == 1 && reports[0].LastSenderReport == uint32(callerSR.NTPTime>>16) && reports[0].Delay < 65536*2
	})
	s := call.Stats()
	if s.RTT <= 0 || s.RTT > time.Second || s.RTCPReceived < 1 || s.RTCPMalformed < 1 || s.SSRC != callerSSRC {
		t.Fatalf("stats %+v: want a round trip under 1 s, the SR received, the junk counted", s)
	}
	t.Logf("caller leg: RTT %v, RTCP %d received, %d malformed", s.RTT, s.RTCPReceived, s.RTCPMalformed)

	bye, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.Goodbye{Sources: []uint32{callerSSRC}}})
	if _, err := ctl.WriteToUDP(bye, rtcpTo); err != nil {
		t.Fatal(err)
	}
	// The BYE is read by the call's RTCP goroutine: wait for it.
	for deadline := time.Now().Add(5 * time.Second); !call.Stats().RTCPBye; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the caller's RTCP BYE was not seen: %+v", call.Stats())
		}
	}
	caller.send("BYE", 2, "", "")
	next("our BYE", func(pkts []rtcp.Packet, _ netip.AddrPort) bool {
		g, ok := pkts[len(pkts)-1].(*rtcp.Goodbye)
		return ok && len(g.Sources) == 1 && g.Sources[0] == ourSSRC
	})
}
