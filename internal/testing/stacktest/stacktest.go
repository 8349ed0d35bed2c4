// Package stacktest runs the server in a test, as `hushphone-server serve`
// does (server/node): the store, the HTTP API and the agents' WebSocket on
// a free loopback port, the queue, the WebRTC legs, the calls, the payment
// sessions and the SIP trunk on another, everything it logs in server.log
// in its data directory.
package stacktest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/node"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/totp"
)

// Stack is a running server.
type Stack struct {
	URL     string // the HTTP API and WebSocket, http://127.0.0.1:PORT
	SIPAddr string // the SIP trunk side, 127.0.0.1:PORT (UDP and TCP)
	// SIPTLSAddr is the SIP trunk side over TLS, 127.0.0.1:PORT, with
	// WithSIPTLS.
	SIPTLSAddr string
	DataDir    string // the server's data directory; its log is server.log there
	Store      *store.Store
	// Payments are the secure-pay sessions (the sandbox gateway unless
	// WithGateway says otherwise).
	Payments *pay.Manager

	node     *node.Node
	mu       sync.Mutex
	keys     []dtmf.Event
	stop     func()
	stopOnce sync.Once
}

// MetricsURL is where the server's metrics are read.
func (s *Stack) MetricsURL() string { return s.node.MetricsURL() }

// Agents are the agents the call queue knows, with their states.
func (s *Stack) Agents() []route.AgentInfo { return s.node.Agents() }

