// Package stacktest runs the server's live call path in a test, as
// `hushphone-server serve` wires it: the store, the HTTP API and the
// agents' WebSocket on a loopback HTTP server, the queue, the WebRTC legs,
// the calls and the SIP trunk on a free loopback port.
package stacktest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/server/agentleg"
	"github.com/hushphone/hushphone/server/api"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/calls"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/signal"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/trunk"
)

// Stack is a running server.
type Stack struct {
	URL     string // the HTTP API and WebSocket, http://127.0.0.1:PORT
	SIPAddr string // the SIP trunk side, 127.0.0.1:PORT (UDP and TCP)
	DataDir string // the server's data directory; its log is server.log there
	Store   *store.Store
	// Payments are the secure-pay sessions (the sandbox gateway unless
	// WithGateway says otherwise).
	Payments *pay.Manager

	router *route.Router
	mu     sync.Mutex
	keys   []dtmf.Event
}

// WaitAvailable waits (up to 10 s) until n agents are available for calls.
func (s *Stack) WaitAvailable(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		avail := 0
		for _, a := range s.router.Agents() {
			if a.State == route.StateAvailable {
				avail++
			}
		}
		if avail >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("fewer than %d agents became available", n)
}

// Keys are the key presses the payment side got so far.
func (s *Stack) Keys() []dtmf.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]dtmf.Event(nil), s.keys...)
}

// cheap is a fast password hash for tests.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 8}

// AddAgent adds an agent who signs in with password.
func (s *Stack) AddAgent(t *testing.T, name, password string) {
	t.Helper()
	s.AddUser(t, name, store.RoleAgent, password)
}

// AddUser adds a user of any role who signs in with password.
func (s *Stack) AddUser(t *testing.T, name string, role store.Role, password string) {
	t.Helper()
	h, err := cheap.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.AddUser(context.Background(), name, role, h); err != nil {
		t.Fatal(err)
	}
}

// Option changes the stack Start runs.
type Option func(*options)

type options struct {
	route    []route.Option
	outbound string
	gateway  gateway.Connector
}

// WithGateway sends payments to g instead of the embedded sandbox.
func WithGateway(g gateway.Connector) Option {
	return func(o *options) { o.gateway = g }
}

// WithOutbound lets agents place calls through the trunk to the SIP peer
// at addr (host:port), as serve's --trunk-out does.
func WithOutbound(addr string) Option {
	return func(o *options) { o.outbound = addr }
}

// WithRejoinTimeout sets how long a held call waits for its dropped agent
// (the server's default is 30 s).
func WithRejoinTimeout(d time.Duration) Option {
	return func(o *options) { o.route = append(o.route, route.WithRejoinTimeout(d)) }
}

// Start runs the stack until the test ends.
func Start(t *testing.T, opts ...Option) *Stack {
	t.Helper()
	ctx := context.Background()
	s := &Stack{DataDir: t.TempDir()}
	// Everything the server logs, at debug level, goes to server.log in
	// the data directory, where tests that search what a run wrote find it.
	logf, err := os.OpenFile(filepath.Join(s.DataDir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := store.Open(ctx, s.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	s.Store = st
	webRTC, err := agentleg.NewAPI(agentleg.Config{Loopback: true, Logger: log, IPFilter: func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }})
	if err != nil {
		t.Fatal(err)
	}
	var hubP atomic.Pointer[signal.Hub]
	var mgrP atomic.Pointer[calls.Manager]
	var payP atomic.Pointer[pay.Manager]
	var o options
	for _, f := range opts {
		f(&o)
	}
	router := route.New(append(o.route, route.WithEvents(func(e route.Event) {
		// The calls first, as serve does: an agent told its call started
		// may send its offer at once.
		if mgr := mgrP.Load(); mgr != nil {
			mgr.RouteEvent(e)
		}
		if p := payP.Load(); p != nil {
			p.RouteEvent(e)
		}
		if hub := hubP.Load(); hub != nil {
			hub.RouteEvent(e)
		}
	}), route.WithLogger(log))...)
	s.router = router
	mgr, err := calls.New(calls.Params{Router: router, WebRTC: webRTC, Store: st, DataDir: s.DataDir, Logger: log,
		HubReady: func() calls.Hub { return hubP.Load() },
		Keys: func(call string, e dtmf.Event) {
			s.mu.Lock()
			s.keys = append(s.keys, e)
			s.mu.Unlock()
			if p := payP.Load(); p != nil {
				p.Key(call, e)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	mgrP.Store(mgr)
	if o.gateway == nil {
		o.gateway = gateway.NewSandbox(gateway.WithLatency(0), gateway.WithTimeout(3*time.Second))
	}
	payments, err := pay.New(ctx, pay.Params{Gateway: o.gateway, Audit: st, Calls: router, Logger: log,
		Prompt: func(call string, tn pay.Tone) { _ = mgr.PlayToCaller(call, tn.PCM()) },
		Notify: func(ps pay.Status) {
			if hub := hubP.Load(); hub != nil {
				hub.Payment(ps)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	payP.Store(payments)
	s.Payments = payments
	a, err := api.New(api.Params{Store: st, SessionTTL: time.Hour, Hash: cheap, Logger: log, Payments: payments})
	if err != nil {
		t.Fatal(err)
	}
	hub, err := signal.New(signal.Params{Sessions: st, Router: router, Media: mgr, Dialer: mgr, Payments: payments, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hubP.Store(hub)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/ws", hub)
	mux.Handle("/", a.Handler())
	web := httptest.NewServer(mux)
	s.URL = web.URL

	s.SIPAddr = sipptest.FreeAddr(t)
	rb := trunk.RingbackUK // serve's default: callers hear ringing while they wait
	tr, err := trunk.New(trunk.Config{SIPAddr: s.SIPAddr, OnCall: mgr.OnCall, Outbound: o.outbound, Ringback: &rb, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if o.outbound != "" {
		mgr.SetOutbound(tr)
	}
	if err := tr.Listen(ctx); err != nil {
		t.Fatal(err)
	}
	tctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- tr.Serve(tctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("trunk: %v", err)
		}
		_ = mgr.Close()
		_ = payments.Close()
		_ = hub.Close()
		web.Close()
		_ = router.Close()
		_ = st.Close()
		_ = logf.Close()
	})
	return s
}
