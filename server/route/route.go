// Package route is the call queue: which agent is offered which inbound
// call, and when.
//
// Agents register, set themselves available or away, are offered a call
// (ringing), go busy when they answer and back to available when the call
// ends (idle from then on). Inbound calls wait in a FIFO queue; the call at
// the front is offered to the longest-idle available agent. An offer left
// unanswered for the ring timeout, or declined, is withdrawn and the call is
// offered to the next longest-idle agent: not to one who already had it
// until every available agent has. An agent whose connection drops mid-call
// leaves the call held for the rejoin timeout; if they register again in
// time they get the same call back, otherwise it goes to the front of the
// queue. Calls that hang up while queued or ringing leave the queue.
//
// An agent may also place a call (Outbound): it is theirs at once and
// never queued, and if they drop and do not rejoin in time it ends.
//
// The Router is pure logic: time comes from an injected Clock, and every
// change goes out as an Event to one callback, in order. The Router starts
// no goroutines; timers run through the Clock, and Close stops them and
// waits for any that are running.
package route

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hushphone/hushphone/protocol"
)

// Defaults for the options.
const (
	DefaultRingTimeout   = 20 * time.Second
	DefaultRejoinTimeout = 30 * time.Second
)

// Sentinel errors, wrapped with %w; check them with errors.Is.
var (
	ErrNoAgent     = errors.New("no such agent")
	ErrNoCall      = errors.New("no such call")
	ErrCallExists  = errors.New("a call with that id already exists")
	ErrBadID       = errors.New("empty id")
	ErrBadPresence = errors.New("presence must be available or away")
	ErrNotOffered  = errors.New("the call is not being offered to this agent")
	ErrNotYourCall = errors.New("the agent is not on this call")
	ErrAgentBusy   = errors.New("the agent has a call ringing or in progress")
	ErrClosed      = errors.New("the router is closed")
)

// State is an agent's state: the protocol's presence states.
type State = protocol.AgentState

// Agent states. Available and Away are what agents choose; the rest the
// Router sets.
const (
	StateAvailable = protocol.AgentAvailable // waiting for a call
	StateAway      = protocol.AgentAway      // not taking calls
	StateRinging   = protocol.AgentRinging   // being offered a call
	StateBusy      = protocol.AgentBusy      // on a call
	StateOffline   = protocol.AgentOffline   // disconnected (holding a call for rejoin, or gone)
)

// CallState is a call's state: the protocol's call states.
type CallState = protocol.CallState

// Call states.
const (
	CallStateQueued  = protocol.CallQueued  // waiting for an agent
	CallStateRinging = protocol.CallRinging // offered to an agent
	CallStateActive  = protocol.CallActive  // answered
	CallStateHeld    = protocol.CallHeld    // the agent dropped; waiting for them to rejoin
)

// Option changes how New sets up a Router.
type Option func(*Router)

// WithClock sets the time source (default SystemClock).
func WithClock(c Clock) Option { return func(r *Router) { r.clock = c } }

// WithRingTimeout sets how long an offer rings before it is withdrawn.
func WithRingTimeout(d time.Duration) Option { return func(r *Router) { r.ring = d } }

// WithRejoinTimeout sets how long a call waits for its dropped agent.
func WithRejoinTimeout(d time.Duration) Option { return func(r *Router) { r.rejoin = d } }

// WithMaxWait bounds how long a caller waits for an agent (in the queue or
// ringing, counted from when the call last joined the queue): past it the
// call ends with protocol.EndQueueTimeout. 0, the default, lets callers
// wait as long as it takes.
func WithMaxWait(d time.Duration) Option { return func(r *Router) { r.maxWait = d } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(r *Router) { r.log = l } }

// WithEvents sets the callback every Event goes to, one at a time and in
// order. It runs with no Router lock held and may call any Router method
// except Close; events caused by such calls are delivered after it
// returns. It should not block for long: it holds up other events.
func WithEvents(f func(Event)) Option { return func(r *Router) { r.onEvent = f } }

type agent struct {
	id, name  string
	state     State
	since     time.Time
	idleSince time.Time // when the agent last became available
	pref      State     // StateAvailable or StateAway: what to return to after a call
	seq       uint64    // registration order: ties on idleSince
	call      *call     // ringing, busy or held
}

