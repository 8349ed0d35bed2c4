package trunk

// This file holds SRTP on the trunk (RFC 3711, keys by SDES, RFC 4568):
// the policy (Config.SRTP), the offers it takes, each call's keys (ours
// fresh from crypto/rand for every call, the far end's from its SDP) and
// the SRTP Stream made of them, and the keys a re-INVITE brings. The keys
// are never logged: sdpneg.Key prints as "[key]" whatever prints it.

import (
	cryptorand "crypto/rand"
	"errors"
	"fmt"

	"github.com/pion/srtp/v3"

	"github.com/hushphone/hushphone/server/sdpneg"
	"github.com/hushphone/hushphone/server/trunk/rtpstream"
)

// SRTPPolicy is what the trunk does about SRTP (the trunk-srtp setting).
type SRTPPolicy uint8

// The policies. The zero value is SRTPOptional, the server's default.
const (
	// SRTPOptional answers like with like: an RTP/SAVP offer with SRTP
	// and our key, an RTP/AVP one with plain RTP. Outbound calls offer
	// SRTP when the outbound trunk is over TLS, plain RTP otherwise.
	SRTPOptional SRTPPolicy = iota
	// SRTPOff takes plain RTP only: an RTP/SAVP offer gets 488.
	// Outbound calls offer plain RTP.
	SRTPOff
	// SRTPRequired takes SRTP only: an RTP/AVP offer gets 488. Outbound
	// calls offer SRTP, and a plain answer ends them.
	SRTPRequired
)

var policyNames = [...]string{"optional", "off", "required"}

func (p SRTPPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return fmt.Sprintf("SRTPPolicy(%d)", uint8(p))
}

// ParseSRTPPolicy reads the trunk-srtp setting: off, optional or required.
func ParseSRTPPolicy(s string) (SRTPPolicy, error) {
	for i, n := range policyNames {
		if s == n {
			return SRTPPolicy(i), nil
		}
	}
	return 0, fmt.Errorf("%w: trunk-srtp %q: use off, optional or required", ErrConfig, s)
}

// profiles are the offers the policy takes.
func (p SRTPPolicy) profiles() sdpneg.Profiles {
	switch p {
	case SRTPOff:
		return sdpneg.AVPOnly
	case SRTPRequired:
		return sdpneg.SAVPOnly
	}
	return sdpneg.AnyProfile
}

// negotiate reads a new call's SDP offer under the SRTP policy: one it
// does not allow is sdpneg.ErrNotAcceptable (488).
func (t *Trunk) negotiate(body []byte) (sdpneg.Offer, error) {
	return sdpneg.NegotiateWith(body, t.cfg.SRTP.profiles()) //nolint:wrapcheck // sdpneg's errors say what was wrong, and are told apart with errors.Is
}

// outboundSecure reports whether outbound calls offer SRTP.
func (t *Trunk) outboundSecure() bool {
	return t.cfg.SRTP == SRTPRequired || t.cfg.SRTP == SRTPOptional && t.outTLS
}

// profileOf is pion/srtp's protection profile for an SDES suite.
func profileOf(s sdpneg.Suite) (srtp.ProtectionProfile, error) {
	switch s {
	case sdpneg.AESCM128HMACSHA180:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case sdpneg.AESCM128HMACSHA132:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	case sdpneg.AES256CMHMACSHA180:
		return srtp.ProtectionProfileAes256CmHmacSha1_80, nil
	case sdpneg.AES256CMHMACSHA132:
		return srtp.ProtectionProfileAes256CmHmacSha1_32, nil
	case sdpneg.AEADAES128GCM:
		return srtp.ProtectionProfileAeadAes128Gcm, nil
	case sdpneg.AEADAES256GCM:
		return srtp.ProtectionProfileAeadAes256Gcm, nil
	}
	return 0, fmt.Errorf("%w: SRTP suite %v", rtpstream.ErrKeys, s)
}

// keysOf are c's keys as rtpstream takes them (a copy: c is not kept).
func keysOf(c sdpneg.Crypto) (rtpstream.Keys, error) {
	p, err := profileOf(c.Suite)
	if err != nil {
		return rtpstream.Keys{}, err
	}
	return rtpstream.Keys{Profile: p, Master: append([]byte(nil), c.Key.Bytes()...), MKI: c.MKIBytes()}, nil
}

