package trunk

// This file holds the SIP server: the package's errors, the Trunk, New
// (which checks Config), Listen and Serve (and shutdown), the allow list,
// and the handlers of the requests that reach it (INVITE, re-INVITE, ACK,
// BYE, OPTIONS; INFO is in info.go).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mask"
	"github.com/hushphone/hushphone/server/sdpneg"
	"github.com/hushphone/hushphone/server/trunk/rtpstream"
)

// Errors.
var (
	// ErrConfig is wrapped by errors about the configuration; they name
	// the setting (its key in server/config) or the Config field.
	ErrConfig = errors.New("trunk: bad configuration")
	// ErrSIP is wrapped by SIP that failed: a port not bound or served, a
	// request or response not sent or not answered.
	ErrSIP = errors.New("trunk: SIP")
	// ErrAnswered means the call was already answered or has ended.
	ErrAnswered = errors.New("trunk: call already answered or ended")
	// ErrInfo means a SIP INFO held no key press.
	ErrInfo = errors.New("trunk: SIP INFO holds no key press")
	// ErrNoPorts means no media port (or pair) was free.
	ErrNoPorts = rtpstream.ErrNoPorts
)

// Trunk serves SIP for the trunks.
type Trunk struct {
	cfg     Config
	log     *slog.Logger
	admit   *admission
	ua      *sipgo.UserAgent
	srv     *sipgo.Server
	dialogs *serverDialogs

	mu       sync.Mutex
	calls    map[string]*Call // by Call-ID
	closing  bool             // shutting down: new INVITEs are refused
	wg       sync.WaitGroup   // call goroutines
	handlers sync.WaitGroup   // INVITE handlers, which call OnCall, and Dials
	bg       sync.WaitGroup   // SIP exchanges left to finish in the background (abandoned Dials, Hangup's 480)
	bgOver   bool             // Serve no longer waits for bg: nothing more may join it

	auth *authenticator // nil without Config.Auth

	outDialogs *sipgo.DialogClientCache // nil without Config.Outbound
	outHost    string
	outPort    int
	outTLS     bool               // the outbound trunk is over TLS
	sipHost    string             // our SIP address's host, for From
	contact    sip.ContactHeader  // our Contact, for 2xx to INVITE over UDP and TCP
	tlsContact *sip.ContactHeader // over TLS (nil without Config.TLSAddr): contactFor
	serving    chan struct{}      // closed when Serve serves: Dial may send
	shutdown   chan struct{}      // closed when Serve begins to shut down: Dials are cancelled

	udp net.PacketConn  // bound by Listen
	tcp *streamListener // conns.go
	tls *streamListener // with Config.TLSAddr
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
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaskLookahead == 0 {
		cfg.MaskLookahead = mask.DefaultLookahead
	}
	if err := mask.CheckLookahead(cfg.MaskLookahead); err != nil {
		return nil, fmt.Errorf("%w: the mask-lookahead setting: %w", ErrConfig, err)
	}
	if cfg.RTPPortMax < cfg.RTPPortMin || (cfg.RTPPortMin == 0) != (cfg.RTPPortMax == 0) {
		return nil, fmt.Errorf("%w: the rtp-ports setting %d-%d: set both, MIN up to MAX", ErrConfig, cfg.RTPPortMin, cfg.RTPPortMax)
	}
	if cfg.Ringback != nil {
		if _, err := cfg.Ringback.frames(g711.ULaw); err != nil {
			return nil, err
		}
	}
	host, portS, err := net.SplitHostPort(cfg.SIPAddr)
	if err != nil {
		return nil, fmt.Errorf("%w: the sip setting %q is not HOST:PORT: %w", ErrConfig, cfg.SIPAddr, err)
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return nil, fmt.Errorf("%w: the sip setting's port %q: %w", ErrConfig, portS, err)
	}
	if host, port, err = advertised(cfg, host, port); err != nil {
		return nil, err
	}
	// sipgo logs through its default logger: through siplog, which keeps
	// raw SIP out of the logs.
	routeSIPLogs(cfg.Logger.Handler())
	if cfg.TLSAddr != "" && cfg.TLSConfig == nil {
		return nil, fmt.Errorf("%w: the sip-tls setting needs a certificate: sip-tls-cert and sip-tls-key, or tls-cert and tls-key", ErrConfig)
	}
	tlsContact, err := tlsContact(cfg)
	if err != nil {
		return nil, err
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("Hushphone"), sipgo.WithUserAgenTLSConfig(clientTLSConfig(cfg)))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSIP, err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSIP, err)
	}
	cli, err := sipgo.NewClient(ua)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSIP, err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{User: "hushphone", Host: host, Port: port}}
	t := &Trunk{
		cfg: cfg, log: cfg.Logger, admit: newAdmission(cfg.MaxCalls, cfg.InviteRate), ua: ua, srv: srv, calls: map[string]*Call{}, serving: make(chan struct{}), shutdown: make(chan struct{}),
		dialogs: newServerDialogs(cli, contact, tlsContact), contact: contact, tlsContact: tlsContact,
	}
	if cfg.OutboundFrom == "" {
		cfg.OutboundFrom = "hushphone"
	} else if !validNumber(cfg.OutboundFrom) {
		return nil, fmt.Errorf("%w: the trunk-out-from setting %q: digits, with an optional leading +", ErrConfig, cfg.OutboundFrom)
	}
	t.cfg.OutboundFrom, t.sipHost = cfg.OutboundFrom, host
	if cfg.Outbound != "" {
		if t.outHost, t.outPort, t.outTLS, err = outbound(cfg.Outbound); err != nil {
			return nil, err
		}
		// Outbound requests go from the SIP port (or over TLS), so that
		// the far end's answers and requests come back where we serve.
		outCli, contact, err := outboundClient(ua, cfg, t.outTLS, sip.ContactHeader{Address: sip.Uri{User: "hushphone", Host: host, Port: port}})
		if err != nil {
			return nil, err
		}
		t.outDialogs = sipgo.NewDialogClientCache(outCli, contact)
	}
	if len(cfg.Auth) > 0 {
		if t.auth, err = newAuthenticator(cfg.Auth, cfg.AuthAlgorithms); err != nil {
			return nil, err
		}
	}
	srv.OnInvite(t.onInvite)
	srv.OnUpdate(t.onUpdate)
	srv.OnAck(t.onAck)
	srv.OnBye(t.onBye)
	srv.OnInfo(t.onInfo)
	srv.OnOptions(t.onOptions)
	srv.OnCancel(t.onCancel)
	srv.OnNoRoute(t.onOtherMethod)
	return t, nil
}

