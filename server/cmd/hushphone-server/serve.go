package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/payment/card"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/server/agentleg"
	"github.com/hushphone/hushphone/server/api"
	"github.com/hushphone/hushphone/server/calls"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/metrics"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/signal"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/trunk"
)

// shutdownTimeout is how long serve waits for requests in flight on
// SIGINT or SIGTERM.
const shutdownTimeout = 10 * time.Second

func serveHelp(w io.Writer) {
	_, _ = fmt.Fprintf(w, `Usage:
  %[1]s serve [--http ADDR] [--data DIR] [--config FILE] [...]

Runs the server on its embedded defaults: the HTTP API on 127.0.0.1:8080
and everything persistent (the SQLite database hushphone.db; later the
recordings) in the data directory, created if missing. Stop it with Ctrl-C
or SIGTERM: it finishes the requests in flight (up to %[2]v) and exits 0.

Before anyone can sign in, add users (the server may be running):
  printf '%%s\n' "$PASSWORD" | %[1]s user add --name root --role admin --password-stdin

The API (JSON; errors are {"error":"..."}):
  GET    /healthz          200 {"status":"ok"}
  POST   /api/v1/session   {"name","password"} -> {"token","role","expires"}
  DELETE /api/v1/session   sign out (Authorization: Bearer TOKEN)
  GET    /api/v1/me        who the token belongs to
  GET    /api/v1/users     supervisors and admins: the users
After %[3]d failed sign-ins for one name in %[4]d s, that name waits (429).

Settings:
%[5]s
%[6]s

Profiling (off unless asked for):
  --pprof ADDR   serve Go's profiles (net/http/pprof) on ADDR, which must be
                 on loopback, e.g. 127.0.0.1:6060

Exit status:
  0  stopped by a signal, cleanly
  1  could not start (a message says why), or failed while serving
  2  usage error

Example:
  curl -s localhost:8080/api/v1/session -H 'Content-Type: application/json' \
       -d '{"name":"root","password":"..."}'
`, prog, shutdownTimeout, api.DefaultFailLimit, int(api.DefaultFailWindow/time.Second), config.Help(), config.Precedence)
}

func runServe(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	settings := config.Bind(fs)
	pprofAddr := fs.String("pprof", "", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			serveHelp(stdout)
			return exitOK
		}
		fmt.Fprintf(stderr, "%s serve: %v (see '%s serve --help')\n", prog, err, prog)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s serve: unexpected argument %q (see '%s serve --help')\n", prog, fs.Arg(0), prog)
		return exitUsage
	}
	cfg, err := settings.Load(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "%s serve: %v (see '%s serve --help')\n", prog, err, prog)
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if *pprofAddr != "" {
		stop, err := startPprof(ctx, *pprofAddr, log)
		if err != nil {
			fmt.Fprintf(stderr, "%s serve: %v\n", prog, err)
			return exitUsage
		}
		defer stop()
	}
	if err := serve(ctx, cfg, log, stdout); err != nil {
		fmt.Fprintf(stderr, "%s serve: %v\n", prog, err)
		return exitFailure
	}
	return exitOK
}

