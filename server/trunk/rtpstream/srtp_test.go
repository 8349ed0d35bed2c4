package rtpstream

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

func testKeys(fill byte) Keys {
	return Keys{Profile: srtp.ProtectionProfileAes128CmHmacSha1_80, Master: bytes.Repeat([]byte{fill}, 30)}
}

// farContext is the far end's pion/srtp context for k.
func farContext(t testing.TB, k Keys) *srtp.Context {
	t.Helper()
	c, err := srtp.CreateContext(k.Master[:16], k.Master[16:], k.Profile, srtp.SRTPReplayProtection(64))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readFrom reads one datagram on c, within 2 s.
func readFrom(t *testing.T, c *net.UDPConn) ([]byte, netip.AddrPort) {
	t.Helper()
	buf := make([]byte, 1600)
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n], from
}

// TestSRTP: what is written goes out encrypted and authenticated (the far
// end's pion/srtp context opens it; the payload is not on the wire in
// clear); what arrives is handed on in clear once the far end's keys are
// set, and dropped and counted before, when altered, when replayed, when
// forged with another key, and when not SRTP at all. RTCP the same, on
// its own port or muxed.
func TestSRTP(t *testing.T) {
	for _, mux := range []bool{false, true} {
		name := "pair"
		if mux {
			name = "mux"
		}
		t.Run(name, func(t *testing.T) {
			p, err := Listen(Ports{IP: loopback}, mux)
			if err != nil {
				t.Fatal(err)
			}
			local, remote := testKeys(1), testKeys(2)
			s, err := NewSRTP(p, local)
			if err != nil {
				t.Fatal(err)
			}
			far := peer(t)
			farOpen, farSeal := farContext(t, local), farContext(t, remote)
			got := make(chan datagram, 16)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- s.Receive(ctx,
					func(b []byte, from netip.AddrPort) { got <- datagram{false, bytes.Clone(b), from} },
					func(b []byte, from netip.AddrPort) { got <- datagram{true, bytes.Clone(b), from} })
			}()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Receive: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Error(err)
				}
			}()

			// Out.
			payload := bytes.Repeat([]byte{0xd5, 0x55}, 80) // A-law silence: easy to spot
			h := rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 7, Timestamp: 160, SSRC: 42, Marker: true}
			if err := s.WriteRTP(&h, payload, addr(far)); err != nil {
				t.Fatal(err)
			}
			wire, _ := readFrom(t, far)
			if len(wire) != 12+len(payload)+10 || bytes.Contains(wire, payload[:16]) {
				t.Fatalf("RTP on the wire: %d bytes, %x", len(wire), wire)
			}
			opened, err := farOpen.DecryptRTP(nil, wire, nil)
			if err != nil {
				t.Fatal(err)
			}
			var pkt rtp.Packet
			if err := pkt.Unmarshal(opened); err != nil || pkt.SSRC != 42 || pkt.SequenceNumber != 7 || !pkt.Marker || !bytes.Equal(pkt.Payload, payload) {
				t.Fatalf("RTP out: %v %+v", err, pkt)
			}
			if h.SSRC != 42 || h.SequenceNumber != 7 {
				t.Fatalf("WriteRTP changed the header: %+v", h)
			}
			sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 42, NTPTime: 1 << 40}})
			srCopy := bytes.Clone(sr)
			if err := s.WriteRTCP(sr, addr(far)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(sr, srCopy) {
				t.Fatal("WriteRTCP changed its buffer")
			}
			wire, from := readFrom(t, far)
			if want := rtcpPort(p, mux); from.Port() != want {
				t.Fatalf("SRTCP from port %d, want %d", from.Port(), want)
			}
			if bytes.Equal(wire[8:len(sr)], sr[8:]) {
				t.Fatal("SRTCP sent in clear")
			}
			if opened, err := farOpen.DecryptRTCP(nil, wire, nil); err != nil || !bytes.Equal(opened, sr) {
				t.Fatalf("RTCP out: %v %x", err, opened)
			}

			// In.
			rtcpTo := p.local
			if !mux {
				rtcpTo = netip.AddrPortFrom(p.local.Addr(), p.local.Port()+1)
			}
			send := func(b []byte, to netip.AddrPort) {
				t.Helper()
				if _, err := far.WriteToUDPAddrPort(b, to); err != nil {
					t.Fatal(err)
				}
			}
			seal := func(c *srtp.Context, seq uint16) (plain, sealed []byte) {
				t.Helper()
				plain = rtpPacket(t, 0, bytes.Repeat([]byte{byte(seq)}, 160))
				plain[2], plain[3] = byte(seq>>8), byte(seq)
				sealed, err := c.EncryptRTP(nil, plain, nil)
				if err != nil {
					t.Fatal(err)
				}
				return plain, sealed
			}
			// Before the far end's keys: dropped.
			_, early := seal(farSeal, 1)
			send(early, p.local)
			waitDropped(t, s, 1)
			if err := s.SetRemote(remote); err != nil {
				t.Fatal(err)
			}
			clear1, sealed1 := seal(farSeal, 2)
			send(sealed1, p.local)
			farSR, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 7}})
			sealedSR, err := farSeal.EncryptRTCP(nil, farSR, nil)
			if err != nil {
				t.Fatal(err)
			}
			send(sealedSR, rtcpTo)
			seen := map[bool][]byte{}
			for range 2 {
				select {
				case d := <-got:
					seen[d.rtcp] = d.b
				case <-time.After(2 * time.Second):
					t.Fatal("nothing received")
				}
			}
			if !bytes.Equal(seen[false], clear1) || !bytes.Equal(seen[true], farSR) {
				t.Fatalf("received RTP %x and RTCP %x", seen[false], seen[true])
			}

			// Altered (one payload bit), replayed, forged with another
			// key, not SRTP: each dropped and counted, none handed on.
			_, sealed3 := seal(farSeal, 3)
			sealed3[20] ^= 1
			send(sealed3, p.local)
			send(sealed1, p.local)
			_, forged := seal(farContext(t, testKeys(9)), 4)
			send(forged, p.local)
			send(rtpPacket(t, 0, make([]byte, 160)), p.local)
			tamperedSR := bytes.Clone(sealedSR)
			tamperedSR[10] ^= 1
			send(tamperedSR, rtcpTo)
			send(sealedSR, rtcpTo) // a replay
			waitDropped(t, s, 1+6)
			// The same keys again change nothing: the replay is still one.
			if err := s.SetRemote(remote); err != nil {
				t.Fatal(err)
			}
			send(sealed1, p.local)
			waitDropped(t, s, 1+6+1)
			clear5, sealed5 := seal(farSeal, 5)
			send(sealed5, p.local)
			select {
			case d := <-got:
				if d.rtcp || !bytes.Equal(d.b, clear5) {
					t.Fatalf("after the drops, got %x", d.b)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("a good packet after the drops was not handed on")
			}
			// New keys (a re-INVITE's): packets under them pass.
			renewed := testKeys(3)
			if err := s.SetRemote(renewed); err != nil {
				t.Fatal(err)
			}
			clear6, sealed6 := seal(farContext(t, renewed), 6)
			send(sealed6, p.local)
			select {
			case d := <-got:
				if !bytes.Equal(d.b, clear6) {
					t.Fatalf("under new keys, got %x", d.b)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("a packet under new keys was not handed on")
			}
			select {
			case d := <-got:
				t.Fatalf("handed on what should have been dropped: %x", d.b)
			default:
			}
		})
	}
}