// advertised is the host and port our Contact names: the sip-advertise
// setting's, else the SIP address's, else, for a SIP address of every
// address (0.0.0.0, ::), the media address with the SIP port. An
// unspecified address is never advertised: nobody can reach it.
func advertised(cfg Config, host string, port int) (string, int, error) {
	if cfg.Advertise != "" {
		h, p, err := net.SplitHostPort(cfg.Advertise)
		n, perr := strconv.Atoi(p)
		if err != nil || perr != nil || h == "" || unspecified(h) || n <= 0 || n > 65535 {
			return "", 0, fmt.Errorf("%w: the sip-advertise setting %q is not HOST:PORT of a reachable host", ErrConfig, cfg.Advertise)
		}
		return h, n, nil
	}
	if host == "" || unspecified(host) {
		if !cfg.RTPAddr.IsValid() || cfg.RTPAddr.IsUnspecified() {
			return "", 0, fmt.Errorf("%w: the sip setting %q binds every address: set sip-advertise (or media-ip) to the address peers reach", ErrConfig, cfg.SIPAddr)
		}
		return cfg.RTPAddr.String(), port, nil
	}
	return host, port, nil
}

// unspecified reports whether host is 0.0.0.0 or ::.
func unspecified(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
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
		return fmt.Errorf("%w: over UDP on %s (the sip setting): %w", ErrSIP, t.cfg.SIPAddr, err)
	}
	tcp, err := lc.Listen(ctx, "tcp", t.cfg.SIPAddr)
	if err != nil {
		_ = udp.Close()
		return fmt.Errorf("%w: over TCP on %s (the sip setting): %w", ErrSIP, t.cfg.SIPAddr, err)
	}
	if err := t.listenTLS(ctx, &lc); err != nil {
		_ = udp.Close()
		_ = tcp.Close()
		return err
	}
	t.mu.Lock()
	t.udp, t.tcp = udp, t.streamListener(tcp, nil)
	t.mu.Unlock()
	return nil
}

// readyConn closes ready when sipgo first reads the SIP socket: it has
// registered the socket by then, so that Dial's requests go out from it.
// Once deaf, it drops whatever arrives: see Serve.
type readyConn struct {
	net.PacketConn
	once  sync.Once
	ready chan struct{}
	deaf  atomic.Bool
}

func (r *readyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	r.once.Do(func() { close(r.ready) })
	for {
		n, addr, err := r.PacketConn.ReadFrom(b)
		if err != nil || !r.deaf.Load() {
			return n, addr, err //nolint:wrapcheck // a net.PacketConn's own errors
		}
	}
}

