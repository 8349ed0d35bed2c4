// Package node builds one Hushphone server from its configuration and runs
// it: the store, the call queue, the payment sessions, the SIP trunk, the
// calls that join the trunk to the agents' WebRTC legs, the HTTP API and
// the agents' and supervisors' WebSocket hub.
//
// New builds the parts in one direction, each knowing only those built
// before it, and joins them with a dispatcher (dispatch.go) built before
// all of them: what flows back against the direction (the queue's events,
// what the calls tell users, payment progress, prompts for a caller) goes
// through its topics, whose subscribers hear each event in a fixed order.
// hushphone-server serve and the tests' stacks (internal/testing/stacktest)
// both run a Node, so the tests run the server that ships.
//
//	n, err := node.New(cfg, log)
//	if err != nil { ... }
//	defer n.Close()
//	fmt.Println("serving on", n.URL())
//	err = n.Run(ctx) // until ctx is done; then it shuts down
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/frontend"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/server/aftercall"
	"github.com/hushphone/hushphone/server/agentleg"
	"github.com/hushphone/hushphone/server/api"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/calllog"
	"github.com/hushphone/hushphone/server/calls"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/console"
	"github.com/hushphone/hushphone/server/metrics"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/queues"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/signal"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/trunk"
)

// ShutdownTimeout is how long Run waits for HTTP requests in flight once
// its context is done.
const ShutdownTimeout = 10 * time.Second

// Errors.
var (
	// ErrListen: an address the node serves on could not be bound.
	ErrListen = errors.New("node: listen")
	// ErrRun: Run was called twice, or after Close.
	ErrRun = errors.New("node: Run is called once, before Close")
	// ErrTestOnly: an option meant for tests, outside a test binary.
	ErrTestOnly = errors.New("node: an option for tests only")
)

// Option changes what New builds; the options are for tests and tools.
// The server itself runs on its configuration alone.
type Option func(*options)

type options struct {
	gateway   gateway.Connector
	route     []route.Option
	hash      auth.Params
	iceFilter func(net.IP) bool
	keyTap    func(call string, e dtmf.Event)
}

// WithGateway sends payments to g instead of the connector the settings
// name.
func WithGateway(g gateway.Connector) Option { return func(o *options) { o.gateway = g } }

// WithRouteOptions adds options to the call queue's (a rejoin timeout, a
// test clock).
func WithRouteOptions(opts ...route.Option) Option {
	return func(o *options) { o.route = append(o.route, opts...) }
}

// WithSignInHash sets the parameters of the hash that sign-ins for unknown
// names are checked against (tests use a cheap one; see api.Params.Hash).
func WithSignInHash(p auth.Params) Option { return func(o *options) { o.hash = p } }

// WithICEFilter keeps only the local addresses f returns true for in the
// agents' WebRTC candidates (tests stay on 127.0.0.1).
func WithICEFilter(f func(net.IP) bool) Option { return func(o *options) { o.iceFilter = f } }

// WithKeyTap has f see every key press the payment side gets, digit and
// all. It is card data: New refuses it outside a test binary.
func WithKeyTap(f func(call string, e dtmf.Event)) Option {
	return func(o *options) { o.keyTap = f }
}

// Node is one server, built and bound by New, served by Run.
type Node struct {
	cfg config.Config
	log *slog.Logger

	store    *store.Store
	metrics  *metrics.Metrics
	events   *dispatcher
	router   *route.Router
	callLog  *calllog.Log
	queues   *queues.Directory
	payments *pay.Manager
	trunk    *trunk.Trunk
	checker  *aftercall.Checker // nil in a build without the independent detector
	calls    *calls.Manager
	hub      *signal.Hub
	web      *web // the API's and the metrics' listeners (https.go)
	sipBound bool // the trunk's Listen succeeded

	mu      sync.Mutex
	running bool               // Run has been called
	stop    context.CancelFunc // ends Run
	done    chan struct{}      // closed when Run has returned
	closed  bool
}

