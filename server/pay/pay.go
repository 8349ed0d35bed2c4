// Package pay owns the secure-pay capture sessions of live calls: the
// server side of payment/session.
//
// An agent starts a session on the call they are on (amount and currency,
// or amount 0 to tokenize; the fields wanted; the brands accepted); from
// then on the call's key presses, as its Masker reports them, feed the
// session (Manager.Key, given to calls.Params.Keys), and nothing else ever
// reads them. Each change goes out as a Status (Params.Notify: the agent and
// every supervisor): per field its state, digit count, reason and attempts
// left, the brand, the card's last four once complete. Never a digit more.
// The caller hears a short confirmation tone when a field is accepted and an
// error tone when one is rejected (Params.Prompt: the caller only).
//
// The agent can ask for a field again, reset one, cancel, and submit once
// every field is valid: the digits go to the gateway (Params.Gateway) and
// the session's buffers are zeroed whatever the answer. Every session is an
// audit row (Params.Audit): who, which call, what for, the brand and last
// four, and how it ended; never the number, the expiry or the security code.
//
// A session ends approved, declined, cancelled (the agent), dropped (the
// call ended, or went back to the queue), timed_out (nobody did anything
// for IdleLimit), or failed (the gateway could not be reached: the session
// stays open so the agent can submit again, with the same idempotency key,
// or cancel; it is recorded as failed if it ends there).
package pay

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/payment/session"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

// Errors, wrapped with what was wrong; check them with errors.Is. Their
// text never holds a digit the caller typed.
var (
	ErrBadRequest  = errors.New("pay: bad request")
	ErrNoSession   = errors.New("pay: no such payment session")
	ErrNotYourCall = errors.New("pay: you are not on that call")
	ErrForbidden   = errors.New("pay: not your payment session")
	ErrActive      = errors.New("pay: a payment session is already under way on that call")
	ErrNotReady    = errors.New("pay: not every field is valid yet")
	ErrOver        = errors.New("pay: the payment session is over")
	ErrSubmitting  = errors.New("pay: the payment is being submitted")
	ErrClosed      = errors.New("pay: the server is shutting down")
)

// Calls says which call an agent is on (*route.Router).
type Calls interface {
	Agent(id string) (route.AgentInfo, bool)
}

// Audit is where sessions are recorded (*store.Store).
type Audit interface {
	AddPayment(ctx context.Context, p store.Payment) error
	FinishPayment(ctx context.Context, p store.Payment) error
	PaymentByID(ctx context.Context, id string) (store.Payment, error)
	EndUnfinishedPayments(ctx context.Context, reason string) (int, error)
}

// Defaults for Params.
const (
	DefaultTick           = 250 * time.Millisecond
	DefaultGatewayTimeout = 20 * time.Second
	DefaultIdleLimit      = 10 * time.Minute
)

// Params are what a Manager needs.
type Params struct {
	Gateway gateway.Connector // required
	Audit   Audit             // required
	Calls   Calls             // required
	// Prompt plays a feedback tone to a call's caller only (never the
	// agent, the supervisors or the recording); nil: none.
	Prompt func(call string, t Tone)
	// Notify sends a session's status to its agent and every supervisor;
	// it must not block.
	Notify func(s Status)
	Logger *slog.Logger
	Now    func() time.Time
	// Tick is how often field timeouts are checked; GatewayTimeout bounds
	// one submit; IdleLimit ends a session nobody touches (no key, no
	// request) as timed_out.
	Tick           time.Duration
	GatewayTimeout time.Duration
	IdleLimit      time.Duration
}

