// Package trunk is the SIP trunk side of the server (emiago/sipgo): it takes
// INVITEs from the configured trunks over UDP and TCP, answers their SDP,
// and runs each call's caller leg (server/callerleg): RTP from the caller
// goes through the call's Masker before anything else sees it, and SIP INFO
// key presses go to the same Masker. OPTIONS keep-alives are answered.
//
// With a Ringback configured, a call waiting for an agent gets early media:
// Ring sends 183 Session Progress with our SDP answer and plays the
// ringback tone from the call's RTP socket, on the same RTP stream (SSRC,
// sequence) that carries the agent's voice after Answer; the 200 OK carries
// the same SDP. Caller audio that arrives before Answer is dropped unheard
// (only its source address is kept, to send the tone back to).
//
// RTCP runs beside each call's RTP: on the port above it (the pair is bound
// even and odd), or muxed on it when the offer has a=rtcp-mux. About every
// RTCPInterval (randomised, RFC 3550 6.3.1) the call sends a sender report
// while it sends audio (else a receiver report) with the reception report
// of the caller's stream and our CNAME, and a BYE when it ends; it reads
// the caller's reports (round trip in Stats().RTT), counts junk and notes a
// BYE. It does not adapt anything to what RTCP says.
//
// Trunks are known by their source address (Config.Allow); with
// Config.Auth they must also prove a credential with SIP digest (RFC 3261,
// RFC 8760: MD5 or SHA-256, qop=auth, nonces that expire after 5 minutes).
// An answer whose nonce count is not above the last one accepted for its
// nonce and cnonce is refused, so a captured INVITE cannot be replayed.
// Passwords are never logged.
//
// Outbound calls (Trunk.Dial) go to one configured trunk (Config.Outbound)
// from the SIP port, offering PCMU, PCMA and telephone-event, answering a
// 401/407 with Config.OutboundAuth; once answered the *Call is like an
// answered inbound one (the far end's audio through its Masker, Send,
// Hangup, Done). Early media from the far end is not played to anyone, and
// there is no outbound proxy, DNS SRV or registration.
//
// What a call does once offered (ring an agent, answer, reject) is the
// OnCall handler's business; the trunk only carries it out.
package trunk

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	mathrand "math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/server/callerleg"
	"github.com/hushphone/hushphone/server/sdpneg"
)

// Errors.
var (
	ErrConfig   = errors.New("trunk: bad configuration")
	ErrAnswered = errors.New("trunk: call already answered or ended")
	ErrInfo     = errors.New("trunk: SIP INFO holds no key press")
	ErrNoPorts  = errors.New("trunk: no media ports")
)

// Config configures the trunk side.
type Config struct {
	// SIPAddr is where SIP is served, over UDP and TCP (default
	// 127.0.0.1:5060).
	SIPAddr string
	// RTPAddr is the local address for calls' RTP (default 127.0.0.1).
	RTPAddr netip.Addr
	// RTPPortMin and RTPPortMax, if set, bound the ports calls' RTP and
	// RTCP use (for firewalls); 0 and 0: any free port.
	RTPPortMin, RTPPortMax uint16
	// Allow lists the source addresses trunks may call from (default
	// loopback only, so the embedded setup works and nothing else does).
	Allow []netip.Prefix
	// OnCall is called, in its own goroutine, for every INVITE accepted:
	// it must Answer or Reject the call.
	OnCall func(*Call)
	// Ringback, if set (RingbackUK, RingbackUS), makes Ring send early
	// media: 183 Session Progress with our SDP answer, and this tone to the
	// caller on RTP until Answer. Unset, Ring sends 180 Ringing only.
	Ringback *Ringback
	// Auth, if set, makes INVITEs from allowed sources prove one of these
	// credentials with SIP digest (SHA-256 or MD5, qop=auth): one without
	// valid credentials gets 401 with a challenge. Unset, the source
	// address is all that is checked.
	Auth []Credential
	// AuthAlgorithms are the digest algorithms offered, in order, and the
	// only ones accepted (default DefaultAuthAlgorithms).
	AuthAlgorithms []string
	// Outbound is the outbound trunk's SIP address, HOST:PORT, for Dial
	// (empty: Dial returns ErrNoOutbound).
	Outbound string
	// OutboundFrom is the number our outbound calls present (From's user
	// part; default "hushphone").
	OutboundFrom string
	// OutboundAuth, if set, answers the outbound trunk's digest
	// challenge (its realm is not checked).
	OutboundAuth *Credential
	// RTCPInterval is how often a call sends RTCP reports, on average
	// (default 5 s; each wait is 0.5 to 1.5 of it).
	RTCPInterval time.Duration
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
}

