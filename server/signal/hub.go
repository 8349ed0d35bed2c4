// Package signal is the WebSocket signalling hub: one connection per
// signed-in user, carrying the JSON protocol of docs/protocol.md.
//
// The Hub authenticates the upgrade request with the same session lookup as
// the HTTP API (a Bearer header, or a token query parameter for browsers),
// says hello, feeds agents' presence, answers, declines and hang-ups to the
// call queue (Router), turns the queue's events into messages, passes the
// agents' SDP and ICE candidates to the media side (Media), and keeps
// supervisors and admins up to date with snapshots of every agent and call.
//
// Key presses reach clients only as "a key was pressed on this call": no
// method of the Hub takes a digit.
package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/hushphone/hushphone/payment/session"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

// Sentinel errors, wrapped with %w; check them with errors.Is.
var (
	ErrNotConnected = errors.New("the user is not connected")
	ErrClosed       = errors.New("the signalling hub is closed")
)

// Defaults for Params.
const (
	DefaultPingInterval = 15 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultSessionCheck = time.Minute
	DefaultSendQueue    = 128
)

// Sessions looks up a signed-in session by its token's hash
// (*store.Store).
type Sessions interface {
	LookupSession(ctx context.Context, tokenHash []byte) (store.Session, error)
}

// Router is the call queue (*route.Router).
type Router interface {
	Register(agent, name string) error
	SetPresence(agent string, p route.State) error
	Disconnect(agent string) error
	// Forget takes the agent out for good, at once: its session ended.
	Forget(agent string) error
	Answer(agent, call string) error
	Decline(agent, call string) error
	AgentHangup(agent, call string) error
	Agent(id string) (route.AgentInfo, bool)
	Agents() []route.AgentInfo
	Calls() []route.CallInfo
	Call(id string) (route.CallInfo, bool)
}

// Media is the calls' media side: it takes the SDP (kind a
// protocol.SDPKind) and ICE candidates of a call's agent, or of a supervisor
// listening to it, and answers through Hub.SDP and Hub.Candidate.
// ListenMode starts a supervisor's listening in a mode, or changes the
// mode; Unlisten stops it (with no call: every call, when the
// supervisor's connection closes); their errors wrap ErrNoSuchCall,
// ErrCallNotActive, ErrTooManyListeners, ErrNotListening or
// ErrNoMicrophone when they are the caller's fault (and SDP's
// ErrNoMicrophone, for a receive-only offer while whispering or barging).
type Media interface {
	SDP(ctx context.Context, user, call string, kind protocol.SDPKind, sdp string) error
	Candidate(ctx context.Context, user, call, candidate string) error
	ListenMode(ctx context.Context, user, call string, mode protocol.ListenMode) error
	Unlisten(ctx context.Context, user, call string) error
	// Hold puts an agent's call on hold or takes it off.
	Hold(ctx context.Context, user, call string, on bool) error
}

// Dialer places an agent's outbound call through the trunk (the calls
// manager): it returns once the call is the agent's (call.started, then the
// agent's media as for any call), and the call goes on in the background.
// Its errors wrap ErrNoOutbound when no outbound trunk is configured, or
// route.ErrAgentBusy.
type Dialer interface {
	Dial(ctx context.Context, agent, number string) error
}

// Payments are the secure-pay sessions (*pay.Manager).
type Payments interface {
	Start(ctx context.Context, agent, call string, r pay.Request) (pay.Status, error)
	Ask(agent, id string, f session.Field) (pay.Status, error)
	Reset(agent, id string, f session.Field) (pay.Status, error)
	Cancel(ctx context.Context, agent, id string) (pay.Status, error)
	Submit(ctx context.Context, agent, id string) (pay.Status, error)
	Status(ctx context.Context, user string, userID int64, supervisor bool, id string) (pay.Status, error)
	ForCall(call string) (pay.Status, bool)
}

