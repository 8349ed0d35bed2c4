package callerleg

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/rtcp"
)

// ErrRTCP is returned for an RTCP datagram that does not parse. It ends
// nothing: the datagram is counted and dropped.
var ErrRTCP = errors.New("callerleg: not an RTCP packet")

// ntp is t as a 64-bit NTP timestamp.
func ntp(t time.Time) uint64 {
	const epochOffset = 2208988800 // 1900 to 1970, in seconds
	sec := uint64(t.Unix()) + epochOffset
	frac := uint64(t.Nanosecond()) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

// NTP is t as a 64-bit NTP timestamp, for sender reports.
func NTP(t time.Time) uint64 { return ntp(t) }

// RTCP takes one RTCP datagram from the caller, received at arrival; ours
// is the SSRC of the stream we send the caller, whose reception reports give
// the round-trip time. Sender reports are kept for our receiver reports'
// LSR and DLSR; a BYE is noted. Junk is counted in Stats and returned as an
// error that ends nothing.
func (l *Leg) RTCP(b []byte, arrival time.Time, ours uint32) error {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		l.stats.RTCPMalformed++
		return fmt.Errorf("%w: %w", ErrRTCP, err)
	}
	l.stats.RTCPReceived++
	for _, p := range pkts {
		var reports []rtcp.ReceptionReport
		switch p := p.(type) {
		case *rtcp.SenderReport:
			l.lastSR, l.lastSRAt = uint32(p.NTPTime>>16), arrival
			reports = p.Reports
		case *rtcp.ReceiverReport:
			reports = p.Reports
		case *rtcp.Goodbye:
			l.stats.RTCPBye = true
		}
		for _, r := range reports {
			if r.SSRC != ours || r.LastSenderReport == 0 {
				continue
			}
			// RFC 3550 6.4.1: arrival - LSR - DLSR, in 1/65536 s.
			a := uint32(ntp(arrival) >> 16)
			rtt := int64(int32(a - r.LastSenderReport - r.Delay))
			if rtt >= 0 {
				l.stats.RTT = time.Duration(rtt * int64(time.Second) >> 16)
			}
		}
	}
	return nil
}

// ReceptionReport is the report block for the caller's stream, as of now,
// for our next RTCP report (RFC 3550 6.4.1 and A.3); false before any of
// the caller's audio. Each call starts a new interval for the fraction
// lost.
func (l *Leg) ReceptionReport(now time.Time) (rtcp.ReceptionReport, bool) {
	if !l.started {
		return rtcp.ReceptionReport{}, false
	}
	extMax := l.cycles + uint32(l.maxSeq)
	expected := int64(extMax) - int64(l.baseSeq) + 1
	lost := expected - l.received
	expInt, recInt := expected-l.expectedPrior, l.received-l.receivedPrior
	l.expectedPrior, l.receivedPrior = expected, l.received
	var fraction uint8
	if lostInt := expInt - recInt; expInt > 0 && lostInt > 0 {
		fraction = uint8(min(lostInt<<8/expInt, 255))
	}
	r := rtcp.ReceptionReport{
		SSRC:               l.ssrc,
		FractionLost:       fraction,
		TotalLost:          uint32(max(min(lost, 0x7fffff), 0)),
		LastSequenceNumber: extMax,
		Jitter:             uint32(l.jitter >> 4),
	}
	if !l.lastSRAt.IsZero() {
		r.LastSenderReport = l.lastSR
		r.Delay = uint32(now.Sub(l.lastSRAt) * 65536 / time.Second)
	}
	return r, true
}