// Trunk serves SIP for the trunks.
type Trunk struct {
	cfg     Config
	log     *slog.Logger
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	dialogs *sipgo.DialogServerCache

	mu       sync.Mutex
	calls    map[string]*Call // by Call-ID
	closing  bool             // shutting down: new INVITEs are refused
	wg       sync.WaitGroup   // call goroutines
	handlers sync.WaitGroup   // INVITE handlers, which call OnCall, and Dials
	bg       sync.WaitGroup   // abandoned Dials, cancelling in the background

	auth *authenticator // nil without Config.Auth

	outDialogs *sipgo.DialogClientCache // nil without Config.Outbound
	outHost    string
	outPort    int
	sipHost    string        // our SIP address's host, for From
	serving    chan struct{} // closed when Serve serves: Dial may send
	shutdown   chan struct{} // closed when Serve begins to shut down: Dials are cancelled

	udp net.PacketConn // bound by Listen
	tcp net.Listener
}

// New checks the configuration and prepares the trunk side.
func New(cfg Config) (*Trunk, error) {
	if cfg.SIPAddr == "" {
		cfg.SIPAddr = "127.0.0.1:5060"
	}
	if !cfg.RTPAddr.IsValid() {
		cfg.RTPAddr = netip.MustParseAddr("127.0.0.1")
	}
	if len(cfg.Allow) == 0 {
		cfg.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if cfg.OnCall == nil {
		return nil, fmt.Errorf("%w: no OnCall handler", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RTCPInterval <= 0 {
		cfg.RTCPInterval = 5 * time.Second
	}
	if cfg.RTPPortMax < cfg.RTPPortMin || (cfg.RTPPortMin == 0) != (cfg.RTPPortMax == 0) {
		return nil, fmt.Errorf("%w: RTP ports %d-%d: set both, MIN up to MAX", ErrConfig, cfg.RTPPortMin, cfg.RTPPortMax)
	}
	if cfg.Ringback != nil {
		if _, err := cfg.Ringback.frames(g711.ULaw); err != nil {
			return nil, err
		}
	}
	host, portS, err := net.SplitHostPort(cfg.SIPAddr)
	if err != nil {
		return nil, fmt.Errorf("%w: SIP address %q: %w", ErrConfig, cfg.SIPAddr, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return nil, fmt.Errorf("%w: SIP port %q: %w", ErrConfig, portS, err)
	}
	// sipgo logs through its default logger: through siplog, which keeps
	// raw SIP out of the logs.
	routeSIPLogs(cfg.Logger.Handler())
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Hushphone"))
	if err != nil {
		return nil, fmt.Errorf("trunk: %w", err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, fmt.Errorf("trunk: %w", err)
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		return nil, fmt.Errorf("trunk: %w", err)
	}
	t := &Trunk{
		cfg: cfg, log: cfg.Logger, ua: ua, srv: srv, calls: map[string]*Call{}, serving: make(chan struct{}), shutdown: make(chan struct{}),
		dialogs: sipgo.NewDialogServerCache(cli, sip.ContactHeader{Address: sip.Uri{User: "hushphone", Host: host, Port: port}}),
	}
	if cfg.OutboundFrom == "" {
		cfg.OutboundFrom = "hushphone"
	} else if !validNumber(cfg.OutboundFrom) {
		return nil, fmt.Errorf("%w: outbound caller number %q: digits, with an optional leading +", ErrConfig, cfg.OutboundFrom)
	}
	t.cfg.OutboundFrom, t.sipHost = cfg.OutboundFrom, host
	if cfg.Outbound != "" {
		if t.outHost, t.outPort, err = outbound(cfg.Outbound); err != nil {
			return nil, err
		}
		// Outbound requests go from the SIP port, so that the far end's
		// answers and requests come back where we serve.
		outCli, err := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr(cfg.SIPAddr), sipgo.WithClientAddr(cfg.SIPAddr))
		if err != nil {
			return nil, fmt.Errorf("trunk: %w", err)
		}
		t.outDialogs = sipgo.NewDialogClientCache(outCli, sip.ContactHeader{Address: sip.Uri{User: "hushphone", Host: host, Port: port}})
	}
	if len(cfg.Auth) > 0 {
		if t.auth, err = newAuthenticator(cfg.Auth, cfg.AuthAlgorithms); err != nil {
			return nil, err
		}
	}
	srv.OnInvite(t.onInvite)
	srv.OnAck(t.onAck)
	srv.OnBye(t.onBye)
	srv.OnInfo(t.onInfo)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		t.respond(tx, req, sip.StatusOK, "OK")
	})
	return t, nil
}

// Listen binds SIPAddr over UDP and TCP, so a taken port is an error now
// and requests are queued by the OS from here on; Serve serves them.
func (t *Trunk) Listen(ctx context.Context) error {
	if t.udp != nil {
		return fmt.Errorf("%w: Listen called twice", ErrConfig)
	}
	var lc net.ListenConfig
	udp, err := lc.ListenPacket(ctx, "udp", t.cfg.SIPAddr)
	if err != nil {
		return fmt.Errorf("trunk: SIP over UDP on %s: %w", t.cfg.SIPAddr, err)
	}
	tcp, err := lc.Listen(ctx, "tcp", t.cfg.SIPAddr)
	if err != nil {
		_ = udp.Close()
		return fmt.Errorf("trunk: SIP over TCP on %s: %w", t.cfg.SIPAddr, err)
	}
	t.mu.Lock()
	t.udp, t.tcp = udp, tcp
	t.mu.Unlock()
	return nil
}

// readyConn closes ready when sipgo first reads the SIP socket: it has
// registered the socket by then, so that Dial's requests go out from it.
type readyConn struct {
	net.PacketConn
	once  sync.Once
	ready chan struct{}
}

func (r *readyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	r.once.Do(func() { close(r.ready) })
	return r.PacketConn.ReadFrom(b) //nolint:wrapcheck // a net.PacketConn's own errors
}

// ListenAndServe is Listen, then Serve.
func (t *Trunk) ListenAndServe(ctx context.Context) error {
	if err := t.Listen(ctx); err != nil {
		return err
	}
	return t.Serve(ctx)
}

// Serve serves SIP on what Listen bound until ctx is done, then hangs up
// every call and waits for them to end.
func (t *Trunk) Serve(ctx context.Context) error {
	if t.udp == nil {
		return fmt.Errorf("%w: Serve before Listen", ErrConfig)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- t.srv.ServeUDP(&readyConn{PacketConn: t.udp, ready: t.serving}) }()
	go func() { errs <- t.srv.ServeTCP(t.tcp) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
		cancel()
	}
	t.mu.Lock()
	t.closing = true // new INVITEs get 503 from here on
	t.mu.Unlock()
	close(t.shutdown)
	// The listeners stay open while the calls are hung up, for the BYEs'
	// answers.
	t.hangupAll(context.WithoutCancel(ctx))
	t.wg.Wait()
	// OnCall's handlers are done with too before we return, so whoever
	// owns OnCall may shut down once this returns.
	t.handlers.Wait()
	// Abandoned Dials get a moment to send their CANCELs; closing the UA
	// then ends their transactions.
	bgDone := make(chan struct{})
	go func() { t.bg.Wait(); close(bgDone) }()
	select {
	case <-bgDone:
	case <-time.After(2 * time.Second):
	}
	_ = t.udp.Close()
	_ = t.tcp.Close()
	_ = t.ua.Close()
	<-bgDone
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("trunk: %w", err)
	}
	return nil
}

func (t *Trunk) hangupAll(ctx context.Context) {
	t.mu.Lock()
	calls := make([]*Call, 0, len(t.calls))
	for _, c := range t.calls {
		calls = append(calls, c)
	}
	t.mu.Unlock()
	// All at once: each waits up to 2 s for its caller's answer.
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			if err := c.Hangup(hctx); err != nil {
				t.log.Info("trunk: call hung up uncleanly", "call", c.ID, "err", err)
			}
		})
	}
	wg.Wait()
}

