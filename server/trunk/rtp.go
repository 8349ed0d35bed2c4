package trunk

// This file holds the call's RTP: the Stream every packet goes through
// (the seam where SRTP goes) and where it is made, the one RTP stream we
// send the caller (ringback, then the agent's voice), and the caller's RTP
// coming in. The call's RTCP is in rtcp.go.

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/server/callerleg"
	"github.com/hushphone/hushphone/server/sdpneg"
	"github.com/hushphone/hushphone/server/trunk/rtpstream"
)

// Stream is a call's media transport: every RTP and RTCP packet the call
// sends or receives goes through it, and nothing else on the trunk side
// touches a media socket. How packets travel is decided where the call's
// Stream is made (listenMedia); the call's state machine, its RTP sender,
// its RTCP reports and its caller leg only see packets in the clear.
//
// rtpstream.Plain is plain RTP (RTP/AVP) over the call's UDP port pair.
// rtpstream.SRTP (RFC 3711, RTP/SAVP) is the other Stream over the same
// ports: WriteRTP encrypts header and payload into its own buffer,
// WriteRTCP encrypts the compound packet (SRTCP), and Receive
// authenticates and decrypts each packet, dropping what fails, before
// handing it on.
type Stream interface {
	// LocalAddr is the RTP port's address, for our SDP.
	LocalAddr() netip.AddrPort
	// WriteRTP sends one RTP packet, h and payload, to to. It keeps
	// neither, may be called from several goroutines at once, and, being
	// on the per-packet path, allocates nothing.
	WriteRTP(h *rtp.Header, payload []byte, to netip.AddrPort) error
	// WriteRTCP sends one compound RTCP packet to to (from the RTCP port,
	// or from the RTP port when RTCP is muxed on it).
	WriteRTCP(b []byte, to netip.AddrPort) error
	// Receive hands each RTP packet from the far end to onRTP and each
	// RTCP packet to onRTCP, with the sender's address unmapped (the
	// slices are reused once they return; the two may be called from two
	// goroutines at once), until ctx is done or the RTP port fails for
	// good. It returns having stopped every goroutine it started.
	Receive(ctx context.Context, onRTP, onRTCP func(b []byte, from netip.AddrPort)) error
	// Close releases the ports, once Receive has returned (or was never
	// called).
	Close() error
}

// listenMedia binds a new call's media ports: an even and odd pair for
// RTP and RTCP, or one port when the offer muxes RTCP on RTP. An SRTP
// offer (RTP/SAVP) gets SRTP over them, with our keys, fresh for the call,
// put in offer.LocalCrypto for the answer (srtp.go); a plain one, plain
// RTP.
func (t *Trunk) listenMedia(offer *sdpneg.Offer) (Stream, error) {
	p, err := rtpstream.Listen(rtpstream.Ports{IP: t.cfg.RTPAddr, Min: t.cfg.RTPPortMin, Max: t.cfg.RTPPortMax}, offer.RTCPMux)
	if err != nil {
		return nil, fmt.Errorf("trunk: %w", err)
	}
	if !offer.Secure {
		return p, nil
	}
	s, err := secure(p, offer)
	if err != nil {
		_ = p.Close()
		return nil, err
	}
	return s, nil
}

// newCall binds a call's media ports (see listenMedia) and sets up its RTP
// stream to the caller. An outbound call's offer is empty until the
// answer (but for Secure, when we offer SRTP): it never muxes RTCP.
func (t *Trunk) newCall(offer sdpneg.Offer) (*Call, error) {
	stream, err := t.listenMedia(&offer)
	if err != nil {
		return nil, err
	}
	var b [14]byte
	_, _ = cryptorand.Read(b[:]) // it never fails (it crashes the program instead)
	c := &Call{
		Offer: offer, t: t, stream: stream,
		ended: make(chan struct{}), stop: make(chan struct{}), ringStop: make(chan struct{}), kick: make(chan struct{}, 1),
		cname: fmt.Sprintf("hushphone-%x", b[8:14]),
		src:   callerleg.Source{SDP: offer.Remote, Allow: t.cfg.Allow},
	}
	h := &c.send
	h.Version, h.PayloadType = 2, offer.AudioPT
	h.SSRC = binary.BigEndian.Uint32(b[:4]) | 1
	h.SequenceNumber = binary.BigEndian.Uint16(b[4:6])
	h.Timestamp = uint32(b[6])<<8 | uint32(b[7])
	return c, nil
}

// write sends one frame on the call's one RTP stream (one SSRC, one
// sequence), which the ringback and then the agent's voice share.
func (c *Call) write(frame []byte, marker bool) error {
	c.mu.Lock()
	var to netip.AddrPort
	if c.leg != nil {
		to = c.leg.Stats().Remote
	}
	if !to.IsValid() {
		to = c.early
	}
	c.mu.Unlock()
	if !to.IsValid() {
		to = c.Offer.Remote
	}
	if to.Port() == 0 || to.Addr().IsUnspecified() {
		return nil // held (c=0.0.0.0): nowhere to send
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	h := &c.send
	h.Marker = marker || !c.sentAny
	err := c.stream.WriteRTP(h, frame, to)
	c.sentAny, c.sentNew, c.sentAt, c.sentTS = true, true, time.Now(), h.Timestamp
	c.sentPkts++
	c.sentBytes += uint32(len(frame))
	h.SequenceNumber++
	h.Timestamp += mix.FrameSamples
	if err != nil {
		return fmt.Errorf("trunk: send: %w", err)
	}
	return nil
}

// isCallerRTP reports whether b looks like RTP in a payload type the offer
// agreed.
func (c *Call) isCallerRTP(b []byte) bool {
	if len(b) < 12 || b[0]>>6 != 2 {
		return false
	}
	pt := b[1] & 0x7f
	return pt == c.Offer.AudioPT || c.Offer.EventPT != 0 && pt == c.Offer.EventPT
}

// closeMedia releases the call's media ports.
func (c *Call) closeMedia() {
	c.reportSRTP()
	_ = c.stream.Close()
}

// rtpIn takes one RTP datagram from the caller: only from the address
// the caller's SDP names, or (behind a NAT) one inside the allow list,
// latched once (callerleg.Source); a stranger's packets are dropped and
// counted, before Answer as after.
func (c *Call) rtpIn(b []byte, from netip.AddrPort) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.leg != nil:
		// Bad or stray packets are counted in the leg's stats.
		c.arrival = time.Now()
		err := c.leg.Packet(from, b, c.arrival)
		switch {
		case err == nil:
			c.heard.Store(c.arrival.UnixNano())
		case errors.Is(err, callerleg.ErrStranger):
			c.stranger(b)
		case from == c.leg.Remote():
			c.heard.Store(c.arrival.UnixNano()) // the caller's, if not audio we take (comfort noise)
		}
	case !c.isCallerRTP(b):
	case !c.early.IsValid() && c.src.Accepts(from):
		// Before Answer nothing listens: the caller's audio is dropped
		// unheard, and only its address is kept, for the ringback
		// (symmetric RTP), and latched.
		c.early = from
	case from != c.early:
		c.stranger(b)
	}
}

// stranger counts a packet from anywhere but the caller.
func (c *Call) stranger(b []byte) {
	m := c.t.cfg.Metrics
	if m == nil {
		return
	}
	if c.Offer.EventPT != 0 && len(b) > 1 && b[1]&0x7f == c.Offer.EventPT {
		m.RTPStranger("event")
		return
	}
	m.RTPStranger("audio")
}
