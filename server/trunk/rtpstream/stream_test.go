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
)

var loopback = netip.MustParseAddr("127.0.0.1")

func TestIsRTCP(t *testing.T) {
	rr, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !IsRTCP(rr) {
		t.Error("an RR is not RTCP")
	}
	audio := rtpPacket(t, 0, make([]byte, 160))
	event := rtpPacket(t, 101, make([]byte, 4))
	if IsRTCP(audio) || IsRTCP(event) || IsRTCP([]byte{0x80}) {
		t.Error("RTP taken for RTCP")
	}
}

func rtpPacket(t *testing.T, pt uint8, payload []byte) []byte {
	t.Helper()
	b, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: 1, SSRC: 1}, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// peer is the far end: an RTP socket and, unless muxed, an RTCP one.
func peer(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func addr(c *net.UDPConn) netip.AddrPort {
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

type datagram struct {
	rtcp bool
	b    []byte
	from netip.AddrPort
}

// TestPlain: what is written arrives as it is, from the RTP port (RTP, and
// muxed RTCP) or the port above (RTCP); what arrives is handed on as RTP
// or RTCP, told apart on a muxed port; Receive returns when its context
// ends, and Close releases the ports.
func TestPlain(t *testing.T) {
	for _, mux := range []bool{false, true} {
		name := "pair"
		if mux {
			name = "mux"
		}
		t.Run(name, func(t *testing.T) {
			s, err := Listen(Ports{IP: loopback}, mux)
			if err != nil {
				t.Fatal(err)
			}
			local := s.LocalAddr()
			if local.Addr() != loopback || local.Port() == 0 || !mux && local.Port()%2 != 0 {
				t.Fatalf("local address %v", local)
			}
			far := peer(t)
			got := make(chan datagram, 8)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- s.Receive(ctx,
					func(b []byte, from netip.AddrPort) { got <- datagram{false, bytes.Clone(b), from} },
					func(b []byte, from netip.AddrPort) { got <- datagram{true, bytes.Clone(b), from} })
			}()

			// Out: RTP from the RTP port, RTCP from the one above unless muxed.
			h := rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 7, Timestamp: 160, SSRC: 42, Marker: true}
			if err := s.WriteRTP(&h, []byte{1, 2, 3}, addr(far)); err != nil {
				t.Fatal(err)
			}
			sr, _ := rtcp.Marshal([]rtcp.Packet{&rtcp.SenderReport{SSRC: 42}})
			if err := s.WriteRTCP(sr, addr(far)); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 1500)
			_ = far.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, from, err := far.ReadFromUDPAddrPort(buf)
			if err != nil {
				t.Fatal(err)
			}
			var p rtp.Packet
			if err := p.Unmarshal(buf[:n]); err != nil || p.SSRC != 42 || p.SequenceNumber != 7 || !p.Marker || !bytes.Equal(p.Payload, []byte{1, 2, 3}) {
				t.Fatalf("RTP out: %v %+v", err, p)
			}
			if from.Port() != local.Port() {
				t.Fatalf("RTP from port %d, want %d", from.Port(), local.Port())
			}
			n, from, err = far.ReadFromUDPAddrPort(buf)
			if err != nil || !bytes.Equal(buf[:n], sr) {
				t.Fatalf("RTCP out: %v %x", err, buf[:n])
			}
			if want := local.Port() + 1; mux {
				if from.Port() != local.Port() {
					t.Fatalf("muxed RTCP from port %d, want %d", from.Port(), local.Port())
				}
			} else if from.Port() != want {
				t.Fatalf("RTCP from port %d, want %d", from.Port(), want)
			}

			// In: RTP and RTCP, to the RTCP port unless muxed.
			audio := rtpPacket(t, 0, make([]byte, 160))
			if _, err := far.WriteToUDPAddrPort(audio, local); err != nil {
				t.Fatal(err)
			}
			rtcpTo := local
			if !mux {
				rtcpTo = netip.AddrPortFrom(local.Addr(), local.Port()+1)
			}
			if _, err := far.WriteToUDPAddrPort(sr, rtcpTo); err != nil {
				t.Fatal(err)
			}
			seen := map[bool][]byte{}
			for range 2 {
				select {
				case d := <-got:
					if d.from != addr(far) {
						t.Fatalf("from %v, want %v", d.from, addr(far))
					}
					seen[d.rtcp] = d.b
				case <-time.After(2 * time.Second):
					t.Fatal("nothing received")
				}
			}
			if !bytes.Equal(seen[false], audio) || !bytes.Equal(seen[true], sr) {
				t.Fatalf("received RTP %x and RTCP %x", seen[false], seen[true])
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Receive: %v", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("Receive did not return")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteRTP(&h, nil, addr(far)); !errors.Is(err, ErrSend) {
				t.Fatalf("WriteRTP after Close: %v, want ErrSend", err)
			}
		})
	}
}

// TestWriteRTPAllocs: the per-packet path allocates nothing.
func TestWriteRTPAllocs(t *testing.T) {
	s, err := Listen(Ports{IP: loopback}, true)
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
		t.Fatalf("%v allocations a packet", n)
	}
}

func BenchmarkWriteRTP(b *testing.B) {
	s, err := Listen(Ports{IP: loopback}, true)
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
