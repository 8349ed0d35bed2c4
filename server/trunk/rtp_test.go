package trunk

import (
	"net"
	"net/netip"
	"testing"

	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/server/sdpneg"
	"github.com/hushphone/hushphone/server/trunk/rtpstream"
)

// sendingCall is an answered call's send side, on a plain Stream, sending
// to a socket of its own that the test owns.
func sendingCall(tb testing.TB) *Call {
	tb.Helper()
	loopback := netip.MustParseAddr("127.0.0.1")
	s, err := rtpstream.Listen(rtpstream.Ports{IP: loopback}, false)
	if err != nil {
		tb.Fatal(err)
	}
	far, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close(); _ = far.Close() })
	c := &Call{stream: s, started: true, Offer: sdpneg.Offer{Remote: far.LocalAddr().(*net.UDPAddr).AddrPort()}}
	c.send.Version = 2
	return c
}

// TestSendAllocs: the agent's voice goes to the caller through the call's
// Stream without allocating.
func TestSendAllocs(t *testing.T) {
	c := sendingCall(t)
	frame := make([]byte, mix.FrameSamples)
	if n := testing.AllocsPerRun(100, func() {
		if err := c.Send(frame); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations a frame", n)
	}
	if c.sentPkts != 101 || c.send.SequenceNumber != 101 || c.send.Timestamp != 101*mix.FrameSamples {
		t.Fatalf("%d packets sent, next sequence %d, timestamp %d", c.sentPkts, c.send.SequenceNumber, c.send.Timestamp)
	}
}

// BenchmarkSend is Call.Send, the agent's voice to the caller: one RTP
// packet through the call's Stream.
func BenchmarkSend(b *testing.B) {
	c := sendingCall(b)
	frame := make([]byte, mix.FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Send(frame); err != nil {
			b.Fatal(err)
		}
	}
}
