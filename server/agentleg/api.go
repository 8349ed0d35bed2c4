// Package agentleg is the agent's side of a call's media on the server: one
// WebRTC peer connection (pion/webrtc v4) per agent leg, over DTLS-SRTP,
// carrying PCMU audio both ways by default, Opus where both ends have it.
//
// An API holds what every leg shares: the codecs (PCMU 8000 and Opus, see
// below), the interceptors (RTCP sender and receiver reports) and the ICE
// settings (a public address for 1:1 NAT, a UDP port range, loopback host
// candidates for tests and the embedded setup, an optional local address
// filter, and mDNS host candidates resolved: see below). A Leg is one peer
// connection with one sendrecv audio transceiver. The server may offer
// (Offer, then SetAnswer) or answer an agent's offer (Answer); ICE
// candidates are trickled through LegParams.OnCandidate and AddCandidate, or,
// with no OnCandidate, gathered in full before Offer and Answer return.
//
// Codecs: the server offers PCMU (payload type 0) first, then Opus
// (opus/48000/2, payload type 111, minptime=10;useinbandfec=1, as
// browsers have it). Answering, it takes whichever of the two the agent's
// offer lists first (pion keeps the offer's order); an offer with neither
// is refused with ErrSDP. The masked caller stream, the recorder and the
// SIP leg are all 8 kHz G.711, so the API stays PCMU whatever the wire
// carries: on an Opus leg WriteFrame decodes the PCMU frame to linear and
// Opus-encodes it (internal/opus, 8 kHz mono, 24 kbit/s, 960 RTP ticks a
// frame), and the agent's Opus is decoded at 8 kHz and encoded to PCMU for
// OnAgentAudio. A 1 kHz tone keeps its level within 0.1 dB through PCMU,
// Opus and back (TestOpusAgent). A build without cgo has no libopus and
// registers PCMU alone.
//
// WriteFrame sends 20 ms of masked caller audio (160 PCMU bytes) to the
// agent as one RTP packet with its own sequence number and timestamp. One
// goroutine per remote track reads the agent's RTP and hands OnAgentAudio
// 160-byte PCMU frames in order (PCMU payloads of other sizes are split or
// joined, lost packets up to 1 s become PCMU silence, late ones are
// dropped, Opus packets that do not decode are dropped like lost ones;
// only the first PCMU or Opus track is played); another reads RTCP for the
// sent track, so the interceptors and Stats see the agent's receiver
// reports. Close stops and waits for all of them; callbacks must not call
// Close.
//
// Per frame, WriteFrame allocates nothing on either codec; pion's SRTP and
// interceptor chain below it write in place (the allocations
// BenchmarkWriteFrame reports are its receiving test peer's). A PCMU frame
// costs about 7 µs to send; an Opus one about 150 µs, nearly all of it the
// Opus encoder (internal/opus BenchmarkEncode, about 105 µs), so Opus legs
// cost some twenty times the CPU of PCMU ones. Reading reuses one buffer
// per track (and one Opus decoder, about 10 µs a packet).
//
// What it does not do yet:
//   - Opus in stereo, at other frame sizes than 20 ms from the server, with
//     FEC or DTX from the server, or loss concealment (lost Opus packets
//     are PCMU silence, as for PCMU). Received Opus packets of any frame
//     size are decoded.
//   - Telephone-events from the agent, PCMA, DTX or comfort noise.
//   - ICE restarts, renegotiation after the first exchange, TURN or STUN
//     servers (host candidates, and the public address when configured).
//   - Resolve mDNS candidates beyond the local link: a browser's .local
//     host candidate resolves only where multicast reaches the server
//     (the same LAN); no test covers it, as the tests run on loopback.
//   - An end-of-candidates signal to the agent: OnCandidate is called for
//     each candidate, not when gathering ends.
package agentleg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/internal/opus"
)

// Errors. Each is wrapped with what went wrong; check with errors.Is.
var (
	// ErrConfig: the Config cannot be used; fix the named field.
	ErrConfig = errors.New("agentleg: bad configuration")
	// ErrParams: the LegParams cannot be used; fix the named field.
	ErrParams = errors.New("agentleg: bad leg parameters")
	// ErrClosed: the leg was closed; start a new one.
	ErrClosed = errors.New("agentleg: leg closed")
	// ErrSDP: an offer or answer was malformed, out of order, or has
	// neither PCMU nor Opus audio; the agent must send a new one.
	ErrSDP = errors.New("agentleg: bad session description")
	// ErrCandidate: an ICE candidate could not be parsed or added; the
	// agent sent something that is not an ICE candidate line.
	ErrCandidate = errors.New("agentleg: bad ICE candidate")
	// ErrFrame: WriteFrame was given something other than 160 bytes.
	ErrFrame = errors.New("agentleg: frame is not 20 ms of PCMU (160 bytes)")
	// ErrWebRTC: pion failed to set something up; the wrapped error says what.
	ErrWebRTC = errors.New("agentleg: webrtc")
)