func (t *Trunk) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string) {
	if err := tx.Respond(sip.NewResponseFromRequest(req, code, reason, nil)); err != nil {
		t.log.Debug("trunk: response not sent", "code", code, "err", err)
	}
}

// allowed reports whether a request comes from an allowed trunk address.
func (t *Trunk) allowed(req *sip.Request) bool {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return false
	}
	for _, p := range t.cfg.Allow {
		if p.Contains(src.Addr().Unmap()) {
			return true
		}
	}
	return false
}

func (t *Trunk) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		t.respond(tx, req, sip.StatusServiceUnavailable, "Shutting down")
		return
	}
	t.handlers.Add(1)
	t.mu.Unlock()
	defer t.handlers.Done()
	if !t.allowed(req) {
		t.log.Info("trunk: INVITE refused: source not allowed", "source", req.Source())
		t.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return
	}
	if c := t.call(req); c != nil {
		t.reinvite(c, req, tx)
		return
	}
	if t.auth != nil {
		if _, err := t.auth.verify(req); err != nil {
			if !errors.Is(err, errNoCredentials) && !errors.Is(err, errStale) {
				t.log.Info("trunk: INVITE failed authentication", "source", req.Source(), "err", err)
			}
			if err := tx.Respond(t.auth.challenge(req, errors.Is(err, errStale))); err != nil {
				t.log.Debug("trunk: challenge not sent", "err", err)
			}
			return
		}
	}
	offer, err := sdpneg.Negotiate(req.Body())
	if err != nil {
		code, reason := sip.StatusBadRequest, "Bad SDP"
		if errors.Is(err, sdpneg.ErrNotAcceptable) {
			code, reason = 488, "Not Acceptable Here"
		}
		t.log.Info("trunk: INVITE refused", "code", code, "err", err)
		t.respond(tx, req, code, reason)
		return
	}
	dlg, err := t.dialogs.ReadInvite(req, tx)
	if err != nil {
		t.respond(tx, req, sip.StatusBadRequest, "Bad Request")
		return
	}
	c, err := t.newCall(offer, !offer.RTCPMux)
	if err != nil {
		t.log.Error("trunk: no RTP port", "err", err)
		_ = dlg.Respond(sip.StatusServiceUnavailable, "No media port", nil)
		return
	}
	c.ID, c.From, c.dlg, c.srv = req.CallID().Value(), req.From().Address.User, dlg, dlg
	t.mu.Lock()
	if t.closing { // shutdown began while the INVITE was read: hangupAll will not see this call
		t.mu.Unlock()
		c.closeSockets()
		t.respond(tx, req, sip.StatusServiceUnavailable, "Shutting down") // not the dialog's Respond, which waits for the ACK
		_ = dlg.Close()
		return
	}
	t.calls[c.ID] = c
	t.mu.Unlock()
	t.log.Info("trunk: call offered", "call", c.ID, "law", offer.Law.String())
	if t.cfg.Metrics != nil {
		t.cfg.Metrics.CallOffered()
	}
	t.wg.Add(1)
	go c.run()
	t.cfg.OnCall(c)
	<-c.ended // the INVITE's handler lives as long as the call
}

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