// deafSettle is how long Serve lets requests already read reach their
// transactions, after it stops reading new ones and before it closes the
// SIP socket.
const deafSettle = 50 * time.Millisecond

// ListenAndServe is Listen, then Serve.
func (t *Trunk) ListenAndServe(ctx context.Context) error {
	if err := t.Listen(ctx); err != nil {
		return err
	}
	return t.Serve(ctx)
}

// Serve serves SIP on what Listen bound until ctx is done, then hangs up
// every call and waits for them to end. Every goroutine the trunk starts,
// its calls' included, has ended when it returns.
func (t *Trunk) Serve(ctx context.Context) error {
	if t.udp == nil {
		return fmt.Errorf("%w: Serve before Listen", ErrConfig)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)
	udp := &readyConn{PacketConn: t.udp, ready: t.serving}
	go func() { errs <- t.srv.ServeUDP(udp) }()
	go func() { errs <- t.srv.ServeTCP(t.tcp) }()
	serving := 2 // the goroutines above, until each has sent on errs
	if t.tls != nil {
		go func() { errs <- t.srv.ServeTLS(t.tls) }()
		serving++
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
		serving--
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
	// Abandoned Dials get a moment to send their CANCELs, and unanswered
	// calls' 480s to be acknowledged; closing the UA then ends their
	// transactions.
	t.mu.Lock()
	t.bgOver = true
	t.mu.Unlock()
	bgDone := make(chan struct{})
	go func() { t.bg.Wait(); close(bgDone) }()
	grace := time.NewTimer(2 * time.Second)
	select {
	case <-bgDone:
	case <-grace.C:
	}
	grace.Stop()
	// sipgo answers each request from a goroutine of its own, which, when
	// the socket the request came in on is no longer registered, opens a
	// new one that nobody would close. So: stop taking requests, give
	// those already read a moment to find the socket, close it, and close
	// the UA again at the end, for any such socket opened meanwhile.
	udp.deaf.Store(true)
	time.Sleep(deafSettle)
	_ = t.udp.Close()
	_ = t.tcp.Close()
	if t.tls != nil {
		_ = t.tls.Close()
	}
	_ = t.ua.Close()
	<-bgDone
	for ; serving > 0; serving-- {
		// The listeners are closed: the goroutines serving them end, and
		// say so.
		t.log.Debug("trunk: SIP listener closed", "err", <-errs)
	}
	_ = t.ua.Close()
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrSIP, err)
	}
	return nil
}