// secure makes SRTP of p for offer: our keys, fresh for the call, in
// offer.LocalCrypto (the offer's tag and suite, or, for our own offer,
// tag 1 and AES_CM_128_HMAC_SHA1_80), and the far end's from
// offer.Crypto if it has them yet.
func secure(p *rtpstream.Plain, offer *sdpneg.Offer) (*rtpstream.SRTP, error) {
	tag, suite := offer.Crypto.Tag, offer.Crypto.Suite
	if suite == sdpneg.NoSuite {
		tag, suite = 1, sdpneg.AESCM128HMACSHA180
	}
	key := make([]byte, suite.KeyLen())
	_, _ = cryptorand.Read(key) // it never fails (it crashes the program instead)
	offer.LocalCrypto = sdpneg.Crypto{Tag: tag, Suite: suite, Key: sdpneg.NewKey(key)}
	clear(key)
	local, err := keysOf(offer.LocalCrypto)
	if err != nil {
		return nil, err
	}
	s, err := rtpstream.NewSRTP(p, local)
	clear(local.Master)
	if err != nil {
		return nil, fmt.Errorf("trunk: %w", err)
	}
	if !offer.Crypto.IsZero() {
		if err := setRemote(s, offer.Crypto); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// setRemote gives s the far end's keys.
func setRemote(s *rtpstream.SRTP, c sdpneg.Crypto) error {
	k, err := keysOf(c)
	if err != nil {
		return err
	}
	err = s.SetRemote(k)
	clear(k.Master)
	if err != nil {
		return fmt.Errorf("trunk: %w", err)
	}
	return nil
}

// errReoffer is wrapped by re-INVITE offers that would change the call's
// media in ways it does not take.
var errReoffer = errors.New("the offer changes the call's media")

// renegotiate reads a re-INVITE's offer: in the call's own kind, since
// neither plain RTP nor SRTP may turn into the other mid-call (so that no
// re-INVITE turns the encryption off), in the call's codec, and for SRTP
// in the call's suite. The answer carries our key, under the tag the
// offer's line has; if the far end's key is new, it is the one its
// packets are opened with from now on. An offer it does not take is
// sdpneg.ErrNotAcceptable (488), and changes nothing.
func (c *Call) renegotiate(body []byte) (sdpneg.Offer, error) {
	profiles := sdpneg.AVPOnly
	if c.Offer.Secure {
		profiles = sdpneg.SAVPOnly
	}
	o, err := sdpneg.NegotiateWith(body, profiles)
	if err != nil {
		return o, err //nolint:wrapcheck // sdpneg's errors say what was wrong
	}
	if o.Law != c.Offer.Law {
		return o, fmt.Errorf("%w: %w: the codec", sdpneg.ErrNotAcceptable, errReoffer)
	}
	if !o.Secure {
		return o, nil
	}
	if o.Crypto.Suite != c.Offer.LocalCrypto.Suite {
		return o, fmt.Errorf("%w: %w: the SRTP suite %v, was %v", sdpneg.ErrNotAcceptable, errReoffer, o.Crypto.Suite, c.Offer.LocalCrypto.Suite)
	}
	o.LocalCrypto = c.Offer.LocalCrypto
	o.LocalCrypto.Tag = o.Crypto.Tag
	s, ok := c.stream.(*rtpstream.SRTP)
	if !ok {
		return o, fmt.Errorf("%w: %w: no SRTP stream", sdpneg.ErrNotAcceptable, errReoffer)
	}
	if err := setRemote(s, o.Crypto); err != nil {
		return o, fmt.Errorf("%w: %w", sdpneg.ErrNotAcceptable, err)
	}
	return o, nil
}

// reportSRTP logs, as the call's media closes, how many packets its SRTP
// stream dropped (and counts them on the metrics).
func (c *Call) reportSRTP() {
	s, ok := c.stream.(*rtpstream.SRTP)
	if !ok {
		return
	}
	n := s.Dropped()
	c.t.log.Info("trunk: call's SRTP closed", "call", c.ID, "suite", c.Offer.LocalCrypto.Suite.String(), "dropped", n)
	if m, ok := c.t.cfg.Metrics.(interface{ SRTPDropped(uint64) }); ok && n > 0 {
		m.SRTPDropped(n)
	}
}