func (t *Trunk) call(req *sip.Request) *Call {
	id := req.CallID()
	if id == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[id.Value()]
}

func (t *Trunk) onAck(req *sip.Request, tx sip.ServerTransaction) {
	_ = t.dialogs.ReadAck(req, tx)
}

func (t *Trunk) onBye(req *sip.Request, tx sip.ServerTransaction) {
	err := t.dialogs.ReadBye(req, tx)
	if err != nil && t.outDialogs != nil {
		err = t.outDialogs.ReadBye(req, tx) // the far end of an outbound call
	}
	if err != nil {
		t.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}
}

// onInfo takes SIP INFO key presses (application/dtmf-relay or
// application/dtmf) to the call's Masker.
func (t *Trunk) onInfo(req *sip.Request, tx sip.ServerTransaction) {
	c := t.call(req)
	if c == nil {
		t.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		return
	}
	digit, d, err := parseInfo(req)
	if err != nil {
		t.respond(tx, req, sip.StatusBadRequest, "Bad DTMF")
		return
	}
	if err := c.keyPress(digit, d); err != nil {
		t.respond(tx, req, sip.StatusBadRequest, "Bad DTMF")
		return
	}
	t.respond(tx, req, sip.StatusOK, "OK")
}

// parseInfo reads a key press from a SIP INFO body: "Signal=5\r\nDuration=160"
// (application/dtmf-relay) or "5" (application/dtmf).
func parseInfo(req *sip.Request) (byte, time.Duration, error) {
	ct := req.ContentType()
	if ct == nil {
		return 0, 0, fmt.Errorf("%w: no content type", ErrInfo)
	}
	body := strings.TrimSpace(string(req.Body()))
	d := 160 * time.Millisecond
	var sig string
	switch strings.ToLower(strings.TrimSpace(ct.Value())) {
	case "application/dtmf-relay":
		for _, line := range strings.Split(body, "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "signal":
				sig = strings.TrimSpace(v)
			case "duration":
				if ms, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && ms > 0 && ms < 10000 {
					d = time.Duration(ms) * time.Millisecond
				}
			}
		}
	case "application/dtmf":
		sig = body
	default:
		return 0, 0, fmt.Errorf("%w: content type %q", ErrInfo, ct.Value())
	}
	if len(sig) != 1 || !dtmf.ValidDigit(strings.ToUpper(sig)[0]) {
		return 0, 0, fmt.Errorf("%w: no single key", ErrInfo)
	}
	return strings.ToUpper(sig)[0], d, nil
}