// background runs f, a SIP exchange that may outlive its caller, in a
// goroutine that Serve waits for at its end (2 s at most; then it closes
// the SIP stack, which ends any exchange still waiting). Once Serve has
// begun that wait, f runs at once in the caller's goroutine instead; by
// then every call is over, so only an exchange the stack has already ended
// can come this way.
func (t *Trunk) background(f func()) {
	t.mu.Lock()
	if t.bgOver {
		t.mu.Unlock()
		f()
		return
	}
	t.bg.Add(1)
	t.mu.Unlock()
	go func() {
		defer t.bg.Done()
		f()
	}()
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
	if toTag(req) != "" { // a re-INVITE: only from inside its call's dialog
		if c := t.dialogRequest(req, tx); c != nil {
			if _, ok := t.authenticated(c, req, tx); ok {
				t.reinvite(c, req, tx)
			}
		}
		return
	}
	if !t.allowed(req) {
		t.log.Info("trunk: INVITE refused: source not allowed", "source", req.Source())
		if m := t.cfg.Metrics; m != nil {
			m.SIPRefused(req.Method.String(), refusedSource)
		}
		t.respond(tx, req, sip.StatusForbidden, "Forbidden")
		return
	}
	if t.call(req) != nil {
		// A new INVITE (no To-tag) with a live call's Call-ID: the
		// call's INVITE again by another path, or someone who read the
		// Call-ID. Neither may touch the call (RFC 3261 8.2.2.2).
		t.refused(req, refusedDialog)
		t.respond(tx, req, 482, "Loop Detected")
		return
	}
	if !t.admitted(req, tx) {
		return
	}
	defer t.admit.release() // the handler lives as long as the call
	authUser, ok := t.authenticated(nil, req, tx)
	if !ok {
		return
	}
	if a := readSessionAsk(req); a.interval > 0 && a.interval < t.minSE() {
		// RFC 4028 section 9: too short a session interval.
		res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
		res.AppendHeader(sip.NewHeader("Min-SE", strconv.Itoa(int(t.minSE()/time.Second))))
		if err := tx.Respond(res); err != nil {
			t.log.Debug("trunk: response not sent", "code", 422, "err", err)
		}
		return
	}
	offer, err := t.negotiate(req.Body()) // under the SRTP policy
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
	c, err := t.newCall(offer)
	if err != nil {
		t.log.Error("trunk: no RTP port", "err", err)
		_ = dlg.Respond(sip.StatusServiceUnavailable, "No media port", nil)
		return
	}
	c.ID, c.From, c.To, c.dlg, c.srv = req.CallID().Value(), req.From().Address.User, req.Recipient.User, dialogOf(dlg), dlg
	c.peer, c.remoteTag, c.authUser = sourceAddr(req), fromTag(req), authUser
	c.localTag, _ = dlg.InviteRequest.To().Params.Get("tag") // sipgo's, for every answer
	t.mu.Lock()
	if t.closing { // shutdown began while the INVITE was read: hangupAll will not see this call
		t.mu.Unlock()
		c.closeMedia()
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

func (t *Trunk) call(req *sip.Request) *Call {
	id := req.CallID()
	if id == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[id.Value()]
}

// onBye ends a call at its peer's BYE: only from inside the call's dialog
// and, where the trunk demands digest credentials, with the call's.
func (t *Trunk) onBye(req *sip.Request, tx sip.ServerTransaction) {
	c := t.dialogRequest(req, tx)
	if c == nil {
		return
	}
	if _, ok := t.authenticated(c, req, tx); !ok {
		return
	}
	err := t.dialogs.ReadBye(req, tx)
	if err != nil && t.outDialogs != nil {
		err = t.outDialogs.ReadBye(req, tx) // the far end of an outbound call
	}
	if err != nil {
		t.respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	}
}

// onUpdate takes an UPDATE in a call (RFC 3311): a session refresh, or a
// new offer, answered as a re-INVITE's.
func (t *Trunk) onUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if c := t.dialogRequest(req, tx); c != nil {
		if _, ok := t.authenticated(c, req, tx); ok {
			t.reinvite(c, req, tx)
		}
	}
}

// reinvite answers a re-INVITE (or UPDATE) in a call (hold, resume, a
// session refresh): the media goes on as it is; the answer mirrors the
// offer's direction (sendonly, our hold, is answered recvonly) with a new
// SDP version and no event the offer lacks, and an offer without SDP gets
// our last SDP again, its version unchanged (RFC 3264 8: versions only
// grow). An offer that drops our codec gets 488, and the call goes on as
// before. The 2xx carries our Contact, Allow and Supported, and the
// session timer the request asks for (RFC 4028).
func (t *Trunk) reinvite(c *Call, req *sip.Request, tx sip.ServerTransaction) {
	c.sig.Lock()
	defer c.sig.Unlock()
	body := c.answerSDP()
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if len(req.Body()) > 0 {
		o, err := c.renegotiate(req.Body()) // in the call's codec, and plain or SRTP as it is
		if err != nil || o.Law != c.Offer.Law {
			t.log.Info("trunk: re-INVITE refused", "call", c.ID, "err", err)
			t.respond(tx, req, 488, "Not Acceptable Here")
			return
		}
		events := o.Events & c.Offer.Events
		o.AudioPT, o.EventPT, o.Events, o.RTCPMux = c.Offer.AudioPT, 0, 0, c.Offer.RTCPMux
		if events != 0 && c.Offer.EventPT != 0 {
			o.EventPT, o.Events = c.Offer.EventPT, events
		}
		c.sdpVersion++
		body = sdpneg.Answer(o, c.stream.LocalAddr(), c.sdpSession, 1+c.sdpVersion)
		c.answer = body // our last SDP, for an offerless re-INVITE
		c.setDirection(o.Direction)
		t.log.Info("trunk: re-INVITE", "call", c.ID, "direction", o.Direction.String())
	}
	if req.IsInvite() || len(req.Body()) > 0 {
		res.SetBody(body)
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	} // else an UPDATE without an offer: its answer holds none (RFC 3311)
	res.AppendHeader(t.contactFor(c))
	capabilities(res)
	var ses session
	if !c.Outbound {
		c.tmu.Lock()
		current := c.session.interval
		c.tmu.Unlock()
		ses = agreeSession(readSessionAsk(req), current)
		for _, h := range ses.headers() {
			res.AppendHeader(h)
		}
	}
	if err := tx.Respond(res); err != nil {
		t.log.Debug("trunk: re-INVITE answer not sent", "call", c.ID, "err", err)
		return
	}
	if !c.Outbound {
		c.setSession(ses) // a refresh, whoever the refresher
	}
}
