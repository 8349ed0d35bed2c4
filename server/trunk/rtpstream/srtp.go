package rtpstream

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// ErrKeys is wrapped when SRTP keys cannot be used (a profile pion/srtp
// does not have, a key of the wrong length).
var ErrKeys = errors.New("rtpstream: bad SRTP keys")

// overhead is the most SRTP or SRTCP adds to a packet: an AEAD tag (16)
// or an HMAC one (10), the SRTCP index (4), an MKI (at most 4 here).
const overhead = 16 + 4 + 4

// Replay windows: how far back a late packet is still taken. RTP's is
// wider than the jitter a trunk's audio sees; RTCP comes every few
// seconds.
const (
	replayWindowRTP  = 128
	replayWindowRTCP = 64
)

// Keys are one direction's SRTP keys, as SDES (RFC 4568) carries them:
// the protection profile, the master key followed by the master salt, and
// the master key identifier the sender puts in each packet (nil for
// none).
type Keys struct {
	Profile srtp.ProtectionProfile
	Master  []byte
	MKI     []byte
}

// SRTP is a call's media as SRTP and SRTCP (RFC 3711, RTP/SAVP) over the
// ports Listen bound. WriteRTP and WriteRTCP encrypt and authenticate with
// our keys; Receive authenticates and decrypts with the far end's, and
// drops what fails (a packet altered or forged, replayed, or sent before
// the far end's keys are known), counting it in Dropped. The call above
// sees only packets in the clear, as with Plain. Writes may come from
// several goroutines at once; WriteRTP allocates nothing, and neither
// does Receive for a packet that passes.
type SRTP struct {
	plain *Plain

	wmu  sync.Mutex // guards enc, the headers and the buffers
	enc  *srtp.Context
	hdr  rtp.Header  // the packet being encrypted, as pion/srtp reads it back
	chdr rtcp.Header // the same for RTCP
	buf  [maxPacket + overhead]byte
	rbuf [maxPacket + overhead]byte // RTCP

	rmu    sync.Mutex    // guards dec, the headers and remote: RTP and RTCP may be read by two goroutines
	dec    *srtp.Context // the far end's keys; nil until SetRemote
	rhdr   rtp.Header
	rchdr  rtcp.Header
	remote Keys // a copy, to tell a new key from the same one again

	dropped atomic.Uint64
}

// NewSRTP makes SRTP of p's ports, sending with local. What arrives is
// dropped until SetRemote gives the far end's keys. Closing it closes p.
func NewSRTP(p *Plain, local Keys) (*SRTP, error) {
	enc, err := newContext(local)
	if err != nil {
		return nil, err
	}
	return &SRTP{plain: p, enc: enc}, nil
}

// newContext is a pion/srtp context for keys, with replay protection
// (which only matters for the far end's).
func newContext(k Keys) (*srtp.Context, error) {
	keyLen, err := k.Profile.KeyLen()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeys, err)
	}
	saltLen, err := k.Profile.SaltLen()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeys, err)
	}
	if len(k.Master) != keyLen+saltLen {
		return nil, fmt.Errorf("%w: %d bytes of key and salt for %v, want %d", ErrKeys, len(k.Master), k.Profile, keyLen+saltLen)
	}
	opts := []srtp.ContextOption{srtp.SRTPReplayProtection(replayWindowRTP), srtp.SRTCPReplayProtection(replayWindowRTCP)}
	if len(k.MKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(k.MKI))
	}
	c, err := srtp.CreateContext(k.Master[:keyLen], k.Master[keyLen:], k.Profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeys, err)
	}
	return c, nil
}