// ErrNoOutbound is what a Dialer returns when it cannot place calls.
var ErrNoOutbound = errors.New("no outbound trunk is configured")

// Errors Media returns (wrapped) for listen-in.
var (
	ErrNoSuchCall       = errors.New("no such call")
	ErrCallNotActive    = errors.New("no agent has answered the call yet")
	ErrTooManyListeners = errors.New("too many supervisors listen to the call")
	ErrNotListening     = errors.New("not listening to the call")
	// ErrNoMicrophone: whisper or barge with a leg that sends no audio.
	ErrNoMicrophone = errors.New("the supervisor's leg sends no audio: whisper and barge need a sendrecv offer with a microphone")
)

// Params are what the Hub needs.
type Params struct {
	Sessions Sessions // required
	Router   Router   // required
	Media    Media    // nil: sdp and candidate messages get an "unavailable" error
	Dialer   Dialer   // nil: dial messages get an "unavailable" error
	Payments Payments // nil: pay.* messages get an "unavailable" error
	Logger   *slog.Logger
	// OriginPatterns are the browser origins allowed besides the server's
	// own (see websocket.AcceptOptions); clients that send no Origin, such
	// as the desktop agent, are always allowed.
	OriginPatterns []string
	PingInterval   time.Duration // how often a silent peer is pinged
	WriteTimeout   time.Duration // how long one message may take to write
	SessionCheck   time.Duration // how often the session is checked again
	SendQueue      int           // messages queued per connection before it counts as too slow
	// Users, if set, is polled every UsersPoll (default DefaultUsersPoll):
	// when users or sessions changed, every connection checks its session
	// at once (Recheck), so a user removed or disabled, even by another
	// process on the same database, is disconnected within about a poll.
	Users     UsersWatch
	UsersPoll time.Duration
}

// Hub is the signalling hub, an http.Handler for GET /api/v1/ws.
type Hub struct {
	p   Params
	log *slog.Logger

	mu     sync.Mutex
	conns  map[string]*conn
	owners map[string]int64 // agent name -> the user id the queue knows it as
	closed bool
	wg     sync.WaitGroup // one per ServeHTTP past authentication

	stopWatch context.CancelFunc // stops watchUsers
	watching  sync.WaitGroup

	snapMu sync.Mutex // orders supervisor snapshots
}

// New returns a Hub.
func New(p Params) (*Hub, error) {
	if p.Sessions == nil || p.Router == nil {
		return nil, errors.New("signal: Params.Sessions and Params.Router are required") //nolint:err113 // a programming error
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.PingInterval <= 0 {
		p.PingInterval = DefaultPingInterval
	}
	if p.WriteTimeout <= 0 {
		p.WriteTimeout = DefaultWriteTimeout
	}
	if p.SessionCheck <= 0 {
		p.SessionCheck = DefaultSessionCheck
	}
	if p.SendQueue <= 0 {
		p.SendQueue = DefaultSendQueue
	}
	if p.UsersPoll <= 0 {
		p.UsersPoll = DefaultUsersPoll
	}
	h := &Hub{p: p, log: p.Logger, conns: map[string]*conn{}, owners: map[string]int64{}, stopWatch: func() {}}
	if p.Users != nil {
		ctx, cancel := context.WithCancel(context.Background())
		h.stopWatch = cancel
		h.watching.Add(1)
		go func() { defer h.watching.Done(); h.watchUsers(ctx) }()
	}
	return h, nil
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// token returns the session token from "Authorization: Bearer TOKEN" or,
// failing that, the token query parameter.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
		return ""
	}
	return r.URL.Query().Get("token")
}