// Call is one inbound call, from its INVITE until it ends.
type Call struct {
	ID    string       // the SIP Call-ID
	From  string       // the caller's number (user part of From); for an outbound call, the number dialled
	Offer sdpneg.Offer // what the caller's SDP asked for; for an outbound call, what the far end's answer agreed
	// Outbound is set for calls made with Dial.
	Outbound bool

	t        *Trunk
	dlg      dialog                     // the call's dialog, either side
	srv      *sipgo.DialogServerSession // an inbound call's dialog, for its responses
	conn     *net.UDPConn               // RTP (and RTCP when muxed)
	rtcpConn *net.UDPConn               // RTCP on the next port up; nil when muxed
	cname    string                     // our RTCP CNAME
	ended    chan struct{}
	stop     chan struct{} // closed by Hangup: the call ends on our side whatever the peer does
	once     sync.Once

	sig   sync.Mutex // serialises what is said on the dialog, and guards state
	state callState

	mu      sync.Mutex // guards what follows: the RTP loop and SIP INFO share the leg
	leg     *callerleg.Leg
	masker  *mask.Masker
	started bool
	arrival time.Time // of the packet being handled

	early netip.AddrPort // where the caller's RTP comes from before Answer

	answer []byte // our SDP answer: the same in 183 and 200
	// sdpSession is our o= line's session id; sdpVersion counts the
	// answers to re-INVITEs since (each is version 1+sdpVersion).
	sdpSession, sdpVersion uint64
	ringStop               chan struct{} // closed to stop the ringback
	ringOnce               sync.Once     // the ringback starts once at most
	ringEnd                sync.Once     // and stops once
	ringWG                 sync.WaitGroup

	agentSent atomic.Bool // the agent's first frame has gone (it gets the marker bit)

	rtcpFrom netip.AddrPort // where the caller's RTCP comes from (guarded by mu)

	sendMu    sync.Mutex // guards our RTP stream to the caller (ringback, then the agent)
	send      rtp.Packet
	sendB     [12 + 160]byte
	sentAny   bool      // the stream's first packet has gone (it had the marker bit)
	sentNew   bool      // packets have gone since the last RTCP report
	sentPkts  uint32    // for sender reports
	sentBytes uint32    // payload octets
	sentAt    time.Time // when the last packet went
	sentTS    uint32    // and its RTP timestamp
}

