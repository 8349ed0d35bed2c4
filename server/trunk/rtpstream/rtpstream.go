// Package rtpstream carries one call's media on the SIP side of the
// server. Listen binds the call's ports: its RTP port and, unless RTCP is
// muxed on it (a=rtcp-mux, RFC 5761), the RTCP port above it, an even and
// odd pair (RFC 3550 section 11), anywhere free or within a configured
// range. Plain then moves the call's RTP and RTCP packets over them, as
// they are.
//
// This package is the only code on the trunk side that touches a media
// socket: the call above it writes and reads packets through the trunk's
// Stream interface, which Plain and SRTP implement. SRTP (RFC 3711,
// pion/srtp; srtp.go) runs over the same ports as Plain, encrypting what
// WriteRTP and WriteRTCP send and authenticating and decrypting what
// Receive hands on, so that nothing above it changes.
package rtpstream

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// Errors.
var (
	// ErrNoPorts means no media port, or no even and odd pair, was free.
	ErrNoPorts = errors.New("rtpstream: no media ports")
	// ErrSend is wrapped by a packet that could not be sent.
	ErrSend = errors.New("rtpstream: packet not sent")
	// ErrReceive is wrapped when a media port fails for good.
	ErrReceive = errors.New("rtpstream: media port failed")
)

// maxPacket is the largest datagram read or written: an Ethernet MTU.
const maxPacket = 1500

// IsRTCP reports whether a datagram on a muxed RTP port is RTCP (RFC 5761
// section 4: packet types 192 to 223 are RTCP's).
func IsRTCP(b []byte) bool {
	return len(b) >= 8 && b[0]>>6 == 2 && b[1] >= 192 && b[1] <= 223
}

// Plain is a call's media as plain RTP and RTCP (RTP/AVP): what is written
// goes out as it is, and what arrives is handed on as it is. Writes may
// come from several goroutines at once; WriteRTP allocates nothing.
type Plain struct {
	rtp   *net.UDPConn // RTP, and RTCP when muxed
	rtcp  *net.UDPConn // RTCP on the port above; nil when muxed
	local netip.AddrPort

	wmu sync.Mutex // guards buf
	buf [maxPacket]byte
}

// LocalAddr is the RTP port's address, for the SDP.
func (s *Plain) LocalAddr() netip.AddrPort { return s.local }

// WriteRTP sends one RTP packet, h and payload, to to, from the RTP port.
func (s *Plain) WriteRTP(h *rtp.Header, payload []byte, to netip.AddrPort) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	n, err := h.MarshalTo(s.buf[:])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	if n+len(payload) > len(s.buf) {
		return fmt.Errorf("%w: %d bytes of payload", ErrSend, len(payload))
	}
	n += copy(s.buf[n:], payload)
	if _, err := s.rtp.WriteToUDPAddrPort(s.buf[:n], to); err != nil {
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	return nil
}

// WriteRTCP sends one compound RTCP packet to to, from the RTCP port (or,
// muxed, the RTP port).
func (s *Plain) WriteRTCP(b []byte, to netip.AddrPort) error {
	conn := s.rtp
	if s.rtcp != nil {
		conn = s.rtcp
	}
	if _, err := conn.WriteToUDPAddrPort(b, to); err != nil {
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	return nil
}

// Receive hands each RTP packet that arrives to onRTP and each RTCP
// packet to onRTCP (from the RTCP port, or, muxed, told apart on the RTP
// port), with the sender's address unmapped; the slices are reused once
// they return. RTP and RTCP are read by two goroutines when on two ports,
// so the two may be called at once. Receive returns when ctx is done
// (nil) or the RTP port fails for good (ErrReceive; the RTCP port failing
// ends only RTCP), having stopped every goroutine it started.
func (s *Plain) Receive(ctx context.Context, onRTP, onRTCP func(b []byte, from netip.AddrPort)) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		<-ctx.Done()
		// Wake the reads, which then see ctx is done.
		now := time.Now()
		_ = s.rtp.SetReadDeadline(now)
		if s.rtcp != nil {
			_ = s.rtcp.SetReadDeadline(now)
		}
	})
	if s.rtcp == nil {
		return read(ctx, s.rtp, func(b []byte, from netip.AddrPort) {
			if IsRTCP(b) {
				onRTCP(b, from)
				return
			}
			onRTP(b, from)
		})
	}
	wg.Go(func() { _ = read(ctx, s.rtcp, onRTCP) })
	return read(ctx, s.rtp, onRTP)
}

// read hands each datagram conn receives to handle (the slice is reused)
// until ctx is done or a read fails for good; a read deadline only wakes
// it to look at ctx.
func read(ctx context.Context, conn *net.UDPConn, handle func([]byte, netip.AddrPort)) error {
	buf := make([]byte, maxPacket)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil //nolint:nilerr // the read was woken because ctx is done: not a failure
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("%w: %w", ErrReceive, err)
		}
		handle(buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	}
}

// Close releases the ports. Receive must have returned first.
func (s *Plain) Close() error {
	err := s.rtp.Close()
	if s.rtcp != nil {
		err = errors.Join(err, s.rtcp.Close())
	}
	if err != nil {
		return fmt.Errorf("rtpstream: %w", err)
	}
	return nil
}