func (h *Hub) authenticate(w http.ResponseWriter, r *http.Request) (store.Session, bool) {
	tok := token(r)
	if tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hushphone"`)
		writeError(w, http.StatusUnauthorized, "sign in first (POST /api/v1/session), then send Authorization: Bearer TOKEN or ?token=TOKEN")
		return store.Session{}, false
	}
	se, err := h.p.Sessions.LookupSession(r.Context(), auth.TokenHash(tok))
	if errors.Is(err, store.ErrNoSession) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="hushphone", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "the session has expired or was signed out: sign in again")
		return store.Session{}, false
	}
	if err != nil {
		h.log.Error("websocket: authenticate", "err", err)
		writeError(w, http.StatusInternalServerError, "the server could not check the session; try again")
		return store.Session{}, false
	}
	switch se.User.Role {
	case store.RoleAgent, store.RoleSupervisor, store.RoleAdmin:
	default:
		writeError(w, http.StatusForbidden, "this needs the agent, supervisor or admin role")
		return store.Session{}, false
	}
	return se, true
}

// ServeHTTP upgrades an authenticated request to the signalling WebSocket
// and serves it until either side closes it or the Hub closes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "open the WebSocket with GET")
		return
	}
	se, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "the server is shutting down; try again shortly")
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	defer h.wg.Done()

	ws, err := websocket.Accept(&acceptErrors{ResponseWriter: w}, r, &websocket.AcceptOptions{OriginPatterns: h.p.OriginPatterns})
	if err != nil {
		h.log.Info("websocket: upgrade refused", "user", se.User.Name, "err", err)
		return // Accept wrote the response (acceptErrors, JSON)
	}
	ws.SetReadLimit(protocol.MaxMessage)
	c := &conn{
		h:         h,
		user:      se.User.Name,
		userID:    se.User.ID,
		role:      se.User.Role,
		tokenHash: se.TokenHash,
		ws:        ws,
		out:       make(chan []byte, h.p.SendQueue),
		recheck:   make(chan struct{}, 1),
		closing:   make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.writeLoop(ctx) }()
	go func() { defer wg.Done(); c.watchLoop(ctx) }()

	h.log.Info("websocket: connected", "user", c.user, "role", string(c.role))
	h.attach(c)
	c.readLoop(ctx)
	h.detach(ctx, c)
	cancel()
	wg.Wait()
	_ = ws.CloseNow()
	h.log.Info("websocket: disconnected", "user", c.user)
}

func isSupervisor(r store.Role) bool { return r == store.RoleSupervisor || r == store.RoleAdmin }