type call struct {
	id, from string
	queue    string // its queue (inbound calls)
	outbound bool   // placed by its agent; never queued
	state    CallState
	since    time.Time
	arrived  time.Time
	agent    *agent
	tried    map[string]bool // agents offered the call since the last reset
	timer    Timer           // ring or rejoin timeout
	gen      uint64          // bumped on every change; stale timers compare it
	wait     Timer           // the longest wait, while queued or ringing
	waitGen  uint64          // bumped when the wait starts or stops
}

// Router is the call queue. It is safe for concurrent use.
type Router struct {
	clock   Clock
	ring    time.Duration
	rejoin  time.Duration
	maxWait time.Duration
	log     *slog.Logger
	onEvent func(Event)
	member  func(agentName, queue string) bool

	mu       sync.Mutex
	agents   map[string]*agent
	calls    map[string]*call
	queue    []*call // queued and ringing calls, oldest first
	seq      uint64
	pending  []Event
	emitting bool
	closed   bool
	timers   sync.WaitGroup
}

// New returns a Router.
func New(opts ...Option) *Router {
	r := &Router{
		clock:  SystemClock(),
		ring:   DefaultRingTimeout,
		rejoin: DefaultRejoinTimeout,
		log:    slog.New(slog.DiscardHandler),
		agents: map[string]*agent{},
		calls:  map[string]*call{},
	}
	for _, o := range opts {
		o(r)
	}
	if r.onEvent == nil {
		r.onEvent = func(Event) {}
	}
	if r.ring <= 0 {
		r.ring = DefaultRingTimeout
	}
	if r.rejoin <= 0 {
		r.rejoin = DefaultRejoinTimeout
	}
	return r
}

// lock takes the Router's lock, or returns ErrClosed.
func (r *Router) lock() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// unlock releases the lock and delivers pending events, unless another
// goroutine (or an outer frame of this one) is already delivering them.
func (r *Router) unlock() {
	if r.emitting {
		r.mu.Unlock()
		return
	}
	r.emitting = true
	for len(r.pending) > 0 {
		evs := r.pending
		r.pending = nil
		r.mu.Unlock()
		for _, e := range evs {
			r.onEvent(e)
		}
		r.mu.Lock()
	}
	r.emitting = false
	r.mu.Unlock()
}

func (r *Router) emit(e Event) { r.pending = append(r.pending, e) }

// Register adds an available-to-be agent, away until they say otherwise.
// Registering an agent whose call is held for them gives them the call back
// (CallAssigned with Rejoined); registering a connected agent again only
// updates the name.
func (r *Router) Register(id, name string) error {
	if id == "" {
		return fmt.Errorf("register: %w", ErrBadID)
	}
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	now := r.clock.Now()
	if a, ok := r.agents[id]; ok {
		a.name = name
		if a.state != StateOffline {
			return nil
		}
		c := a.call
		r.stopTimer(c)
		c.gen++
		c.state, c.since = CallStateActive, now
		r.log.Info("agent rejoined call", "agent", id, "call", c.id)
		r.emit(CallAssigned{Agent: id, Call: c.id, From: c.from, Rejoined: true})
		r.setState(a, StateBusy, now)
		return nil
	}
	r.seq++
	a := &agent{id: id, name: name, state: StateAway, since: now, pref: StateAway, seq: r.seq}
	r.agents[id] = a
	r.log.Info("agent registered", "agent", id)
	r.emit(AgentState{Agent: id, Name: name, State: StateAway, Since: now})
	return nil
}

// SetPresence sets an agent available or away. Going away while ringing
// withdraws the offer; while busy, it takes effect when the call ends.
func (r *Router) SetPresence(id string, p State) error {
	if p != StateAvailable && p != StateAway {
		return fmt.Errorf("set presence %q: %w", p, ErrBadPresence)
	}
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	a, ok := r.agents[id]
	if !ok || a.state == StateOffline {
		return fmt.Errorf("set presence: %w", ErrNoAgent)
	}
	a.pref = p
	now := r.clock.Now()
	switch a.state {
	case StateAvailable, StateAway:
		if a.state != p {
			if p == StateAvailable {
				a.idleSince = now
			}
			r.setState(a, p, now)
		}
	case StateRinging:
		if p == StateAway {
			r.withdraw(a.call, protocol.WithdrawAway, StateAway, now)
		}
	default: // busy: pref applies when the call ends
	}
	r.dispatch(now)
	return nil
}