// New builds a server from cfg and binds its HTTP and SIP addresses, so an
// address in use is an error here and Run only serves. A nil log discards.
// Close releases what New built, whether or not Run ran.
func New(cfg config.Config, log *slog.Logger, opts ...Option) (_ *Node, err error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.keyTap != nil && !testing.Testing() {
		return nil, fmt.Errorf("%w: WithKeyTap", ErrTestOnly)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Building is local work (files, sockets): it needs no cancelling.
	ctx := context.Background()
	n := &Node{cfg: cfg, log: log, events: &dispatcher{}, done: make(chan struct{})}
	defer func() {
		if err != nil {
			n.release()
		}
	}()

	if n.store, err = store.Open(ctx, cfg.DataDir); err != nil {
		return nil, err //nolint:wrapcheck // the store's error says what to do
	}
	if users, err := n.store.ListUsers(ctx); err != nil {
		return nil, err //nolint:wrapcheck // the store's error says what failed
	} else if len(users) == 0 {
		log.Warn("no users yet: nobody can sign in; add one with: hushphone-server user add --name NAME --role admin --password-stdin")
	}
	n.metrics = metrics.New(metrics.WithLookahead(cfg.MaskLookahead))
	wcfg := agentleg.Config{Loopback: true, Logger: log, PortMin: cfg.RTPPortMin, PortMax: cfg.RTPPortMax, IPFilter: o.iceFilter}
	if cfg.PublicIP.IsValid() {
		wcfg.PublicIP = cfg.PublicIP.String()
	}
	webRTC, err := agentleg.NewAPI(wcfg)
	if err != nil {
		return nil, err //nolint:wrapcheck // agentleg's error says what is wrong
	}
	gw := o.gateway
	if gw == nil {
		if gw, err = newGateway(cfg); err != nil {
			return nil, err
		}
	}
	log.Info("payments go to the "+gw.Name()+" gateway", "gateway", gw.Name())

	// The parts, each built after those it uses; what goes the other way
	// is published to n.events.
	ev := n.events
	if n.callLog, err = calllog.New(ctx, n.store, nil, log); err != nil {
		return nil, err //nolint:wrapcheck // the store's error says what failed
	}
	if n.queues, err = queues.New(ctx, n.store); err != nil {
		return nil, err //nolint:wrapcheck // the store's error says what failed
	}
	n.router = route.New(append(append([]route.Option{route.WithMaxWait(cfg.MaxQueueWait), route.WithMembers(n.queues.Member)}, o.route...),
		route.WithLogger(log), route.WithEvents(ev.route.publish))...)
	n.payments, err = pay.New(ctx, pay.Params{Gateway: gw, Audit: n.store, Calls: n.router, Logger: log,
		Prompt: func(call string, t pay.Tone) { ev.prompts.publish(prompt{call: call, pcm: t.PCM()}) },
		Notify: ev.payments.publish,
	})
	if err != nil {
		return nil, err //nolint:wrapcheck // pay's error says what is wrong
	}
	tcfg, err := trunkConfig(cfg, log)
	if err != nil {
		return nil, err
	}
	tcfg.OnCall, tcfg.Metrics, tcfg.Logger = ev.inbound.publish, n.metrics, log
	if len(tcfg.Auth) > 0 {
		log.Info("trunk: INVITEs must authenticate", "credentials", len(tcfg.Auth))
	}
	if tcfg.TLSAddr != "" {
		log.Info("trunk: SIP over TLS", "addr", tcfg.TLSAddr, "srtp", tcfg.SRTP.String())
	}
	if n.trunk, err = trunk.New(tcfg); err != nil {
		return nil, err //nolint:wrapcheck // trunk's error says what is wrong
	}
	// Key presses, digits and all, go to the payment side and nowhere
	// else: straight from the calls, never through the dispatcher.
	keys := n.payments.Key
	if tap := o.keyTap; tap != nil {
		keys = func(call string, e dtmf.Event) { tap(call, e); n.payments.Key(call, e) }
	}
	cp := calls.Params{Router: n.router, WebRTC: webRTC, Store: n.store, DataDir: cfg.DataDir,
		Keys: keys, Notify: ev.calls.publish, Queue: n.queues.QueueFor, Logger: log}
	if cfg.TrunkOut != "" {
		cp.Outbound = n.trunk // agents may place calls
	}
	if err := n.afterCall(); err != nil {
		return nil, err
	}
	if n.checker != nil {
		cp.Recorded = n.recorded
	}
	if n.calls, err = calls.New(cp); err != nil {
		return nil, err //nolint:wrapcheck // calls' error says what is wrong
	}
	a, err := api.New(api.Params{Store: n.store, Logger: log, SessionTTL: cfg.SessionTTL, MFAAgents: cfg.MFAAgents, Payments: n.payments, Hash: o.hash,
		AllowedOrigins: cfg.AllowedOrigins,
		// Signing out closes the session's WebSockets at once.
		OnSignOut: func(th []byte) { n.hub.EndSession(th) },
		// A queue changed: the next calls are routed by the new queues.
		OnQueuesChanged: func(ctx context.Context) error { return n.queues.Reload(ctx, n.store) }})
	if err != nil {
		return nil, err //nolint:wrapcheck // api's error says what failed
	}
	// Users: a user removed or disabled, here or by `hushphone-server user`
	// in another process, is disconnected within about a second.
	n.hub, err = signal.New(signal.Params{Sessions: n.store, Router: n.router, Media: n.calls, Dialer: n.calls,
		OriginPatterns: originHosts(cfg.AllowedOrigins),
		Payments:       n.payments, Logger: log, Users: n.store})
	if err != nil {
		return nil, err //nolint:wrapcheck // signal's error says what is wrong
	}

	// Who hears what, in order. The queue's events reach the calls before
	// the hub: see dispatcher.route.
	ev.route.subscribe("calls", n.calls.RouteEvent)
	ev.route.subscribe("payments", n.payments.RouteEvent)
	ev.route.subscribe("hub", n.hub.RouteEvent)
	ev.route.subscribe("calllog", n.callLog.RouteEvent)
	ev.inbound.subscribe("calls", n.calls.OnCall)
	ev.calls.subscribe("hub", n.tell)
	ev.payments.subscribe("hub", n.hub.Payment)
	ev.prompts.subscribe("calls", func(p prompt) { _ = n.calls.PlayToCaller(p.call, p.pcm) })

	// The API and the WebSocket on the http address; /metrics on an
	// address of its own (loopback by default), away from the API's.
	// The console's page at / and its assets (server/console), and every
	// other path to the API, which answers for what it does not serve.
	page, err := frontend.Files()
	if err != nil {
		return nil, err //nolint:wrapcheck // the embedded files' error says what failed
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/ws", n.hub)
	mux.Handle("/", console.New(page, a.Handler()))
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", n.metrics.Handler())
	if n.web, err = newWeb(ctx, cfg, log, mux, metricsMux); err != nil {
		return nil, err
	}
	if err := n.trunk.Listen(ctx); err != nil {
		return nil, fmt.Errorf("%w: %w (is another server on %s? choose another sip address)", ErrListen, err, cfg.SIP)
	}
	n.sipBound = true
	return n, nil
}

// submitWait bounds how long a finished recording waits for room in the
// after-call checks' queue; one that waits longer is logged and stays
// pending.
const submitWait = 5 * time.Minute

// afterCall starts the after-call checks of recordings (server/aftercall):
// n.checker. A build without the independent detector (no cgo) checks
// nothing, and says so.
func (n *Node) afterCall() error {
	if !aftercall.Available {
		n.log.Warn("recordings are not checked for key presses: this build has no spandsp (built without cgo); every verdict stays pending")
		return nil
	}
	var err error
	n.checker, err = aftercall.New(aftercall.Params{Check: aftercall.Spandsp, Store: n.store, Metrics: n.metrics, Logger: n.log})
	if err != nil {
		return err //nolint:wrapcheck // aftercall's error says what is wrong
	}
	return nil
}

// recorded queues a call's finished recording for its check (the calls'
// Recorded).
func (n *Node) recorded(r calls.Recorded) {
	ctx, cancel := context.WithTimeout(context.Background(), submitWait)
	defer cancel()
	// Submit logs a recording it could not queue.
	_ = n.checker.Submit(ctx, aftercall.Job{Recording: r.ID, Call: r.Call, Path: r.Path, KeysMasked: r.KeysMasked})
}

// tell hands what the calls say to users to the hub.
func (n *Node) tell(e calls.Event) {
	switch e := e.(type) {
	case calls.Description:
		_ = n.hub.SDP(e.User, e.Call, e.Kind, e.SDP) // a user who left is simply not told
	case calls.Candidate:
		_ = n.hub.Candidate(e.User, e.Call, e.Candidate, e.SDPMid, e.SDPMLineIndex)
	case calls.Progress:
		n.hub.Progress(e.Agent, e.Call, e.Status)
	case calls.KeyPressed:
		n.hub.KeyPressed(e.Call, e.Agent)
	case calls.ListenEnded:
		n.hub.ListenEnded(e.User, e.Call, e.Reason)
	case calls.SupervisorMode:
		n.hub.Supervisor(e.Agent, e.Call, e.User, e.Mode)
	}
}

// URL is the HTTP API's and the WebSocket's base, http://HOST:PORT, or
// https://HOST:PORT with a certificate (the port chosen when the http
// setting's was 0).
func (n *Node) URL() string { return n.web.url() }

// MetricsURL is where the metrics are read: http://HOST:PORT/metrics on
// the metrics setting's address (https:// when that is not loopback and
// the node has a certificate).
func (n *Node) MetricsURL() string { return n.web.metricsURL() }

// SIPAddr is where the trunk listens, over UDP and TCP.
func (n *Node) SIPAddr() string { return n.cfg.SIP }

// Store is the node's database (tools and tests add users through it).
func (n *Node) Store() *store.Store { return n.store }

// Payments are the node's payment sessions.
func (n *Node) Payments() *pay.Manager { return n.payments }

// Agents are the agents the call queue knows, with their states.
func (n *Node) Agents() []route.AgentInfo { return n.router.Agents() }

// Run serves HTTP and SIP until ctx is done or either fails, then shuts
// down: requests in flight get up to ShutdownTimeout, every call is hung
// up, and every part is closed. Once Run returns the node is closed.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	if n.running || n.closed {
		n.mu.Unlock()
		return ErrRun
	}
	n.running = true
	ctx, n.stop = context.WithCancel(ctx)
	n.mu.Unlock()
	defer close(n.done)
	defer n.stop()
	n.log.Info("serving", "http", n.URL(), "metrics", n.MetricsURL(), "sip", n.cfg.SIP, "data", n.cfg.DataDir, "db", n.store.Path())

	sipc := make(chan error, 1)
	go func() { sipc <- n.trunk.Serve(ctx) }()
	queuesDone := make(chan struct{})
	go n.watchQueues(ctx, queuesDone)
	n.web.start(ctx)

	var err error
	select {
	case <-n.web.failed: // stop says why
	case serr := <-sipc:
		err = fmt.Errorf("SIP: %w", serr)
		sipc <- nil
	case <-ctx.Done():
		n.log.Info("shutting down")
	}
	n.stop() // stops the trunk too: it hangs every call up
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if werr := n.web.stop(sctx); werr != nil && err == nil {
		err = werr
	}
	if serr := <-sipc; serr != nil {
		n.log.Warn("SIP", "err", serr)
	}
	n.sipBound = false // Serve closed the trunk's sockets
	<-queuesDone
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	n.release() //nolint:contextcheck // the parts close on their own: ctx is done by now
	if err == nil {
		n.log.Info("stopped")
	}
	return err
}