// Manager owns every live session.
type Manager struct {
	p   Params
	log *slog.Logger

	mu     sync.Mutex
	byID   map[string]*live
	byCall map[string]*live
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

// live is one session.
type live struct {
	mu       sync.Mutex
	st       Status
	s        *session.Session
	req      Request
	last     time.Time // the latest key or request
	attempts int       // submits made
}

// New returns a Manager and starts its timeout checks; Close stops them.
// The checks write the audit rows of sessions that time out under ctx
// (its cancellation aside: Close stops them).
func New(ctx context.Context, p Params) (*Manager, error) {
	if p.Gateway == nil || p.Audit == nil || p.Calls == nil {
		return nil, fmt.Errorf("%w: Gateway, Audit and Calls are required", ErrBadRequest)
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Notify == nil {
		p.Notify = func(Status) {}
	}
	if p.Prompt == nil {
		p.Prompt = func(string, Tone) {}
	}
	if p.Tick <= 0 {
		p.Tick = DefaultTick
	}
	if p.GatewayTimeout <= 0 {
		p.GatewayTimeout = DefaultGatewayTimeout
	}
	if p.IdleLimit <= 0 {
		p.IdleLimit = DefaultIdleLimit
	}
	// Sessions a previous run was taking when it stopped (killed, crashed)
	// never finished: their calls are gone, so they were dropped.
	if n, err := p.Audit.EndUnfinishedPayments(ctx, auditServerRestarted); err != nil {
		return nil, fmt.Errorf("pay: %w", err)
	} else if n > 0 {
		p.Logger.Warn("payments left unfinished by the last run recorded as dropped", "payments", n)
	}
	checkMemory(p.Logger)
	m := &Manager{p: p, log: p.Logger, byID: map[string]*live{}, byCall: map[string]*live{}, stop: make(chan struct{})}
	m.wg.Add(1)
	go m.ticks(context.WithoutCancel(ctx))
	return m, nil
}

// newID returns a session id: "pay_" and 24 random hex characters, every
// sixth a letter, so that no run of digits in it can look like card data
// to the checks that guard the audit and the logs.
func newID() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("pay: session id: %w", err)
	}
	h := []byte(hex.EncodeToString(b[:]))
	for i := 5; i < len(h); i += 6 {
		h[i] = "abcdef"[b[i%len(b)]%6]
	}
	return "pay_" + string(h), nil
}