// dialog is what a call does with its dialog, inbound or outbound.
type dialog interface {
	Bye(ctx context.Context) error
	Close() error
	Context() context.Context
}

type callState uint8

const (
	stateOffered  callState = iota // ringing, or waiting to
	stateAnswered                  // 200 OK sent
	stateOver                      // rejected or hung up by us
)

// Done is closed when the call has ended, whoever ended it.
func (c *Call) Done() <-chan struct{} { return c.ended }

// Ring tells the caller the call is waiting: 180 Ringing, or, with a
// Ringback configured, 183 Session Progress with our SDP answer and the
// ringback tone on RTP until Answer or the call's end.
func (c *Call) Ring() error {
	c.sig.Lock()
	defer c.sig.Unlock()
	if c.state != stateOffered {
		return ErrAnswered
	}
	rb := c.t.cfg.Ringback
	if rb == nil {
		if err := c.srv.Respond(sip.StatusRinging, "Ringing", nil); err != nil {
			return fmt.Errorf("trunk: ring: %w", err)
		}
		return nil
	}
	answer, err := c.answerSDP()
	if err != nil {
		return err
	}
	tone, err := rb.frames(c.Offer.Law)
	if err != nil {
		return err
	}
	if err := c.srv.Respond(sip.StatusSessionInProgress, "Session Progress", answer, sip.NewHeader("Content-Type", "application/sdp")); err != nil {
		return fmt.Errorf("trunk: ring: %w", err)
	}
	c.ringOnce.Do(func() {
		c.ringWG.Add(1)
		go c.ringback(tone)
	})
	return nil
}