// Disconnect says the agent's connection dropped. A ringing offer is
// withdrawn; a call in progress is held for the rejoin timeout; otherwise
// the agent is gone.
func (r *Router) Disconnect(id string) error {
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	a, ok := r.agents[id]
	if !ok || a.state == StateOffline {
		return fmt.Errorf("disconnect: %w", ErrNoAgent)
	}
	now := r.clock.Now()
	switch a.state {
	case StateRinging:
		r.withdraw(a.call, protocol.WithdrawAgentGone, StateOffline, now)
		r.remove(a)
	case StateBusy:
		c := a.call
		c.gen++
		c.state, c.since = CallStateHeld, now
		gen := c.gen
		c.timer = r.after(r.rejoin, func() { r.rejoinTimeout(c, gen) })
		r.log.Info("agent dropped mid-call; holding the call", "agent", id, "call", c.id)
		r.emit(CallHeld{Agent: id, Call: c.id, Until: now.Add(r.rejoin)})
		r.setState(a, StateOffline, now)
	default:
		r.setState(a, StateOffline, now)
		r.remove(a)
	}
	r.dispatch(now)
	return nil
}

// Forget takes the agent out of the queue for good, at once: its session
// ended (signed out, expired, the user removed or disabled), so nobody may
// rejoin as it. A ringing offer is withdrawn; a call it is on, or that
// waits for it to rejoin, goes back to the front of the queue now (a call
// it placed ends), as when an agent does not rejoin in time.
func (r *Router) Forget(id string) error {
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	a, ok := r.agents[id]
	if !ok {
		return fmt.Errorf("forget: %w", ErrNoAgent)
	}
	now := r.clock.Now()
	switch {
	case a.state == StateRinging:
		r.withdraw(a.call, protocol.WithdrawAgentGone, StateOffline, now)
		r.remove(a)
	case a.call != nil: // busy, or offline with its call held for a rejoin
		c := a.call
		r.stopTimer(c)
		r.setState(a, StateOffline, now)
		c.state = CallStateHeld
		r.rejoinTimeout(c, c.gen)
	default:
		r.setState(a, StateOffline, now)
		r.remove(a)
	}
	r.dispatch(now)
	return nil
}

// Outbound records a call the agent places (to is the number dialled): it
// is the agent's at once, active, and never queued. The agent must be
// connected with no call ringing or in progress; an agent who was
// available is busy until it ends, then available again. If the agent's
// connection drops, the call is held for the rejoin timeout like any, but
// then it ends (protocol.EndAgentGone) instead of going to the queue.
func (r *Router) Outbound(agentID, callID, to string) error {
	if callID == "" || agentID == "" {
		return fmt.Errorf("outbound call: %w", ErrBadID)
	}
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	a, ok := r.agents[agentID]
	if !ok || a.state == StateOffline {
		return fmt.Errorf("outbound call: %w", ErrNoAgent)
	}
	if a.call != nil {
		return fmt.Errorf("outbound call: %w", ErrAgentBusy)
	}
	if _, ok := r.calls[callID]; ok {
		return fmt.Errorf("outbound call: %w", ErrCallExists)
	}
	now := r.clock.Now()
	c := &call{id: callID, from: to, outbound: true, state: CallStateActive, since: now, arrived: now, agent: a, tried: map[string]bool{}}
	r.calls[callID] = c
	a.call = c
	r.log.Info("outbound call", "agent", agentID, "call", callID)
	r.emit(CallAssigned{Agent: agentID, Call: callID, From: to, Outbound: true})
	r.setState(a, StateBusy, now)
	return nil
}