// Start starts a session on the call agent is on.
func (m *Manager) Start(ctx context.Context, agent, call string, r Request) (Status, error) {
	sp, err := check(&r)
	if err != nil {
		return Status{}, err
	}
	if a, ok := m.p.Calls.Agent(agent); !ok || a.Call != call || a.State != route.StateBusy {
		return Status{}, fmt.Errorf("%w: start a payment on the call you are talking on", ErrNotYourCall)
	}
	id, err := newID()
	if err != nil {
		return Status{}, err
	}
	if r.IdempotencyKey == "" {
		r.IdempotencyKey = id
	}
	now := m.p.Now()
	s, err := session.New(sp, now)
	if err != nil {
		return Status{}, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	l := &live{s: s, req: r, last: now, st: Status{ID: id, Call: call, Agent: agent, State: protocol.PayCapturing, Amount: r.Amount,
		Currency: r.Currency, Description: r.Description, Method: r.Method, Gateway: m.p.Gateway.Name(), Started: now.UTC()}}
	m.mu.Lock()
	switch {
	case m.closed:
		err = ErrClosed
	case m.byCall[call] != nil:
		err = fmt.Errorf("%w: cancel it or let it finish first", ErrActive)
	default:
		m.byCall[call], m.byID[id] = l, l
	}
	m.mu.Unlock()
	if err != nil {
		s.Close()
		return Status{}, err
	}
	if err := m.p.Audit.AddPayment(ctx, store.Payment{ID: id, CallID: call, Agent: agent, Amount: r.Amount, Currency: r.Currency,
		Method: string(r.Method), Gateway: m.p.Gateway.Name(), IdempotencyKey: r.IdempotencyKey, Started: now}); err != nil {
		m.forget(l)
		s.Close()
		return Status{}, fmt.Errorf("pay: recording the session: %w", err)
	}
	m.log.Info("payment session started", "payment", id, "call", call, "agent", agent, "amount", r.Amount, "currency", r.Currency)
	l.mu.Lock()
	st := l.update(s.Progress())
	l.mu.Unlock()
	m.p.Notify(st)
	return st, nil
}

// update folds p into the status and returns a copy to send.
func (l *live) update(p session.Progress) Status {
	l.next()
	l.st.Fields, l.st.Current, l.st.Brand = fieldsOf(p.Fields), protocol.Field(p.Current), protocol.Brand(p.Brand)
	l.st.Last4 = ""
	for _, f := range p.Fields {
		if f.Field == session.CardNumber {
			l.st.Last4 = f.Last4
		}
	}
	if l.st.State == protocol.PayCapturing || l.st.State == protocol.PayReady {
		l.st.State = protocol.PayCapturing
		if p.Ready {
			l.st.State = protocol.PayReady
		}
	}
	return l.copy()
}

// next moves seq on, short of AuditSeq.
func (l *live) next() {
	if l.st.Seq < AuditSeq-1 {
		l.st.Seq++
	}
}

func (l *live) copy() Status {
	st := l.st
	st.Fields = slices.Clone(l.st.Fields)
	if l.st.Result != nil {
		r := *l.st.Result
		st.Result = &r
	}
	return st
}

// Key takes one of a call's key events (calls.Params.Keys). Events for a
// call with no session are dropped: digits typed before a session starts
// go nowhere.
func (m *Manager) Key(call string, e dtmf.Event) {
	if e.Phase != dtmf.KeyDown {
		return
	}
	m.mu.Lock()
	l := m.byCall[call]
	m.mu.Unlock()
	if l == nil {
		return
	}
	now := m.p.Now()
	l.mu.Lock()
	if l.st.State != protocol.PayCapturing && l.st.State != protocol.PayReady {
		l.mu.Unlock()
		return
	}
	l.last = now
	p, changed := l.s.Key(e.Digit, now)
	if !changed {
		l.mu.Unlock()
		return
	}
	st := l.update(p)
	l.mu.Unlock()
	m.feedback(call, p)
	m.p.Notify(st)
}

func (m *Manager) feedback(call string, p session.Progress) {
	switch p.Event {
	case session.Accepted:
		m.p.Prompt(call, ToneAccepted)
	case session.Rejected:
		m.p.Prompt(call, ToneRejected)
	}
}

// find returns agent's live session id.
func (m *Manager) find(agent, id string) (*live, error) {
	m.mu.Lock()
	l := m.byID[id]
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if l == nil {
		return nil, fmt.Errorf("%w: it may have ended", ErrNoSession)
	}
	if l.st.Agent != agent { // Agent never changes
		return nil, fmt.Errorf("%w: only the agent who started it can change it", ErrForbidden)
	}
	return l, nil
}

// Ask has the caller type field again.
func (m *Manager) Ask(agent, id string, field session.Field) (Status, error) {
	return m.change(agent, id, func(l *live, now time.Time) (session.Progress, error) {
		return l.s.Ask(field, now)
	})
}

// Reset clears field; it is captured again when its turn comes.
func (m *Manager) Reset(agent, id string, field session.Field) (Status, error) {
	return m.change(agent, id, func(l *live, _ time.Time) (session.Progress, error) {
		return l.s.Reset(field)
	})
}

func (m *Manager) change(agent, id string, f func(*live, time.Time) (session.Progress, error)) (Status, error) {
	l, err := m.find(agent, id)
	if err != nil {
		return Status{}, err
	}
	now := m.p.Now()
	l.mu.Lock()
	switch l.st.State {
	case protocol.PaySubmitting:
		l.mu.Unlock()
		return Status{}, ErrSubmitting
	case protocol.PayCapturing, protocol.PayReady, protocol.PayFailed:
	default:
		l.mu.Unlock()
		return Status{}, ErrOver
	}
	p, err := f(l, now)
	if err != nil {
		l.mu.Unlock()
		if errors.Is(err, session.ErrNoField) {
			return Status{}, fmt.Errorf("%w: that field is not in this session", ErrBadRequest)
		}
		return Status{}, fmt.Errorf("%w: %w", ErrOver, err)
	}
	l.last = now
	if l.st.State == protocol.PayFailed {
		l.st.State = protocol.PayCapturing // a field taken again: the card may change
	}
	st := l.update(p)
	l.mu.Unlock()
	m.p.Notify(st)
	return st, nil
}

// Cancel ends agent's session id.
func (m *Manager) Cancel(ctx context.Context, agent, id string) (Status, error) {
	l, err := m.find(agent, id)
	if err != nil {
		return Status{}, err
	}
	l.mu.Lock()
	switch {
	case l.st.State == protocol.PaySubmitting:
		l.mu.Unlock()
		return Status{}, fmt.Errorf("%w: wait for the gateway's answer", ErrSubmitting)
	case l.st.State.Final():
		l.mu.Unlock()
		return Status{}, ErrOver
	}
	st := m.finishLocked(ctx, l, protocol.PayCancelled, "")
	l.mu.Unlock()
	m.p.Notify(st)
	return st, nil
}

// finishLocked ends l (l.mu held): the digits are zeroed, the audit row
// written, and l forgotten. A session whose last submit failed is
// recorded as failed.
func (m *Manager) finishLocked(ctx context.Context, l *live, state protocol.PaymentState, reason string) Status {
	l.s.Close()
	outcome := string(state)
	if l.st.State == protocol.PayFailed && (state == protocol.PayCancelled || state == protocol.PayDropped || state == protocol.PayTimedOut) {
		outcome, reason = string(gateway.Failed), l.st.Result.Reason
	}
	l.st.State = state
	now := m.p.Now().UTC()
	l.st.Ended = &now
	l.next()
	l.st.Current = ""
	m.forget(l)
	rec := store.Payment{ID: l.st.ID, Brand: string(l.st.Brand), Last4: l.st.Last4, Outcome: outcome, Reason: reason, Ended: now}
	if r := l.st.Result; r != nil && (state == protocol.PayApproved || state == protocol.PayDeclined) {
		rec.Reference, rec.Token = r.Reference, r.Token
	}
	if err := m.p.Audit.FinishPayment(context.WithoutCancel(ctx), rec); err != nil {
		m.log.Error("payment not recorded", "payment", l.st.ID, "err", err)
	}
	m.log.Info("payment session over", "payment", l.st.ID, "call", l.st.Call, "outcome", outcome, "brand", l.st.Brand)
	return l.copy()
}

func (m *Manager) forget(l *live) {
	m.mu.Lock()
	if m.byCall[l.st.Call] == l {
		delete(m.byCall, l.st.Call)
	}
	delete(m.byID, l.st.ID)
	m.mu.Unlock()
}

// Submit sends the captured card to the gateway and returns the outcome
// (it waits for the gateway, at most GatewayTimeout).
func (m *Manager) Submit(ctx context.Context, agent, id string) (Status, error) {
	l, err := m.find(agent, id)
	if err != nil {
		return Status{}, err
	}
	l.mu.Lock()
	switch l.st.State {
	case protocol.PaySubmitting:
		l.mu.Unlock()
		return Status{}, ErrSubmitting
	case protocol.PayReady, protocol.PayFailed:
	case protocol.PayCapturing:
		l.mu.Unlock()
		return Status{}, fmt.Errorf("%w: wait until every field is complete", ErrNotReady)
	default:
		l.mu.Unlock()
		return Status{}, ErrOver
	}
	c, err := l.s.Card()
	if err != nil {
		l.mu.Unlock()
		return Status{}, fmt.Errorf("%w: wait until every field is complete", ErrNotReady)
	}
	l.st.State, l.st.Result = protocol.PaySubmitting, nil
	l.last = m.p.Now()
	l.attempts++
	st := l.update(l.s.Progress())
	req := l.req
	l.mu.Unlock()
	m.p.Notify(st)

	gr := gateway.Request{IdempotencyKey: req.IdempotencyKey, Amount: req.Amount, Currency: req.Currency,
		Description: req.Description, Number: c.Number, Expiry: c.Expiry, SecurityCode: c.SecurityCode,
		PostalCode: c.PostalCode, RoutingNumber: c.RoutingNumber, AccountNumber: c.AccountNumber}
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.p.GatewayTimeout)
	var res gateway.Result
	if req.Amount > 0 {
		res, err = m.p.Gateway.Charge(gctx, gr)
	} else {
		res, err = m.p.Gateway.Tokenize(gctx, gr)
	}
	cancel()
	c.Zero()

	l.mu.Lock()
	var final protocol.PaymentState
	switch {
	case err == nil && res.Outcome == gateway.Approved:
		final = protocol.PayApproved
		l.st.Result = &protocol.PayResult{Outcome: protocol.OutcomeApproved, Reference: clean(res.Reference), Token: clean(res.Token)}
	case err == nil && res.Outcome == gateway.Declined:
		final = protocol.PayDeclined
		l.st.Result = &protocol.PayResult{Outcome: protocol.OutcomeDeclined, Reference: clean(res.Reference), Reason: clean(res.Reason)}
	default:
		// Unreachable, a bad request, or an answer we cannot read: the
		// session stays open to submit again with the same key, or cancel.
		reason := "the gateway gave no answer we could read; check with the processor before taking the payment again"
		if err != nil {
			reason = clean(err.Error())
		}
		m.log.Warn("payment submit failed", "payment", l.st.ID, "gateway", m.p.Gateway.Name(), "err", reason)
		l.st.State = protocol.PayFailed
		l.st.Result = &protocol.PayResult{Outcome: protocol.OutcomeFailed, Reason: reason}
		l.last = m.p.Now()
		st = l.update(l.s.Progress())
		l.mu.Unlock()
		m.p.Prompt(st.Call, ToneRejected)
		m.p.Notify(st)
		return st, nil
	}
	reason := l.st.Result.Reason
	st = m.finishLocked(ctx, l, final, reason)
	l.mu.Unlock()
	if final == protocol.PayApproved {
		m.p.Prompt(st.Call, ToneAccepted)
	} else {
		m.p.Prompt(st.Call, ToneRejected)
	}
	m.p.Notify(st)
	return st, nil
}