// rtcpPort is the port SRTCP leaves from.
func rtcpPort(p *Plain, mux bool) uint16 {
	if mux {
		return p.local.Port()
	}
	return p.local.Port() + 1
}

func waitDropped(t *testing.T, s *SRTP, n uint64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for s.Dropped() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := s.Dropped(); got != n {
		t.Fatalf("%d packets dropped, want %d", got, n)
	}
}

func TestSRTPBadKeys(t *testing.T) {
	p, err := Listen(Ports{IP: loopback}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	for _, k := range []Keys{
		{Profile: srtp.ProtectionProfileAes128CmHmacSha1_80, Master: make([]byte, 29)},
		{Profile: srtp.ProtectionProfile(0x99), Master: make([]byte, 30)},
	} {
		if _, err := NewSRTP(p, k); !errors.Is(err, ErrKeys) {
			t.Errorf("%v: %v, want ErrKeys", k.Profile, err)
		}
	}
	s, err := NewSRTP(p, testKeys(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetRemote(Keys{Profile: srtp.ProtectionProfileAeadAes128Gcm, Master: make([]byte, 30)}); !errors.Is(err, ErrKeys) {
		t.Errorf("SetRemote with a short key: %v", err)
	}
}

// TestSRTPAllocs: encrypting and sending a packet allocates nothing, and
// neither does opening one that arrives.
func TestSRTPAllocs(t *testing.T) {
	p, err := Listen(Ports{IP: loopback}, true)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSRTP(p, testKeys(1))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	to := addr(peer(t))
	h := rtp.Header{Version: 2, SSRC: 1}
	frame := make([]byte, 160)
	if n := testing.AllocsPerRun(100, func() {
		h.SequenceNumber++
		if err := s.WriteRTP(&h, frame, to); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("WriteRTP: %v allocations a packet", n)
	}
	if err := s.SetRemote(testKeys(2)); err != nil {
		t.Fatal(err)
	}
	far := farContext(t, testKeys(2))
	sealed := make([][]byte, 200)
	for i := range sealed {
		plain := rtpPacket(t, 0, frame)
		plain[3] = byte(i)
		plain[2] = byte(i >> 8)
		if sealed[i], err = far.EncryptRTP(nil, plain, nil); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	if n := testing.AllocsPerRun(100, func() {
		if _, ok := s.openRTP(sealed[i]); !ok {
			t.Fatal("a good packet dropped")
		}
		i++
	}); n != 0 {
		t.Fatalf("opening a packet: %v allocations", n)
	}
}

func BenchmarkSRTPWriteRTP(b *testing.B) {
	p, err := Listen(Ports{IP: loopback}, true)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSRTP(p, testKeys(1))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	far, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = far.Close() }()
	to := addr(far)
	h := rtp.Header{Version: 2, SSRC: 1}
	frame := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		h.SequenceNumber++
		if err := s.WriteRTP(&h, frame, to); err != nil {
			b.Fatal(err)
		}
	}
}