// attach says hello, makes c the user's connection (closing any earlier
// one), and brings the client up to date.
func (h *Hub) attach(c *conn) {
	// A user who took the name of one removed a moment ago is someone
	// else: not heir to the earlier one's state or call. The queue forgets
	// the earlier one first (what that says goes to its connection).
	h.mu.Lock()
	owner, owned := h.owners[c.user]
	h.mu.Unlock()
	if c.role == store.RoleAgent && owned && owner != c.userID {
		h.log.Info("websocket: a new user with a removed user's name; the queue forgets the old one", "user", c.user)
		if err := h.p.Router.Forget(c.user); err != nil && !errors.Is(err, route.ErrNoAgent) {
			h.log.Error("websocket: forget agent", "user", c.user, "err", err)
		}
	}
	c.send(protocol.Message{Type: protocol.TypeHello, User: c.user, Role: protocol.Role(c.role)})
	if isSupervisor(c.role) {
		h.snapMu.Lock()
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		if isSupervisor(c.role) {
			h.snapMu.Unlock()
		}
		c.close(protocol.CloseGoingAway, "server shutting down")
		return
	}
	old := h.conns[c.user]
	h.conns[c.user] = c
	if c.role == store.RoleAgent {
		h.owners[c.user] = c.userID
	}
	h.mu.Unlock()
	switch {
	case old != nil && old.userID != c.userID:
		old.close(protocol.CloseSessionEnded, "the user was removed")
	case old != nil:
		old.close(protocol.CloseReplaced, "connected again elsewhere")
	}
	if isSupervisor(c.role) {
		// The snapshots, paged; the changes after them come as
		// agent.changed, call.changed and call.removed (snapMu keeps them
		// after the snapshot).
		sendPaged(c, protocol.TypeAgents, h.agents(), func(m *protocol.Message, page []protocol.AgentSnapshot) { m.Agents = page })
		sendPaged(c, protocol.TypeCalls, h.calls(), func(m *protocol.Message, page []protocol.CallSnapshot) { m.Calls = page })
		h.snapMu.Unlock()
	}
	if c.role != store.RoleAgent {
		return
	}
	prev, known := h.p.Router.Agent(c.user)
	if err := h.p.Router.Register(c.user, c.user); err != nil {
		h.log.Error("websocket: register agent", "user", c.user, "err", err)
		c.send(protocol.Message{Type: protocol.TypeError, Code: protocol.CodeUnavailable, Message: "the call queue is not taking agents; try again shortly"})
		c.close(protocol.CloseNotRegistered, "call queue unavailable")
		return
	}
	if known && prev.State != route.StateOffline {
		// The same agent's earlier connection was replaced: the queue saw
		// no change, so tell this one where things stand.
		c.send(protocol.Message{Type: protocol.TypePresence, User: c.user, Status: string(prev.State)})
		if prev.Call != "" {
			from := ""
			for _, ci := range h.p.Router.Calls() {
				if ci.ID == prev.Call {
					from = ci.From
				}
			}
			switch prev.State {
			case route.StateRinging:
				c.send(protocol.Message{Type: protocol.TypeCallOffered, Call: prev.Call, From: from})
			case route.StateBusy:
				c.send(protocol.Message{Type: protocol.TypeCallStarted, Call: prev.Call, From: from, Rejoined: true})
			default:
			}
		}
	}
}

// detach forgets c if it is still its user's connection; an agent's call
// queue then learns the agent is gone.
func (h *Hub) detach(ctx context.Context, c *conn) {
	h.mu.Lock()
	current := h.conns[c.user] == c
	if current {
		delete(h.conns, c.user)
	}
	h.mu.Unlock()
	if current && c.role == store.RoleAgent {
		// A connection closed because its session ended (signed out,
		// expired, the user removed or disabled) leaves the queue for
		// good: no call waits for it to rejoin. Any other drop may rejoin.
		leave, what := h.p.Router.Disconnect, "disconnect"
		if c.sessionEnded() {
			leave, what = h.p.Router.Forget, "forget"
		}
		if err := leave(c.user); err != nil && !errors.Is(err, route.ErrNoAgent) && !errors.Is(err, route.ErrClosed) {
			h.log.Error("websocket: agent "+what, "user", c.user, "err", err)
		}
		if _, known := h.p.Router.Agent(c.user); !known {
			h.mu.Lock()
			if h.conns[c.user] == nil {
				delete(h.owners, c.user) // the queue forgot it: so do we
			}
			h.mu.Unlock()
		}
	}
	if current && isSupervisor(c.role) && h.p.Media != nil {
		// The supervisor's ears close with the connection.
		if err := h.p.Media.Unlisten(context.WithoutCancel(ctx), c.user, ""); err != nil && !errors.Is(err, ErrNotListening) {
			h.log.Error("websocket: supervisor disconnect", "user", c.user, "err", err)
		}
	}
}

// Send queues a message for the user's connection.
func (h *Hub) Send(user string, m protocol.Message) error {
	h.mu.Lock()
	c := h.conns[user]
	h.mu.Unlock()
	if c == nil {
		return fmt.Errorf("send %s: %w", m.Type, ErrNotConnected)
	}
	c.send(m)
	return nil
}

// Broadcast queues a message for every connected supervisor and admin.
func (h *Hub) Broadcast(m protocol.Message) {
	b, err := json.Marshal(m)
	if err != nil {
		h.log.Error("websocket: encode", "type", m.Type, "err", err)
		return
	}
	for _, c := range h.supervisors() {
		c.enqueue(b)
	}
}