// Status returns a session's status: a live one from memory, a finished
// one from the audit. Agents (user, by name, and userID, the user's id)
// see only their own; supervisors (supervisor true) see any.
func (m *Manager) Status(ctx context.Context, user string, userID int64, supervisor bool, id string) (Status, error) {
	m.mu.Lock()
	l := m.byID[id]
	m.mu.Unlock()
	if l != nil {
		l.mu.Lock()
		st := l.copy()
		l.mu.Unlock()
		if !supervisor && st.Agent != user {
			return Status{}, fmt.Errorf("%w: it is another agent's", ErrForbidden)
		}
		return st, nil
	}
	p, err := m.p.Audit.PaymentByID(ctx, id)
	if errors.Is(err, store.ErrNoPayment) {
		return Status{}, ErrNoSession
	}
	if err != nil {
		return Status{}, fmt.Errorf("pay: %w", err)
	}
	// By id, not name: a new user who took a removed user's name does not
	// see the removed user's payments. A record without an id is nobody's.
	if !supervisor && (p.AgentID == 0 || p.AgentID != userID) {
		return Status{}, fmt.Errorf("%w: it is another agent's", ErrForbidden)
	}
	return FromAudit(p), nil
}

// AuditSeq is the seq of a status read from the audit: a session that is
// over, newer than any live status of it (a live seq stops short of it).
// Six digits: no number the server sends is long enough to look like card
// data.
const AuditSeq = 999_999

