package trunk

import (
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/server/sdpneg"
)

// newCall binds a call's RTP port (and RTCP, on the next port up, when
// pair) and sets up its RTP stream to the caller.
func (t *Trunk) newCall(offer sdpneg.Offer, pair bool) (*Call, error) {
	conn, rtcpConn, err := listenRTP(t.cfg.RTPAddr, pair, t.cfg.RTPPortMin, t.cfg.RTPPortMax)
	if err != nil {
		return nil, err
	}
	var b [14]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		_ = conn.Close()
		if rtcpConn != nil {
			_ = rtcpConn.Close()
		}
		return nil, fmt.Errorf("trunk: %w", err)
	}
	c := &Call{
		Offer: offer, t: t, conn: conn, rtcpConn: rtcpConn,
		ended: make(chan struct{}), stop: make(chan struct{}), ringStop: make(chan struct{}),
		cname: fmt.Sprintf("hushphone-%x", b[8:14]),
	}
	h := &c.send.Header
	h.Version, h.PayloadType = 2, offer.AudioPT
	h.SSRC = binary.BigEndian.Uint32(b[:4]) | 1
	h.SequenceNumber = binary.BigEndian.Uint16(b[4:6])
	h.Timestamp = uint32(b[6])<<8 | uint32(b[7])
	return c, nil
}

// listenRTP binds an RTP port on ip, and when pair the RTCP port above it
// (an even and odd pair, RFC 3550): any free ports, or, with min and max
// set, ports in that range, tried from a random place in it.
func listenRTP(ip netip.Addr, pair bool, lo, hi uint16) (rtpConn, rtcpConn *net.UDPConn, err error) {
	bind := func(port uint16) (*net.UDPConn, error) {
		return net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, port)))
	}
	if lo != 0 {
		// Even ports from a random one, round the range once.
		first := int(lo+1) &^ 1
		n := (int(hi) - first + 1) / 2
		if n <= 0 {
			return nil, nil, fmt.Errorf("%w: the range %d-%d holds no even port", ErrNoPorts, lo, hi)
		}
		start := mathrand.IntN(n) //nolint:gosec // spreading ports over the range, not a secret
		for i := range n {
			port := uint16(first + 2*((start+i)%n))
			c, err := bind(port)
			if err != nil {
				continue
			}
			if !pair {
				return c, nil, nil
			}
			if port < hi {
				if rc, err := bind(port + 1); err == nil {
					return c, rc, nil
				}
			}
			_ = c.Close()
		}
		return nil, nil, fmt.Errorf("%w: every port in %d-%d on %v is taken: widen --rtp-ports", ErrNoPorts, lo, hi, ip)
	}
	if !pair {
		rtpConn, err = bind(0)
		if err != nil {
			return nil, nil, fmt.Errorf("trunk: RTP port: %w", err)
		}
		return rtpConn, nil, nil
	}
	for range 100 {
		rtpConn, err = bind(0)
		if err != nil {
			return nil, nil, fmt.Errorf("trunk: RTP port: %w", err)
		}
		port := rtpConn.LocalAddr().(*net.UDPAddr).Port //nolint:forcetypeassert // a UDP socket's address
		if port%2 == 0 && port < 65534 {
			rtcpConn, err = bind(uint16(port + 1))
			if err == nil {
				return rtpConn, rtcpConn, nil
			}
		}
		_ = rtpConn.Close()
	}
	return nil, nil, fmt.Errorf("%w: no free even and odd port pair for RTP and RTCP on %v", ErrNoPorts, ip)
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
	h := &c.send.Header
	h.Marker = marker || !c.sentAny
	c.send.Payload = frame
	n, err := c.send.MarshalTo(c.sendB[:])
	if err != nil {
		return fmt.Errorf("trunk: %w", err)
	}
	c.sentAny, c.sentNew, c.sentAt, c.sentTS = true, true, time.Now(), h.Timestamp
	c.sentPkts++
	c.sentBytes += uint32(len(frame))
	h.SequenceNumber++
	h.Timestamp += mask.FrameSamples
	if _, err := c.conn.WriteToUDPAddrPort(c.sendB[:n], to); err != nil {
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

// closeSockets closes the call's RTP and RTCP sockets.
func (c *Call) closeSockets() {
	_ = c.conn.Close()
	if c.rtcpConn != nil {
		_ = c.rtcpConn.Close()
	}
}

// readUDP hands each datagram conn receives to handle (the slice is
// reused) until a read fails for good or over says the call is over; a
// read deadline only wakes it to ask.
func readUDP(conn *net.UDPConn, over func() bool, handle func([]byte, netip.AddrPort)) {
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if over() {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		handle(buf[:n], from)
	}
}

// rtpIn takes one RTP datagram from the caller.
func (c *Call) rtpIn(b []byte, from netip.AddrPort) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.leg != nil:
		// Bad or stray packets are counted in the leg's stats.
		c.arrival = time.Now()
		_ = c.leg.Packet(from, b, c.arrival)
	case !c.early.IsValid() && c.isCallerRTP(b):
		// Before Answer nothing listens: the caller's audio is dropped
		// unheard, and only its address is kept, for the ringback
		// (symmetric RTP).
		c.early = from
	}
}