func (h *Hub) supervisors() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*conn
	for _, c := range h.conns {
		if isSupervisor(c.role) {
			out = append(out, c)
		}
	}
	return out
}

// Connected reports whether the user has a connection.
func (h *Hub) Connected(user string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conns[user] != nil
}

// SDP sends the media side's SDP for a call to its agent or a supervisor
// listening to it.
func (h *Hub) SDP(user, call string, kind protocol.SDPKind, sdp string) error {
	return h.Send(user, protocol.Message{Type: protocol.TypeSDP, Call: call, Kind: kind, SDP: sdp})
}

// Candidate sends the media side's ICE candidate for a call to its agent
// or a supervisor listening to it, with its media section (mid, mline);
// an empty candidate is sent as end-of-candidates ("end": true).
func (h *Hub) Candidate(user, call, candidate string, mid *string, mline *uint16) error {
	m := protocol.Message{Type: protocol.TypeCandidate, Call: call, Candidate: candidate, SDPMid: mid, SDPMLineIndex: mline}
	if candidate == "" {
		m.End, m.SDPMid, m.SDPMLineIndex = true, nil, nil // end-of-candidates
	}
	return h.Send(user, m)
}

// Progress tells an agent how the call they placed is going (the far end
// rings, or answered).
func (h *Hub) Progress(agent, call string, status protocol.ProgressStatus) {
	_ = h.Send(agent, protocol.Message{Type: protocol.TypeCallProgress, Call: call, Status: string(status)})
}

// Supervisor tells a call's agent that a supervisor whispers to them or
// barged in (mode), or is no longer heard (mode empty).
func (h *Hub) Supervisor(agent, call, user string, mode protocol.ListenMode) {
	_ = h.Send(agent, protocol.Message{Type: protocol.TypeSupervisor, Call: call, User: user, Mode: mode})
}

// ListenEnded tells a supervisor that listening to a call is over.
func (h *Hub) ListenEnded(user, call string, reason protocol.ListenEndReason) {
	_ = h.Send(user, protocol.Message{Type: protocol.TypeListenEnded, Call: call, Reason: string(reason)})
}

// KeyPressed tells the agent on the call (if any), and every supervisor,
// that the caller pressed a key. Which key is never said: there is no way
// to.
func (h *Hub) KeyPressed(call, agent string) {
	m := protocol.Message{Type: protocol.TypeKeyPressed, Call: call}
	if agent != "" {
		_ = h.Send(agent, m) // an agent who dropped is simply not told
	}
	h.Broadcast(m)
}

// Payment sends a payment session's status to its agent and to every
// supervisor and admin (pay.Params.Notify). It carries what pay.Status
// carries: progress, never a digit beyond the card's last four.
func (h *Hub) Payment(s pay.Status) {
	m := protocol.Message{Type: protocol.TypePayProgress, Call: s.Call, Session: s.ID, Payment: &s}
	_ = h.Send(s.Agent, m) // an agent who dropped is simply not told
	h.Broadcast(m)
}

// sendPaged sends a snapshot in pages of at most protocol.SnapshotPage
// entries, every page but the last with More; an empty snapshot is one
// empty page.
func sendPaged[T any](c *conn, typ protocol.Type, all []T, set func(*protocol.Message, []T)) {
	for {
		n := min(len(all), protocol.SnapshotPage)
		m := protocol.Message{Type: typ, More: n < len(all)}
		set(&m, all[:n:n])
		c.send(m)
		all = all[n:]
		if len(all) == 0 {
			return
		}
	}
}

func agentSnapshot(a route.AgentInfo) protocol.AgentSnapshot {
	return protocol.AgentSnapshot{User: a.ID, Status: a.State, Since: a.Since.UTC(), Call: a.Call}
}