// Answer takes the call offered to the agent.
func (r *Router) Answer(agentID, callID string) error {
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	a, c, err := r.offered(agentID, callID)
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	now := r.clock.Now()
	r.stopTimer(c)
	r.stopWait(c)
	c.gen++
	c.state, c.since = CallStateActive, now
	r.dequeue(c)
	r.log.Info("call answered", "agent", agentID, "call", callID)
	r.emit(CallAssigned{Agent: agentID, Call: callID, From: c.from})
	r.setState(a, StateBusy, now)
	return nil
}

// Decline refuses the call offered to the agent; it goes to the next agent.
func (r *Router) Decline(agentID, callID string) error {
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	_, c, err := r.offered(agentID, callID)
	if err != nil {
		return fmt.Errorf("decline: %w", err)
	}
	now := r.clock.Now()
	r.withdraw(c, protocol.WithdrawDeclined, StateAvailable, now)
	r.dispatch(now)
	return nil
}

// Hangup ends a call from the caller's side (or the server's), whatever its
// state. The reason goes out in CallEnded; "" means protocol.EndCallerGone.
func (r *Router) Hangup(callID string, reason protocol.EndReason) error {
	why := reason
	if why == "" {
		why = protocol.EndCallerGone
	}
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	c, ok := r.calls[callID]
	if !ok {
		return fmt.Errorf("hang up: %w", ErrNoCall)
	}
	r.end(c, why, r.clock.Now())
	return nil
}

// AgentHangup ends the agent's active call.
func (r *Router) AgentHangup(agentID, callID string) error {
	if err := r.lock(); err != nil {
		return err
	}
	defer r.unlock()
	c, ok := r.calls[callID]
	if !ok {
		return fmt.Errorf("hang up: %w", ErrNoCall)
	}
	if c.state != CallStateActive || c.agent == nil || c.agent.id != agentID {
		return fmt.Errorf("hang up: %w", ErrNotYourCall)
	}
	r.end(c, protocol.EndAgent, r.clock.Now())
	return nil
}

// Close stops every timer and waits for any that is running; later calls
// return ErrClosed. Calls still in the Router are left to their owner (the
// trunk) to hang up. Close must not be called from the event callback.
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for _, c := range r.calls {
		r.stopTimer(c)
		r.stopWait(c)
	}
	r.mu.Unlock()
	r.timers.Wait()
	return nil
}

// offered returns the agent and the call if the call is ringing at the
// agent.
func (r *Router) offered(agentID, callID string) (*agent, *call, error) {
	a, ok := r.agents[agentID]
	if !ok || a.state == StateOffline {
		return nil, nil, ErrNoAgent
	}
	c, ok := r.calls[callID]
	if !ok {
		return nil, nil, ErrNoCall
	}
	if c.state != CallStateRinging || c.agent != a {
		return nil, nil, ErrNotOffered
	}
	return a, c, nil
}

func (r *Router) setState(a *agent, s State, now time.Time) {
	if a.state == s {
		return
	}
	a.state, a.since = s, now
	r.log.Debug("agent state", "agent", a.id, "state", string(s))
	r.emit(AgentState{Agent: a.id, Name: a.name, State: s, Since: now})
}

// remove forgets an agent who is offline and has no call.
func (r *Router) remove(a *agent) {
	delete(r.agents, a.id)
	r.log.Info("agent gone", "agent", a.id)
}

// withdraw takes a ringing call back from its agent, who goes to state
// next, and puts the call back in the queue where it was.
func (r *Router) withdraw(c *call, reason protocol.WithdrawReason, next State, now time.Time) {
	a := c.agent
	r.stopTimer(c)
	c.gen++
	c.state, c.since, c.agent = CallStateQueued, now, nil
	a.call = nil
	r.log.Info("offer withdrawn", "agent", a.id, "call", c.id, "reason", reason)
	r.emit(WithdrawOffer{Agent: a.id, Call: c.id, Reason: reason})
	r.setState(a, next, now)
}