// serve runs until ctx is done, then shuts down cleanly.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	st, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		return err //nolint:wrapcheck // the store's error says what to do
	}
	defer func() { _ = st.Close() }()
	if users, err := st.ListUsers(ctx); err != nil {
		return err //nolint:wrapcheck // the store's error says what failed
	} else if len(users) == 0 {
		log.Warn("no users yet: nobody can sign in; add one with: " + prog + " user add --name NAME --role admin --password-stdin")
	}
	m := metrics.New()
	// The call path: the queue, the agents' WebSocket hub, their WebRTC
	// legs, and the calls that join them to the SIP trunk.
	wcfg := agentleg.Config{Loopback: true, Logger: log, PortMin: cfg.RTPPortMin, PortMax: cfg.RTPPortMax}
	if cfg.PublicIP.IsValid() {
		wcfg.PublicIP = cfg.PublicIP.String()
	}
	webRTC, err := agentleg.NewAPI(wcfg)
	if err != nil {
		return err //nolint:wrapcheck // agentleg's error says what is wrong
	}
	// The queue's events go to the hub and the calls, which are built
	// after it (they need it): they are published here once built.
	var hubP atomic.Pointer[signal.Hub]
	var mgrP atomic.Pointer[calls.Manager]
	var payP atomic.Pointer[pay.Manager]
	gw, err := newGateway(cfg)
	if err != nil {
		return err
	}
	log.Info("payments go to the "+gw.Name()+" gateway", "gateway", gw.Name())
	router := route.New(route.WithLogger(log), route.WithEvents(func(e route.Event) { //nolint:contextcheck // queue events carry no context: each call's work is bounded by the call
		// The calls first: once the hub tells an agent its call started,
		// the agent's offer can come at once, and the calls must know
		// by then whose call it is (else "no such call for this agent",
		// and the call has no audio).
		if mgr := mgrP.Load(); mgr != nil {
			mgr.RouteEvent(e)
		}
		if p := payP.Load(); p != nil {
			p.RouteEvent(e) // a call that ends ends its payment session
		}
		if hub := hubP.Load(); hub != nil {
			hub.RouteEvent(e)
		}
	}))
	defer func() { _ = router.Close() }()
	mgr, err := calls.New(calls.Params{
		Router: router, WebRTC: webRTC, Store: st, DataDir: cfg.DataDir, Logger: log,
		HubReady: func() calls.Hub { return hubP.Load() },
		// Key presses go to the payment side and nowhere else (the agent
		// and supervisors learn only that a key was pressed).
		Keys: func(call string, e dtmf.Event) {
			if p := payP.Load(); p != nil {
				p.Key(call, e)
			}
		},
	})
	if err != nil {
		return err //nolint:wrapcheck // calls' error says what is wrong
	}
	mgrP.Store(mgr)
	payments, err := pay.New(ctx, pay.Params{Gateway: gw, Audit: st, Calls: router, Logger: log,
		Prompt: func(call string, t pay.Tone) { _ = mgr.PlayToCaller(call, t.PCM()) },
		Notify: func(s pay.Status) {
			if hub := hubP.Load(); hub != nil {
				hub.Payment(s)
			}
		}})
	if err != nil {
		return err //nolint:wrapcheck // pay's error says what is wrong
	}
	payP.Store(payments)
	defer func() { _ = payments.Close() }() //nolint:contextcheck // Close records the sessions it drops on its own
	a, err := api.New(api.Params{Store: st, Logger: log, SessionTTL: cfg.SessionTTL, Payments: payments})
	if err != nil {
		return err //nolint:wrapcheck // api's error says what failed
	}
	hub, err := signal.New(signal.Params{Sessions: st, Router: router, Media: mgr, Dialer: mgr, Payments: payments, Logger: log})
	if err != nil {
		return err //nolint:wrapcheck // signal's error says what is wrong
	}
	hubP.Store(hub)
	defer func() { _ = hub.Close() }()
	rtpIP, err := mediaIP(cfg)
	if err != nil {
		return err
	}
	tcfg := trunk.Config{SIPAddr: cfg.SIP, Outbound: cfg.TrunkOut, OutboundFrom: cfg.TrunkFrom, Metrics: m, Logger: log, OnCall: mgr.OnCall,
		Allow: cfg.TrunkAllow, RTPAddr: rtpIP, RTPPortMin: cfg.RTPPortMin, RTPPortMax: cfg.RTPPortMax}
	if rb, on, err := trunk.RingbackByName(cfg.Ringback); err != nil {
		return err //nolint:wrapcheck // trunk's error says what is wrong
	} else if on {
		tcfg.Ringback = &rb
	}
	if cfg.TrunkAuth != "" {
		var out []trunk.Credential
		if tcfg.Auth, out, err = trunk.ReadCredentials(cfg.TrunkAuth); err != nil {
			return err //nolint:wrapcheck // trunk's error names the file and line
		}
		if len(out) > 0 {
			tcfg.OutboundAuth = &out[0]
		}
		if len(tcfg.Auth) > 0 {
			log.Info("trunk: INVITEs must authenticate", "credentials", len(tcfg.Auth))
		}
	}
	tr, err := trunk.New(tcfg)
	if err != nil {
		return err //nolint:wrapcheck // trunk's error says what is wrong
	}
	if cfg.TrunkOut != "" {
		mgr.SetOutbound(tr) // agents may place calls
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/api/v1/ws", hub)
	mux.Handle("/", a.Handler())

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("listen for HTTP (is another server on %s? choose another with --http): %w", cfg.HTTP, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if err := tr.Listen(ctx); err != nil {
		_ = ln.Close()
		return fmt.Errorf("%w (is another server on %s? choose another with --sip)", err, cfg.SIP)
	}
	url := "http://" + ln.Addr().String()
	log.Info("serving", "http", url, "sip", cfg.SIP, "data", cfg.DataDir, "db", st.Path())
	fmt.Fprintf(stdout, "%s: serving on %s (SIP on %s over UDP and TCP; data in %s); Ctrl-C stops\n", prog, url, cfg.SIP, cfg.DataDir)

	sipCtx, stopSIP := context.WithCancel(ctx)
	defer stopSIP()
	sipc := make(chan error, 1)
	go func() { sipc <- tr.Serve(sipCtx) }()
	defer func() {
		stopSIP() // hangs every call up
		if err := <-sipc; err != nil {
			log.Warn("SIP", "err", err)
		}
		_ = mgr.Close()
	}()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("HTTP server: %w", err)
	case err := <-sipc:
		sipc <- nil // for the deferred wait
		_ = srv.Close()
		return fmt.Errorf("SIP: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			log.Warn("HTTP server", "err", serr)
		}
		return fmt.Errorf("shut down: requests still running after %v: %w", shutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("HTTP server: %w", err)
	}
	log.Info("stopped")
	return nil
}

// errMediaIP: the SIP side's RTP address cannot be worked out.
var errMediaIP = errors.New("with --sip on a name or on every address, set --media-ip to the address trunks send RTP to")

// mediaIP is where the SIP side's RTP is bound and advertised: --media-ip,
// else the --sip host, which must then be one address.
func mediaIP(cfg config.Config) (netip.Addr, error) {
	if cfg.MediaIP.IsValid() {
		return cfg.MediaIP, nil
	}
	host, _, err := net.SplitHostPort(cfg.SIP)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("--sip %q: %w", cfg.SIP, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.IsUnspecified() {
		return netip.Addr{}, errMediaIP
	}
	return a.Unmap(), nil
}

// errGateway: the gateway settings do not fit together.
var errGateway = errors.New("gateway settings")

// newGateway builds the payment gateway connector the settings name.
func newGateway(cfg config.Config) (gateway.Connector, error) {
	secret := func() ([]byte, error) {
		if cfg.GatewaySecret == "" {
			return nil, fmt.Errorf("%w: --gateway %s needs --gateway-secret FILE holding its secret", errGateway, cfg.Gateway)
		}
		b, err := os.ReadFile(cfg.GatewaySecret)
		if err != nil {
			return nil, fmt.Errorf("%w: reading --gateway-secret: %w", errGateway, err)
		}
		return bytes.TrimSpace(b), nil
	}
	switch cfg.Gateway {
	case "stripe":
		key, err := secret()
		if err != nil {
			return nil, err
		}
		var opts []gateway.StripeOption
		if cfg.GatewayURL != "" {
			opts = append(opts, gateway.WithStripeURL(cfg.GatewayURL))
		}
		return gateway.NewStripe(string(key), opts...), nil
	case "generic":
		key, err := secret()
		if err != nil {
			return nil, err
		}
		if cfg.GatewayURL == "" {
			return nil, fmt.Errorf("%w: --gateway generic needs --gateway-url with the processor's https:// address", errGateway)
		}
		g, err := gateway.NewGeneric(gateway.GenericConfig{URL: cfg.GatewayURL, Secret: key})
		card.Zero(key)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errGateway, err)
		}
		return g, nil
	default:
		return gateway.NewSandbox(), nil
	}
}