func callSnapshot(c route.CallInfo) protocol.CallSnapshot {
	return protocol.CallSnapshot{Call: c.ID, From: c.From, State: c.State, Outbound: c.Outbound, Queue: c.Queue, Agent: c.Agent, Since: c.Since.UTC(), Arrived: c.Arrived.UTC()}
}

func (h *Hub) agents() []protocol.AgentSnapshot {
	as := h.p.Router.Agents()
	out := make([]protocol.AgentSnapshot, 0, len(as))
	for _, a := range as {
		out = append(out, agentSnapshot(a))
	}
	return out
}

func (h *Hub) calls() []protocol.CallSnapshot {
	cs := h.p.Router.Calls()
	out := make([]protocol.CallSnapshot, 0, len(cs))
	for _, c := range cs {
		out = append(out, callSnapshot(c))
	}
	return out
}

// agentChanged tells every supervisor one agent's state: a message of one
// agent, whatever the number of agents and calls.
func (h *Hub) agentChanged(id string) {
	// Looked up under snapMu, like the snapshot: of two changes sent, the
	// later holds the newer state, so supervisors end where the queue is
	// even when two goroutines' events cross.
	h.snapMu.Lock()
	defer h.snapMu.Unlock()
	a, ok := h.p.Router.Agent(id)
	if !ok {
		return
	}
	h.Broadcast(protocol.Message{Type: protocol.TypeAgentChanged, Agents: []protocol.AgentSnapshot{agentSnapshot(a)}})
}

// callChanged tells every supervisor one call's state, or that it is over.
func (h *Hub) callChanged(id string) {
	h.snapMu.Lock() // see agentChanged
	defer h.snapMu.Unlock()
	m := protocol.Message{Type: protocol.TypeCallRemoved, Call: id}
	if c, ok := h.p.Router.Call(id); ok {
		m = protocol.Message{Type: protocol.TypeCallChanged, Calls: []protocol.CallSnapshot{callSnapshot(c)}}
	}
	h.Broadcast(m)
}

// RouteEvent turns one of the call queue's events into messages: give it
// to route.WithEvents.
//
// Supervisors are told of each change as it happens, one agent or one call
// a message (agent.changed, call.changed, call.removed), so what a change
// costs does not grow with the number of calls.
func (h *Hub) RouteEvent(e route.Event) {
	var call string
	switch e := e.(type) {
	case route.OfferCall:
		_ = h.Send(e.Agent, protocol.Message{Type: protocol.TypeCallOffered, Call: e.Call, From: e.From})
		call = e.Call
	case route.WithdrawOffer:
		_ = h.Send(e.Agent, protocol.Message{Type: protocol.TypeCallWithdrawn, Call: e.Call, Reason: string(e.Reason)})
		call = e.Call
	case route.CallAssigned:
		_ = h.Send(e.Agent, protocol.Message{Type: protocol.TypeCallStarted, Call: e.Call, From: e.From, Rejoined: e.Rejoined, Outbound: e.Outbound})
		call = e.Call
	case route.CallEnded:
		if e.Agent != "" {
			_ = h.Send(e.Agent, protocol.Message{Type: protocol.TypeCallEnded, Call: e.Call, Reason: string(e.Reason)})
		}
		call = e.Call
	case route.AgentState:
		_ = h.Send(e.Agent, protocol.Message{Type: protocol.TypePresence, User: e.Agent, Status: string(e.State)})
		h.agentChanged(e.Agent)
		return
	case route.CallQueued:
		call = e.Call
	case route.CallHeld:
		call = e.Call
	case route.CallRequeued:
		call = e.Call
	default:
		return
	}
	h.callChanged(call)
}

// Close closes every connection (status 1001) and waits for them to end
// (a peer that does not answer the close handshake is cut off after 5 s);
// later connections get 503. Close the Hub before the Router.
func (h *Hub) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.stopWatch()
	conns := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.close(protocol.CloseGoingAway, "server shutting down")
	}
	h.wg.Wait()
	h.watching.Wait()
	return nil
}