// Config is what every leg made by one API shares.
type Config struct {
	// PublicIP is the address the agents reach this server at when it sits
	// behind a 1:1 NAT: host candidates carry it instead of the local
	// address. Empty on loopback and when the server has a public address.
	PublicIP string
	// PortMin and PortMax bound the UDP ports ICE uses; 0 and 0 is any.
	PortMin, PortMax uint16
	// Loopback allows 127.0.0.1 host candidates (tests, the embedded setup).
	Loopback bool
	// IPFilter, when set, keeps only the local addresses it returns true
	// for (tests use it to stay on 127.0.0.1).
	IPFilter func(net.IP) bool
	// Logger receives state changes and pion's warnings; nil discards them.
	Logger *slog.Logger
}

// API makes legs; it is safe for concurrent use and holds no goroutines.
type API struct {
	api *webrtc.API
	log *slog.Logger
}

// The codecs, in the order the server offers them: PCMU 8000 (static
// payload type 0), then Opus as WebRTC has it (48000/2, payload type 111,
// the fmtp browsers use).
var (
	pcmu = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: clockRate, Channels: 1},
		PayloadType:        0,
	}
	opusCodec = webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: opus.RTPClockRate, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}
)

// NewAPI builds the shared WebRTC API from cfg.
func NewAPI(cfg Config) (*API, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.PortMax < cfg.PortMin {
		return nil, fmt.Errorf("%w: PortMax %d is below PortMin %d", ErrConfig, cfg.PortMax, cfg.PortMin)
	}
	if (cfg.PortMin == 0) != (cfg.PortMax == 0) {
		return nil, fmt.Errorf("%w: set both PortMin and PortMax, or neither", ErrConfig)
	}

	var se webrtc.SettingEngine
	se.LoggerFactory = slogFactory{log: log}
	// Browsers hide their addresses in mDNS (.local) host candidates: the
	// legs ask for them on the local network (query only: the server never
	// hides its own addresses). Best effort: pion resolves what answers
	// within its timeout and drops the rest, and where it cannot open the
	// multicast socket it carries on without.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeQueryOnly)
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	if cfg.IPFilter != nil {
		se.SetIPFilter(cfg.IPFilter)
	}
	if cfg.PortMin != 0 {
		if err := se.SetEphemeralUDPPortRange(cfg.PortMin, cfg.PortMax); err != nil {
			return nil, fmt.Errorf("%w: port range %d-%d: %w", ErrConfig, cfg.PortMin, cfg.PortMax, err)
		}
	}
	if cfg.PublicIP != "" {
		ip, err := netip.ParseAddr(cfg.PublicIP)
		if err != nil {
			return nil, fmt.Errorf("%w: PublicIP %q is not an IP address: %w", ErrConfig, cfg.PublicIP, err)
		}
		rule := webrtc.ICEAddressRewriteRule{
			External:        []string{ip.String()},
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}
		if err := se.SetICEAddressRewriteRules(rule); err != nil {
			return nil, fmt.Errorf("%w: PublicIP %s: %w", ErrConfig, ip, err)
		}
	}

	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(pcmu, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("%w: registering PCMU: %w", ErrWebRTC, err)
	}
	if opus.Available { // not in a build without cgo: PCMU only
		if err := me.RegisterCodec(opusCodec, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("%w: registering Opus: %w", ErrWebRTC, err)
		}
	}
	// RTCP sender and receiver reports. No NACK (late audio is useless),
	// no TWCC or simulcast (no bandwidth estimation for 64 kbit/s).
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("%w: RTCP report interceptors: %w", ErrWebRTC, err)
	}

	api := webrtc.NewAPI(
		webrtc.WithMediaEngine(me),
		webrtc.WithInterceptorRegistry(reg),
		webrtc.WithSettingEngine(se),
	)
	return &API{api: api, log: log}, nil
}

// slogFactory routes pion's logs to slog: its Info is our Debug (pion logs
// every state change and we log our own), Warn and Error stay.
type slogFactory struct{ log *slog.Logger }

func (f slogFactory) NewLogger(scope string) logging.LeveledLogger {
	return slogLogger{log: f.log.With("pion", scope)}
}

type slogLogger struct{ log *slog.Logger }

func (l slogLogger) at(level slog.Level, msg string) {
	l.log.Log(context.Background(), level, msg)
}

func (l slogLogger) atf(level slog.Level, format string, args ...any) {
	if l.log.Enabled(context.Background(), level) {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l slogLogger) Trace(string)                 {}
func (l slogLogger) Tracef(string, ...any)        {}
func (l slogLogger) Debug(msg string)             { l.at(slog.LevelDebug-4, msg) }
func (l slogLogger) Debugf(f string, args ...any) { l.atf(slog.LevelDebug-4, f, args...) }
func (l slogLogger) Info(msg string)              { l.at(slog.LevelDebug, msg) }
func (l slogLogger) Infof(f string, args ...any)  { l.atf(slog.LevelDebug, f, args...) }
func (l slogLogger) Warn(msg string)              { l.at(slog.LevelWarn, msg) }
func (l slogLogger) Warnf(f string, args ...any)  { l.atf(slog.LevelWarn, f, args...) }
func (l slogLogger) Error(msg string)             { l.at(slog.LevelError, msg) }
func (l slogLogger) Errorf(f string, args ...any) { l.atf(slog.LevelError, f, args...) }
