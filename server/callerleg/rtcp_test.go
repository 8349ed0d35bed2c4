package callerleg

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func marshal(t *testing.T, pkts ...rtcp.Packet) []byte {
	t.Helper()
	b, err := rtcp.Marshal(pkts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReceptionReport: ten packets sent, two of them lost; the report block
// counts them, for the interval and in all, and the next interval starts
// afresh.
func TestReceptionReport(t *testing.T) {
	r := newRig(t)
	now := time.Unix(1700000000, 0)
	if _, ok := r.leg.ReceptionReport(now); ok {
		t.Fatal("a report before any audio")
	}
	for i := range 10 {
		if i == 3 || i == 7 {
			continue
		}
		_ = r.leg.Packet(caller, packet(t, 0, uint16(65530+i), uint32(i*160), 0xCA11, silence(160)), now.Add(time.Duration(i)*20*time.Millisecond))
	}
	rr, ok := r.leg.ReceptionReport(now)
	if !ok || rr.SSRC != 0xCA11 || rr.TotalLost != 2 || rr.FractionLost != 2*256/10 || rr.LastSequenceNumber != 1<<16+3 || rr.LastSenderReport != 0 {
		t.Fatalf("report %+v", rr)
	}
	_ = r.leg.Packet(caller, packet(t, 0, 4, 10*160, 0xCA11, silence(160)), now)
	if rr, _ = r.leg.ReceptionReport(now); rr.FractionLost != 0 || rr.TotalLost != 2 {
		t.Fatalf("second interval: %+v", rr)
	}
	if s := r.leg.Stats(); s.SSRC != 0xCA11 {
		t.Fatalf("stats %+v", s)
	}
}

// TestRTCPFromTheCaller: the caller's sender report comes back in our
// report block (LSR, DLSR); its report of our stream gives the round trip;
// a BYE is noted; junk is counted and ends nothing.
func TestRTCPFromTheCaller(t *testing.T) {
	r := newRig(t)
	const ours = 0x0055
	t0 := time.Unix(1700000000, 250_000_000)
	_ = r.leg.Packet(caller, packet(t, 0, 1, 0, 0xCA11, silence(160)), t0)
	sr := &rtcp.SenderReport{SSRC: 0xCA11, NTPTime: NTP(t0), RTPTime: 0, PacketCount: 1, OctetCount: 160}
	if err := r.leg.RTCP(marshal(t, sr), t0.Add(10*time.Millisecond), ours); err != nil {
		t.Fatal(err)
	}
	rb, _ := r.leg.ReceptionReport(t0.Add(510 * time.Millisecond))
	if rb.LastSenderReport != uint32(NTP(t0)>>16) || rb.Delay != 65536/2 {
		t.Fatalf("LSR %x DLSR %d, want %x and 32768", rb.LastSenderReport, rb.Delay, uint32(NTP(t0)>>16))
	}
	// We sent an SR at t1; the caller held it 100 ms and its report
	// arrives 150 ms after t1: 50 ms round trip.
	t1 := t0.Add(2 * time.Second)
	rep := &rtcp.ReceiverReport{SSRC: 0xCA11, Reports: []rtcp.ReceptionReport{
		{SSRC: 0x9999, LastSenderReport: 1, Delay: 1}, // another stream's: ignored
		{SSRC: ours, LastSenderReport: uint32(NTP(t1) >> 16), Delay: 65536 / 10},
	}}
	if err := r.leg.RTCP(marshal(t, rep, &rtcp.Goodbye{Sources: []uint32{0xCA11}}), t1.Add(150*time.Millisecond), ours); err != nil {
		t.Fatal(err)
	}
	s := r.leg.Stats()
	if d := s.RTT - 50*time.Millisecond; d < -time.Millisecond || d > time.Millisecond || !s.RTCPBye || s.RTCPReceived != 2 {
		t.Fatalf("stats %+v, want RTT 50 ms, a BYE, 2 received", s)
	}
	for _, junk := range [][]byte{nil, {0x80, 200}, []byte("not RTCP at all, just text"), {0x81, 201, 0, 7, 1, 2, 3, 4}} {
		if err := r.leg.RTCP(junk, t1, ours); !errors.Is(err, ErrRTCP) {
			t.Errorf("junk %q: %v", junk, err)
		}
	}
	if s := r.leg.Stats(); s.RTCPMalformed != 4 || s.RTCPReceived != 2 {
		t.Fatalf("stats %+v, want 4 malformed", s)
	}
}

func FuzzRTCP(f *testing.F) {
	f.Add([]byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x81, 203, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newRig(t)
		if err := r.leg.RTCP(b, time.Unix(1700000000, 0), 1); err != nil && !errors.Is(err, ErrRTCP) {
			t.Fatalf("error of no kind: %v", err)
		}
		_, _ = r.leg.ReceptionReport(time.Unix(1700000001, 0))
	})
}