// SetRemote sets the far end's keys, which what arrives from now on is
// authenticated and decrypted with: at the start, or when a re-INVITE
// brings new ones. The same keys again change nothing (a fresh context
// would forget which packets it has seen, and take replays of them).
func (s *SRTP) SetRemote(k Keys) error {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.dec != nil && k.Profile == s.remote.Profile && subtle.ConstantTimeCompare(k.Master, s.remote.Master) == 1 && bytes.Equal(k.MKI, s.remote.MKI) {
		return nil
	}
	dec, err := newContext(k)
	if err != nil {
		return err
	}
	s.dec = dec
	s.remote = Keys{Profile: k.Profile, Master: bytes.Clone(k.Master), MKI: bytes.Clone(k.MKI)}
	return nil
}

// Dropped counts the packets that arrived and were not handed on: they
// failed authentication, were replays, were not SRTP at all, or came
// before the far end's keys.
func (s *SRTP) Dropped() uint64 { return s.dropped.Load() }

// LocalAddr is the RTP port's address, for the SDP.
func (s *SRTP) LocalAddr() netip.AddrPort { return s.plain.local }

// WriteRTP encrypts one RTP packet, h and payload, and sends it to to
// from the RTP port.
func (s *SRTP) WriteRTP(h *rtp.Header, payload []byte, to netip.AddrPort) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	n, err := h.MarshalTo(s.buf[:maxPacket])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	if n+len(payload) > maxPacket {
		return fmt.Errorf("%w: %d bytes of payload", ErrSend, len(payload))
	}
	n += copy(s.buf[n:], payload)
	// In place: pion/srtp encrypts the payload where it is and appends
	// the tag, within the buffer's room.
	out, err := s.enc.EncryptRTP(s.buf[:0], s.buf[:n], &s.hdr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	if _, err := s.plain.rtp.WriteToUDPAddrPort(out, to); err != nil {
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	return nil
}

// WriteRTCP encrypts one compound RTCP packet (SRTCP) and sends it to to,
// from the RTCP port (or, muxed, the RTP port). b is left as it was.
func (s *SRTP) WriteRTCP(b []byte, to netip.AddrPort) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if len(b) > maxPacket {
		return fmt.Errorf("%w: %d bytes of RTCP", ErrSend, len(b))
	}
	n := copy(s.rbuf[:], b)
	out, err := s.enc.EncryptRTCP(s.rbuf[:0], s.rbuf[:n], &s.chdr)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	conn := s.plain.rtp
	if s.plain.rtcp != nil {
		conn = s.plain.rtcp
	}
	if _, err := conn.WriteToUDPAddrPort(out, to); err != nil {
		return fmt.Errorf("%w: %w", ErrSend, err)
	}
	return nil
}

// Receive is Plain's Receive, each packet authenticated and decrypted
// first (in place: the slices handed on are the read buffers'). What fails
// is dropped and counted.
func (s *SRTP) Receive(ctx context.Context, onRTP, onRTCP func(b []byte, from netip.AddrPort)) error {
	return s.plain.Receive(ctx,
		func(b []byte, from netip.AddrPort) {
			if opened, ok := s.openRTP(b); ok {
				onRTP(opened, from)
			}
		},
		func(b []byte, from netip.AddrPort) {
			if opened, ok := s.openRTCP(b); ok {
				onRTCP(opened, from)
			}
		})
}

func (s *SRTP) openRTP(b []byte) ([]byte, bool) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.dec == nil {
		s.dropped.Add(1)
		return nil, false
	}
	opened, err := s.dec.DecryptRTP(b[:0], b, &s.rhdr)
	if err != nil {
		s.dropped.Add(1)
		return nil, false
	}
	return opened, true
}

func (s *SRTP) openRTCP(b []byte) ([]byte, bool) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.dec == nil {
		s.dropped.Add(1)
		return nil, false
	}
	opened, err := s.dec.DecryptRTCP(b[:0], b, &s.rchdr)
	if err != nil {
		s.dropped.Add(1)
		return nil, false
	}
	return opened, true
}

// Close releases the ports. Receive must have returned first.
func (s *SRTP) Close() error { return s.plain.Close() }