// FromAudit is a finished (or interrupted) session's status from its
// audit row.
func FromAudit(p store.Payment) Status {
	st := Status{ID: p.ID, Call: p.CallID, Agent: p.Agent, Seq: AuditSeq, State: protocol.PaymentState(p.Outcome), Amount: p.Amount, Currency: p.Currency,
		Method: protocol.PayMethod(p.Method), Gateway: p.Gateway, Brand: protocol.Brand(p.Brand), Last4: p.Last4, Started: p.Started.UTC()}
	if p.Outcome == "" {
		// Not finished, and (the callers ask the live sessions first) not
		// live: the server stopped mid-session.
		st.State = protocol.PayDropped
	}
	if !p.Ended.IsZero() {
		e := p.Ended.UTC()
		st.Ended = &e
	}
	switch gateway.Outcome(p.Outcome) {
	case gateway.Approved, gateway.Declined, gateway.Failed:
		st.Result = &protocol.PayResult{Outcome: protocol.PayOutcome(p.Outcome), Reference: p.Reference, Token: p.Token, Reason: p.Reason}
	}
	return st
}

// ForCall returns the live session on call, if any.
func (m *Manager) ForCall(call string) (Status, bool) {
	m.mu.Lock()
	l := m.byCall[call]
	m.mu.Unlock()
	if l == nil {
		return Status{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.copy(), true
}

// RouteEvent ends the session of a call that ended or went back to the
// queue (give it the call queue's events).
func (m *Manager) RouteEvent(e route.Event) {
	var call string
	switch e := e.(type) {
	case route.CallEnded:
		call = e.Call
	case route.CallRequeued:
		call = e.Call
	default:
		return
	}
	m.drop(context.Background(), call, protocol.PayDropped, auditCallEnded)
}

func (m *Manager) drop(ctx context.Context, call string, state protocol.PaymentState, reason string) {
	m.mu.Lock()
	l := m.byCall[call]
	m.mu.Unlock()
	if l == nil {
		return
	}
	l.mu.Lock()
	if l.st.State.Final() || l.st.State == protocol.PaySubmitting {
		// A submit under way finishes by itself (its answer is recorded).
		l.mu.Unlock()
		return
	}
	st := m.finishLocked(ctx, l, state, reason)
	l.mu.Unlock()
	m.p.Notify(st)
}

// ticks checks the field timeouts and the idle limit.
func (m *Manager) ticks(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(m.p.Tick)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.mu.Lock()
		ls := make([]*live, 0, len(m.byID))
		for _, l := range m.byID {
			ls = append(ls, l)
		}
		m.mu.Unlock()
		now := m.p.Now()
		for _, l := range ls {
			m.tick(ctx, l, now)
		}
	}
}

func (m *Manager) tick(ctx context.Context, l *live, now time.Time) {
	l.mu.Lock()
	if l.st.State == protocol.PaySubmitting || l.st.State.Final() {
		l.mu.Unlock()
		return
	}
	if now.Sub(l.last) >= m.p.IdleLimit {
		st := m.finishLocked(ctx, l, protocol.PayTimedOut, "nothing happened for "+m.p.IdleLimit.String())
		l.mu.Unlock()
		m.p.Notify(st)
		return
	}
	p, changed := l.s.Tick(now)
	if !changed {
		l.mu.Unlock()
		return
	}
	st := l.update(p)
	l.mu.Unlock()
	m.feedback(st.Call, p)
	m.p.Notify(st)
}

// Close ends every live session as dropped (their digits zeroed) and
// stops the timeout checks.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	calls := make([]string, 0, len(m.byCall))
	for c := range m.byCall {
		calls = append(calls, c)
	}
	m.mu.Unlock()
	ctx := context.Background() // Close is io.Closer's: the rows of the sessions it ends are written all the same
	for _, c := range calls {
		m.drop(ctx, c, protocol.PayDropped, auditServerShutdown)
	}
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	close(m.stop)
	m.wg.Wait()
	return nil
}