// end removes a call in any state.
func (r *Router) end(c *call, reason protocol.EndReason, now time.Time) {
	r.stopTimer(c)
	r.stopWait(c)
	c.gen++
	a := c.agent
	if c.state == CallStateRinging {
		r.withdraw(c, protocol.WithdrawCallerGone, StateAvailable, now)
		a = nil // the call never reached them
	}
	state := c.state
	r.dequeue(c)
	delete(r.calls, c.id)
	ev := CallEnded{Call: c.id, Reason: reason}
	if a != nil {
		ev.Agent = a.id
		a.call = nil
	}
	r.log.Info("call ended", "call", c.id, "reason", reason)
	r.emit(ev)
	switch state {
	case CallStateActive:
		if a.pref == StateAvailable {
			a.idleSince = now
		}
		r.setState(a, a.pref, now)
	case CallStateHeld:
		r.remove(a)
	default:
	}
	r.dispatch(now)
}

func (r *Router) dequeue(c *call) {
	for i, q := range r.queue {
		if q == c {
			r.queue = append(r.queue[:i], r.queue[i+1:]...)
			return
		}
	}
}

// dispatch offers every queued call, oldest first, to the longest-idle
// available member of its queue it has not yet been offered to.
func (r *Router) dispatch(now time.Time) {
	for _, c := range r.queue {
		if c.state != CallStateQueued {
			continue
		}
		a := r.pick(c)
		if a == nil {
			continue
		}
		c.gen++
		c.state, c.since, c.agent = CallStateRinging, now, a
		c.tried[a.id] = true
		a.call = c
		gen := c.gen
		c.timer = r.after(r.ring, func() { r.ringTimeout(c, gen) })
		r.log.Info("call offered", "agent", a.id, "call", c.id)
		r.emit(OfferCall{Agent: a.id, Call: c.id, From: c.from})
		r.setState(a, StateRinging, now)
	}
}

// pick returns the longest-idle available member of the call's queue the
// call has not been offered to; once every one has had it, they all may
// again.
func (r *Router) pick(c *call) *agent {
	var best, bestAny *agent
	better := func(a, b *agent) bool {
		if b == nil {
			return true
		}
		if !a.idleSince.Equal(b.idleSince) {
			return a.idleSince.Before(b.idleSince)
		}
		return a.seq < b.seq
	}
	for _, a := range r.agents {
		if a.state != StateAvailable || r.member != nil && !r.member(a.name, c.queue) {
			continue
		}
		if better(a, bestAny) {
			bestAny = a
		}
		if !c.tried[a.id] && better(a, best) {
			best = a
		}
	}
	if best == nil && bestAny != nil {
		clear(c.tried)
		best = bestAny
	}
	return best
}

func (r *Router) ringTimeout(c *call, gen uint64) {
	if c.gen != gen || c.state != CallStateRinging {
		return
	}
	now := r.clock.Now()
	r.withdraw(c, protocol.WithdrawTimeout, StateAvailable, now)
	r.dispatch(now)
}

func (r *Router) rejoinTimeout(c *call, gen uint64) {
	if c.gen != gen || c.state != CallStateHeld {
		return
	}
	now := r.clock.Now()
	if c.outbound { // nobody else can take over a call an agent placed
		r.log.Info("agent did not rejoin; ending the call they placed", "agent", c.agent.id, "call", c.id)
		r.end(c, protocol.EndAgentGone, now)
		return
	}
	a := c.agent
	c.gen++
	c.state, c.since, c.agent = CallStateQueued, now, nil
	clear(c.tried)
	a.call = nil
	r.remove(a)
	r.queue = append([]*call{c}, r.queue...)
	r.startWait(c)
	r.log.Info("agent did not rejoin; call back to the front of the queue", "agent", a.id, "call", c.id)
	r.emit(CallRequeued{Call: c.id, Agent: a.id, Reason: protocol.EndAgentGone})
	r.dispatch(now)
}

// after schedules f under the Router's lock; Close waits for it.
func (r *Router) after(d time.Duration, f func()) Timer {
	r.timers.Add(1)
	return r.clock.AfterFunc(d, func() {
		defer r.timers.Done()
		if r.lock() != nil {
			return
		}
		defer r.unlock()
		f()
	})
}

func (r *Router) stopTimer(c *call) {
	if c.timer != nil && c.timer.Stop() {
		r.timers.Done()
	}
	c.timer = nil
}