// WaitAvailable waits (up to 10 s) until n agents are available for calls.
func (s *Stack) WaitAvailable(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		avail := 0
		for _, a := range s.node.Agents() {
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

// Available is how many agents are available for calls now.
func (s *Stack) Available() int {
	n := 0
	for _, a := range s.node.Agents() {
		if a.State == route.StateAvailable {
			n++
		}
	}
	return n
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
func (s *Stack) AddAgent(t testing.TB, name, password string) {
	t.Helper()
	s.AddUser(t, name, store.RoleAgent, password)
}

// AddUser adds a user of any role who signs in with password. Supervisors
// and admins, who cannot sign in without a second factor, get one
// enrolled (EnrolMFA): sign them in with OTP's codes.
func (s *Stack) AddUser(t testing.TB, name string, role store.Role, password string) {
	t.Helper()
	h, err := cheap.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.AddUser(context.Background(), name, role, h); err != nil {
		t.Fatal(err)
	}
	if role != store.RoleAgent {
		s.EnrolMFA(t, name)
	}
}

// EnrolMFA gives the user a second factor, as 'hushphone-server user mfa
// enroll' does, and returns its secret.
func (s *Stack) EnrolMFA(t testing.TB, name string) string {
	t.Helper()
	ctx := context.Background()
	u, err := s.Store.UserByName(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := totp.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.SetMFA(ctx, u.ID, secret, nil); err != nil {
		t.Fatal(err)
	}
	return secret
}

// Code is a one-time code for the user's second factor that the server
// has not taken yet: the current step's, or the next one's when that was
// used (waiting for a step to pass if both were).
func (s *Stack) Code(ctx context.Context, name string) (string, error) {
	u, err := s.Store.UserByName(ctx, name)
	if err != nil {
		return "", err
	}
	for {
		m, err := s.Store.UserMFA(ctx, u.ID)
		if err != nil {
			return "", err
		}
		now := totp.Step(time.Now())
		if step := max(now, m.LastStep+1); step <= now+totp.Skew {
			return totp.Code(m.Secret, step)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// OTP is engine.Config.OTP for the user: Code's codes.
func (s *Stack) OTP(name string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return s.Code(ctx, name) }
}

// Option changes the stack Start runs.
type Option func(*options)

type options struct {
	noRingback bool
	config     []func(*config.Config)
	route      []route.Option
	outbound   string
	gateway    gateway.Connector
	tlsCert    string // with tlsKey: SIP over TLS
	tlsKey     string
	srtp       string
	dataDir    string
}

// WithDataDir runs the server on the data directory dir (that of a stack
// stopped before, say) instead of a new one.
func WithDataDir(dir string) Option {
	return func(o *options) { o.dataDir = dir }
}

// WithoutRingback has waiting callers get 180 Ringing and no early media
// (serve's --ringback off): for tests that keep many calls waiting.
func WithoutRingback() Option {
	return func(o *options) { o.noRingback = true }
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

// WithConfig changes the server's settings (after the stack's own) with
// f, e.g. to raise max-calls for a test with many calls.
func WithConfig(f func(*config.Config)) Option {
	return func(o *options) { o.config = append(o.config, f) }
}

// WithMaxQueueWait sets the longest a caller waits for an agent, below
// the max-queue-wait setting's least (10 s).
func WithMaxQueueWait(d time.Duration) Option {
	return func(o *options) { o.route = append(o.route, route.WithMaxWait(d)) }
}

// WithSIPTLS serves SIP over TLS too (serve's --sip-tls), with the
// certificate and key in certFile and keyFile (PEM; --sip-tls-cert and
// --sip-tls-key, so that the HTTP side stays as it is), and the SRTP policy srtp (--trunk-srtp: off, optional or
// required).
func WithSIPTLS(certFile, keyFile, srtp string) Option {
	return func(o *options) { o.tlsCert, o.tlsKey, o.srtp = certFile, keyFile, srtp }
}

// WithRejoinTimeout sets how long a held call waits for its dropped agent
// (the server's default is 30 s).
func WithRejoinTimeout(d time.Duration) Option {
	return func(o *options) { o.route = append(o.route, route.WithRejoinTimeout(d)) }
}

// Start runs the stack until the test ends: a node.Node, as serve runs
// it, with the test's options.
func Start(t testing.TB, opts ...Option) *Stack {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	s := &Stack{DataDir: o.dataDir}
	if s.DataDir == "" {
		s.DataDir = t.TempDir()
	}
	// Everything the server logs, at debug level, goes to server.log in
	// the data directory, where tests that search what a run wrote find it.
	logf, err := os.OpenFile(filepath.Join(s.DataDir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.gateway == nil {
		o.gateway = gateway.NewSandbox(gateway.WithLatency(0), gateway.WithTimeout(3*time.Second))
	}
	cfg := config.Defaults()
	cfg.HTTP = "127.0.0.1:0"
	cfg.Metrics = "127.0.0.1:0"
	cfg.SIP = sipptest.FreeAddr(t)
	cfg.DataDir = s.DataDir
	cfg.SessionTTL = time.Hour
	cfg.TrunkOut = o.outbound
	cfg.Ringback = "uk" // serve's default: callers hear ringing while they wait
	if o.noRingback {
		cfg.Ringback = "off"
	}
	for _, f := range o.config {
		f(&cfg)
	}
	if o.tlsCert != "" {
		cfg.SIPTLS, cfg.SIPTLSCert, cfg.SIPTLSKey, cfg.TrunkSRTP = sipptest.FreeAddr(t), o.tlsCert, o.tlsKey, o.srtp
	}
	n, err := node.New(cfg, log,
		node.WithGateway(o.gateway),
		node.WithRouteOptions(o.route...),
		node.WithSignInHash(cheap),
		node.WithICEFilter(func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) }),
		node.WithKeyTap(func(_ string, e dtmf.Event) {
			s.mu.Lock()
			s.keys = append(s.keys, e)
			s.mu.Unlock()
		}))
	if err != nil {
		_ = logf.Close()
		t.Fatal(err)
	}
	s.node, s.Store, s.Payments = n, n.Store(), n.Payments()
	s.URL, s.SIPAddr, s.SIPTLSAddr = n.URL(), n.SIPAddr(), cfg.SIPTLS
	done := make(chan error, 1)
	go func() { done <- n.Run(context.Background()) }()
	s.stop = func() {
		_ = n.Close()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		_ = logf.Close()
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop shuts the server down, as the test's end would (once; later calls
// do nothing): its data directory stays for WithDataDir.
func (s *Stack) Stop() { s.stopOnce.Do(s.stop) }
