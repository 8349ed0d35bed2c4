package trunk

// This file holds a call's RTCP (RFC 3550), beside its RTP: the caller's
// reports read into its caller leg, and ours (sender or receiver report,
// CNAME, BYE at the end) sent about every Config.RTCPInterval through the
// call's Stream.

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/pion/rtcp"

	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/server/callerleg"
)

// rtcpIn takes one datagram from the caller's RTCP port (or, muxed, its
// RTP port). Before Answer there is no leg to report on, and it is
// dropped; from anyone but the caller (rtcpFromCaller) it is dropped and
// counted.
func (c *Call) rtcpIn(b []byte, from netip.AddrPort) {
	c.sendMu.Lock()
	ours := c.send.SSRC
	c.sendMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leg == nil {
		return
	}
	if !c.rtcpFromCaller(from) {
		if m := c.t.cfg.Metrics; m != nil {
			m.RTPStranger("rtcp")
		}
		return
	}
	// Junk is counted in the leg's stats.
	if err := c.leg.RTCP(b, time.Now(), ours); err == nil {
		c.heard.Store(time.Now().UnixNano())
		if !c.rtcpFrom.IsValid() {
			c.rtcpFrom = from // symmetric RTCP: answer where it comes from
		}
	}
}

// rtcpFromCaller reports whether RTCP from from is the caller's: from
// where its SDP says, from the host its RTP is latched to, or from inside
// the allow list. Called with mu held.
func (c *Call) rtcpFromCaller(from netip.AddrPort) bool {
	if from == c.Offer.RTCPAddr() {
		return true
	}
	rtp := c.early
	if r := c.leg.Remote(); r.IsValid() {
		rtp = r
	}
	if rtp.IsValid() && from.Addr() == rtp.Addr() {
		return true
	}
	for _, p := range c.src.Allow {
		if p.Contains(from.Addr()) {
			return true
		}
	}
	return false
}

// rtcpDest is where our RTCP goes: where the caller's comes from, else
// where its SDP says (muxed: where our RTP goes). Called with mu held.
func (c *Call) rtcpDest() netip.AddrPort {
	if c.rtcpFrom.IsValid() {
		return c.rtcpFrom
	}
	if c.Offer.RTCPMux {
		if c.leg != nil {
			if r := c.leg.Stats().Remote; r.IsValid() {
				return r
			}
		}
		if c.early.IsValid() {
			return c.early
		}
	}
	return c.Offer.RTCPAddr()
}

// reportLoop sends an RTCP report about every RTCPInterval until the call
// ends: each wait is drawn from 0.5 to 1.5 intervals (RFC 3550 6.3.1), so
// that calls set up together do not report together.
func (c *Call) reportLoop(ctx context.Context) {
	iv := c.t.cfg.RTCPInterval
	timer := time.NewTimer(iv/2 + rand.N(iv)) //nolint:gosec // timing spread, not a secret
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		c.report(false)
		timer.Reset(iv/2 + rand.N(iv)) //nolint:gosec // timing spread, not a secret
	}
}

// report sends a compound RTCP packet: a sender report if we have sent RTP
// since the last one, else a receiver report; the reception report for the
// caller's stream once it has sent any; our CNAME; and a BYE when bye.
func (c *Call) report(bye bool) {
	now := time.Now()
	c.mu.Lock()
	var blocks []rtcp.ReceptionReport
	if c.leg != nil {
		if rb, ok := c.leg.ReceptionReport(now); ok {
			blocks = []rtcp.ReceptionReport{rb}
		}
	}
	to := c.rtcpDest()
	c.mu.Unlock()
	if !to.IsValid() || to.Port() == 0 || to.Addr().IsUnspecified() {
		return
	}
	c.sendMu.Lock()
	ssrc, sent, sentAny := c.send.SSRC, c.sentNew, c.sentAny
	// The RTP timestamp that corresponds to now, on our stream's clock.
	ts := c.sentTS + uint32(now.Sub(c.sentAt)*mix.SampleRate/time.Second)
	pkts, octets := c.sentPkts, c.sentBytes
	c.sentNew = false
	c.sendMu.Unlock()
	if !sentAny && len(blocks) == 0 && !bye {
		return // nothing to say yet
	}
	var first rtcp.Packet = &rtcp.ReceiverReport{SSRC: ssrc, Reports: blocks}
	if sent {
		first = &rtcp.SenderReport{SSRC: ssrc, NTPTime: callerleg.NTP(now), RTPTime: ts, PacketCount: pkts, OctetCount: octets, Reports: blocks}
	}
	pkts2 := []rtcp.Packet{first, &rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{
		Source: ssrc, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: c.cname}},
	}}}}
	if bye {
		pkts2 = append(pkts2, &rtcp.Goodbye{Sources: []uint32{ssrc}})
	}
	b, err := rtcp.Marshal(pkts2)
	if err != nil {
		c.t.log.Debug("trunk: RTCP not built", "call", c.ID, "err", err)
		return
	}
	if err := c.stream.WriteRTCP(b, to); err != nil {
		c.t.log.Debug("trunk: RTCP not sent", "call", c.ID, "err", err)
	}
}

// sendBye sends a last report with an RTCP BYE, if the call sent any RTP.
func (c *Call) sendBye() {
	c.sendMu.Lock()
	sent := c.sentAny
	c.sendMu.Unlock()
	if sent {
		c.report(true)
	}
}