// answerSDP is our answer to the offer, made once so that 183 and 200
// carry the same.
// reinvite answers a re-INVITE in a call (hold, resume, a session
// refresh): the media goes on as it is; the answer mirrors the offer's
// direction (sendonly, our hold, is answered recvonly) with a new SDP
// version, and an offer without SDP gets ours. An offer that drops our
// codec gets 488, and the call goes on as before.
func (t *Trunk) reinvite(c *Call, req *sip.Request, tx sip.ServerTransaction) {
	c.sig.Lock()
	defer c.sig.Unlock()
	base, err := c.answerSDP()
	if err != nil {
		t.respond(tx, req, sip.StatusInternalServerError, "Server Error")
		return
	}
	body := base
	if len(req.Body()) > 0 {
		o, err := sdpneg.Negotiate(req.Body())
		if err != nil || o.Law != c.Offer.Law {
			t.log.Info("trunk: re-INVITE refused", "call", c.ID, "err", err)
			t.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		o.AudioPT, o.EventPT, o.RTCPMux = c.Offer.AudioPT, c.Offer.EventPT, c.Offer.RTCPMux
		local, err := netip.ParseAddrPort(c.conn.LocalAddr().String())
		if err != nil {
			t.respond(tx, req, sip.StatusInternalServerError, "Server Error")
			return
		}
		c.sdpVersion++
		body = sdpneg.Answer(o, netip.AddrPortFrom(local.Addr().Unmap(), local.Port()), c.sdpSession, 1+c.sdpVersion)
		t.log.Info("trunk: re-INVITE", "call", c.ID, "direction", o.Direction.String())
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", body)
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if err := tx.Respond(res); err != nil {
		t.log.Debug("trunk: re-INVITE answer not sent", "call", c.ID, "err", err)
	}
}

func (c *Call) answerSDP() ([]byte, error) {
	if c.answer != nil {
		return c.answer, nil
	}
	local, err := netip.ParseAddrPort(c.conn.LocalAddr().String())
	if err != nil {
		return nil, fmt.Errorf("%w: RTP address: %w", ErrConfig, err)
	}
	c.sdpSession = uint64(time.Now().Unix())
	c.answer = sdpneg.Answer(c.Offer, netip.AddrPortFrom(local.Addr().Unmap(), local.Port()), c.sdpSession, 1)
	return c.answer, nil
}

// ringback plays tone (whole frames, repeated) to the caller every 20 ms
// until stopped.
func (c *Call) ringback(tone []byte) {
	defer c.ringWG.Done()
	done := c.dlg.Context().Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	marker := true
	for i := 0; ; i = (i + mask.FrameSamples) % len(tone) {
		if err := c.write(tone[i:i+mask.FrameSamples], marker); err != nil {
			c.t.log.Debug("trunk: ringback not sent", "call", c.ID, "err", err)
		}
		marker = false
		select {
		case <-c.ringStop:
			return
		case <-c.stop:
			return
		case <-done:
			return
		case <-tick.C:
		}
	}
}

// stopRingback stops the ringback, if any, and waits for it.
func (c *Call) stopRingback() {
	c.ringOnce.Do(func() {}) // none may start from now on
	c.ringEnd.Do(func() { close(c.ringStop) })
	c.ringWG.Wait()
}

// Answer answers the call (200 OK with our SDP; it returns once the caller
// has acknowledged it): from now on every 20 ms of the caller's audio,
// masked, goes to out (G.711 in the agreed law, called from the call's
// receive goroutine, must not block), and every key press to keys (the
// payment side's input; never to be logged or shown).
func (c *Call) Answer(out func(frame []byte), keys func(dtmf.Event)) error {
	c.sig.Lock()
	defer c.sig.Unlock()
	if c.state != stateOffered {
		return ErrAnswered
	}
	c.state = stateAnswered
	c.stopRingback()
	answer, err := c.answerSDP()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.startLeg(out, keys); err != nil {
		return err
	}
	if err := c.srv.RespondSDP(answer); err != nil {
		return fmt.Errorf("trunk: answer: %w", err)
	}
	return nil
}

// startLeg makes the call's Masker and caller leg: from now on the far
// end's audio goes through the Masker to out. Called with mu held.
func (c *Call) startLeg(out func(frame []byte), keys func(dtmf.Event)) error {
	c.masker = mask.New(mask.WithKeyEvents(keys))
	if m := c.t.cfg.Metrics; m != nil {
		// The frame going out now holds audio that arrived one look-ahead
		// before the packet being handled.
		lookahead, inner := c.masker.Lookahead(), out
		out = func(frame []byte) {
			m.AddedLatency(lookahead + time.Since(c.arrival))
			inner(frame)
		}
	}
	leg, err := callerleg.New(callerleg.Params{Masker: c.masker, Law: c.Offer.Law, AudioPT: c.Offer.AudioPT, EventPT: c.Offer.EventPT, Out: out})
	if err != nil {
		return fmt.Errorf("trunk: %w", err)
	}
	c.leg, c.started = leg, true
	return nil
}

// Reject refuses the call with a SIP status (486 Busy Here, 480
// Temporarily Unavailable, ...).
func (c *Call) Reject(code int, reason string) error {
	c.sig.Lock()
	defer c.sig.Unlock()
	if c.state != stateOffered {
		return ErrAnswered
	}
	c.state = stateOver
	err := c.srv.Respond(code, reason, nil)
	c.end()
	if err != nil {
		return fmt.Errorf("trunk: reject: %w", err)
	}
	return nil
}

// end makes the call end on our side, whatever the peer does.
func (c *Call) end() {
	_ = c.dlg.Close()
	c.once.Do(func() { close(c.stop) })
}

// Hangup ends an answered call with a BYE (or an unanswered one with 480).
func (c *Call) Hangup(ctx context.Context) error {
	c.sig.Lock()
	defer c.sig.Unlock()
	var err error
	switch c.state {
	case stateOver:
		return nil
	case stateAnswered:
		err = c.dlg.Bye(ctx)
	default:
		// sipgo waits for the caller's ACK of a final answer (up to
		// 32 s); a caller that never sends it must not hold us past ctx.
		done := make(chan error, 1)
		go func() { done <- c.srv.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil) }()
		select {
		case err = <-done:
		case <-ctx.Done():
			err = fmt.Errorf("no ACK from the caller: %w", ctx.Err())
		}
	}
	c.state = stateOver
	c.end()
	if err != nil {
		return fmt.Errorf("trunk: hang up: %w", err)
	}
	return nil
}

// ErrNotAnswered is returned by Send before Answer.
var ErrNotAnswered = errors.New("trunk: call not answered")

// Send sends 20 ms of the agent's voice (160 bytes of G.711 in the call's
// law) to the caller: to the address the caller's RTP comes from once it
// has sent any (symmetric RTP), to its SDP's address until then.
func (c *Call) Send(frame []byte) error {
	if len(frame) != mask.FrameSamples {
		return fmt.Errorf("%w: got %d bytes", callerleg.ErrMalformed, len(frame))
	}
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return ErrNotAnswered
	}
	return c.write(frame, !c.agentSent.Swap(true))
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

// Stats are the caller leg's counters (zero before Answer).
func (c *Call) Stats() callerleg.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leg == nil {
		return callerleg.Stats{}
	}
	return c.leg.Stats()
}

