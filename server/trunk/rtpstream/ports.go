package rtpstream

import (
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/netip"
)

// Ports is where calls' media is bound.
type Ports struct {
	// IP is the address the ports are bound on (the media-ip setting).
	IP netip.Addr
	// Min and Max, if set, bound the ports (the rtp-ports setting, for
	// firewalls); 0 and 0: any free port.
	Min, Max uint16
}

// Listen binds a call's media ports on p and returns them as a Plain
// stream: the RTP port and, unless mux (RTCP muxed on the RTP port), the
// RTCP port above it. Without a range any free ports are used; with one,
// ports from it, tried from a random place in it. A range used up is
// ErrNoPorts, naming the rtp-ports setting.
func Listen(p Ports, mux bool) (*Plain, error) {
	rtpConn, rtcpConn, err := listenRTP(p.IP, !mux, p.Min, p.Max)
	if err != nil {
		return nil, err
	}
	s := &Plain{rtp: rtpConn, rtcp: rtcpConn}
	if a, ok := rtpConn.LocalAddr().(*net.UDPAddr); ok {
		ap := a.AddrPort()
		s.local = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return s, nil
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
			return nil, nil, fmt.Errorf("%w: the rtp-ports setting's range %d-%d holds no even port", ErrNoPorts, lo, hi)
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
		return nil, nil, fmt.Errorf("%w: every port in %d-%d on %v is taken: widen the rtp-ports setting", ErrNoPorts, lo, hi, ip)
	}
	if !pair {
		rtpConn, err = bind(0)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: RTP port on %v (the media-ip setting): %w", ErrNoPorts, ip, err)
		}
		return rtpConn, nil, nil
	}
	for range 100 {
		rtpConn, err = bind(0)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: RTP port on %v (the media-ip setting): %w", ErrNoPorts, ip, err)
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
