package trunk

// This file holds the trunk's configuration (Config, each field with the
// server setting it comes from) and the metrics it reports.

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/netip"
	"time"

	"github.com/hushphone/hushphone/server/callerleg"
)

// Config configures the trunk side.
type Config struct {
	// SIPAddr is where SIP is served, over UDP and TCP (the sip setting;
	// default 127.0.0.1:5060).
	SIPAddr string
	// Advertise, HOST:PORT, is the address our Contact (and an outbound
	// call's From) names, for a server bound to every address or behind a
	// NAT (the sip-advertise setting). Empty: SIPAddr, or, when its host
	// is 0.0.0.0 or ::, RTPAddr with SIPAddr's port.
	Advertise string
	// RTPAddr is the local address for calls' RTP (the media-ip setting;
	// default 127.0.0.1).
	RTPAddr netip.Addr
	// RTPPortMin and RTPPortMax, if set, bound the ports calls' RTP and
	// RTCP use (the rtp-ports setting, for firewalls); 0 and 0: any free
	// port.
	RTPPortMin, RTPPortMax uint16
	// Allow lists the source addresses trunks may call from (the
	// trunk-allow setting; default loopback only, so the embedded setup
	// works and nothing else does).
	Allow []netip.Prefix
	// OnCall is called, in its own goroutine, for every INVITE accepted:
	// it must Answer or Reject the call.
	OnCall func(*Call)
	// Ringback, if set (RingbackUK, RingbackUS: the ringback setting,
	// RingbackByName), makes Ring send early
	// media: 183 Session Progress with our SDP answer, and this tone to the
	// caller on RTP until Answer. Unset, Ring sends 180 Ringing only.
	Ringback *Ringback
	// Auth, if set (the "in" lines of the trunk-auth setting's file,
	// ReadCredentials), makes INVITEs from allowed sources prove one of these
	// credentials with SIP digest (SHA-256 or MD5, qop=auth): one without
	// valid credentials gets 401 with a challenge. Unset, the source
	// address is all that is checked.
	Auth []Credential
	// AuthAlgorithms are the digest algorithms offered, in order, and the
	// only ones accepted (default DefaultAuthAlgorithms).
	AuthAlgorithms []string
	// Outbound is the outbound trunk's SIP address, HOST:PORT, for Dial
	// (the trunk-out setting; empty: Dial returns ErrNoOutbound); over
	// TLS, sips:HOST:PORT (which needs TLSAddr, where the trunk's requests
	// in the call reach us).
	Outbound string
	// OutboundFrom is the number our outbound calls present (From's user
	// part; the trunk-out-from setting; default "hushphone").
	OutboundFrom string
	// OutboundAuth, if set (an "out" line of the trunk-auth setting's
	// file), answers the outbound trunk's digest challenge (its realm is
	// not checked).
	OutboundAuth *Credential
	// MaxCalls is the most inbound calls up at once (the max-calls setting; 0:
	// DefaultMaxCalls, sized to the machine): a new INVITE past it gets
	// 503 Service Unavailable.
	MaxCalls int
	// InviteRate is how many new calls a second one source address may
	// start, with a burst of twice that (the invite-rate setting; 0:
	// DefaultInviteRate; negative: no limit): one past it gets 503 with
	// Retry-After.
	InviteRate int
	// TLSAddr, if set, is where SIP is also served over TLS, HOST:PORT
	// (the sip-tls setting): calls to sips: or transport=tls, and the far
	// end's requests in outbound calls over TLS. Connections from outside
	// Allow are closed before the handshake.
	TLSAddr string
	// TLSConfig is the TLS listener's configuration: its certificate (the
	// sip-tls-cert and sip-tls-key settings, else tls-cert and tls-key).
	// TLS 1.2 is the oldest taken, whatever it says. Required with
	// TLSAddr.
	TLSConfig *tls.Config
	// TLSRoots, if set, are the certificate authorities an outbound
	// trunk's certificate must chain to (the sip-tls-ca setting); nil: the
	// system's.
	TLSRoots *x509.CertPool
	// SRTP is what calls do about SRTP with SDES keys (RFC 4568; the
	// trunk-srtp setting): SRTPOptional (the zero value, and the
	// default), SRTPOff or SRTPRequired.
	SRTP SRTPPolicy
	// IdleTimeout closes a SIP connection over TCP or TLS that has said
	// nothing for this long, unless a call that came over it is up (the
	// sip-idle-timeout setting; default DefaultIdleTimeout).
	IdleTimeout time.Duration
	// RTCPInterval is how often a call sends RTCP reports, on average
	// (default 5 s; each wait is 0.5 to 1.5 of it).
	RTCPInterval time.Duration
	// RTPTimeout, if set, ends an answered call with BYE once the caller
	// has sent no RTP or RTCP for that long while it says it sends (not
	// on hold): a caller that vanished without BYE (the rtp-timeout
	// setting; 0: never).
	RTPTimeout time.Duration
	// MaskLookahead is the delay of each call's Masker (the mask-lookahead
	// setting; 0: mask.DefaultLookahead, 20 ms): a longer one masks more
	// of a tone whose onset is blurred by speech, and delays the caller's
	// audio that much more (docs/operating.md has the measurements).
	MaskLookahead time.Duration
	// minSE is the shortest RFC 4028 session interval taken (default
	// 90 s, the RFC's floor; tests shorten it).
	minSE time.Duration
	// Metrics, if set, counts calls and their caller legs.
	Metrics Metrics
	Logger  *slog.Logger
}

// Metrics is what the trunk reports (server/metrics implements it).
type Metrics interface {
	CallOffered()
	CallEnded(callerleg.Stats)
	// AddedLatency is one frame's: from the caller packet's arrival to its
	// masked audio going out, the Masker's look-ahead included.
	AddedLatency(time.Duration)
	// SIPRefused counts a request refused: method is the request's,
	// reason one of "source" (403: neither an allowed address nor the
	// call's peer), "dialog" (481 or 482: not the call's Call-ID and
	// tags), "auth" (401: a re-INVITE without valid credentials), "busy"
	// (503: MaxCalls calls up) or "rate" (503: past InviteRate).
	SIPRefused(method, reason string)
	// RTPStranger counts a packet dropped from a call's media ports
	// because it did not come from the caller: "audio", "event" (RFC
	// 4733) or "rtcp".
	RTPStranger(kind string)
	// CallCut counts a call ended with BYE because its peer went quiet:
	// "no_ack", "rtp_timeout" or "session_expired".
	CallCut(reason string)
}