func (c *Call) keyPress(digit byte, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.masker == nil {
		return ErrAnswered
	}
	if err := c.masker.KeyPress(digit, d); err != nil {
		return fmt.Errorf("trunk: %w", err)
	}
	return nil
}

func (c *Call) hungUp() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
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

// run receives the call's RTP (and RTCP) and sends its RTCP reports until
// the dialog ends.
func (c *Call) run() {
	defer c.t.wg.Done()
	var loops sync.WaitGroup
	defer func() {
		c.stopRingback()
		loops.Wait()
		c.sendBye()
		c.closeSockets()
		c.t.mu.Lock()
		delete(c.t.calls, c.ID)
		c.t.mu.Unlock()
		if m := c.t.cfg.Metrics; m != nil {
			m.CallEnded(c.Stats())
		}
		close(c.ended)
		c.t.log.Info("trunk: call ended", "call", c.ID)
	}()
	ctx := c.dlg.Context()
	stop := make(chan struct{})
	defer close(stop)
	over := func() bool { return ctx.Err() != nil || c.hungUp() }
	loops.Go(func() {
		select {
		case <-ctx.Done():
		case <-c.stop:
		case <-stop:
			return
		}
		// Wake the reads below.
		_ = c.conn.SetReadDeadline(time.Now())
		if c.rtcpConn != nil {
			_ = c.rtcpConn.SetReadDeadline(time.Now())
		}
	})
	loops.Go(func() { c.reportLoop(ctx, stop) })
	if c.rtcpConn != nil {
		loops.Go(func() { readUDP(c.rtcpConn, over, c.rtcpIn) })
	}
	readUDP(c.conn, over, func(b []byte, from netip.AddrPort) {
		if c.Offer.RTCPMux && callerleg.IsRTCP(b) {
			c.rtcpIn(b, from)
			return
		}
		c.rtpIn(b, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()))
	})
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