// Close stops the node: a running Run is stopped and waited for; a node
// that never ran releases what New built. Close is safe to call more than
// once.
func (n *Node) Close() error {
	n.mu.Lock()
	running, closed := n.running, n.closed
	n.closed = true
	n.mu.Unlock()
	if running {
		n.stop()
		<-n.done
		return nil
	}
	if !closed {
		n.release()
	}
	return nil
}

// release closes the parts New built, the last built first; a part New
// did not get to is nil. The trunk's sockets are closed by running its
// Serve with a done context (it then hangs nothing up: there are no calls).
func (n *Node) release() {
	if n.web != nil {
		n.web.close()
	}
	if n.sipBound {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = n.trunk.Serve(ctx)
		n.sipBound = false
	}
	if n.calls != nil {
		_ = n.calls.Close()
	}
	if n.checker != nil { // after the calls: the last to end are queued
		_ = n.checker.Close()
	}
	if n.hub != nil {
		_ = n.hub.Close()
	}
	if n.payments != nil {
		_ = n.payments.Close()
	}
	if n.router != nil {
		_ = n.router.Close()
	}
	if n.callLog != nil { // after the router: the calls it ends are logged
		_ = n.callLog.Close()
	}
	if n.store != nil {
		_ = n.store.Close()
	}
}

// originHosts are the hosts (host[:port]) of origins, as the WebSocket's
// origin check matches them.
func originHosts(origins []string) []string {
	out := make([]string, 0, len(origins))
	for _, o := range origins {
		_, host, _ := strings.Cut(o, "://")
		out = append(out, host)
	}
	return out
}
