package gateway

import (
	"bytes"
	"container/list"
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hushphone/hushphone/payment/card"
)

// Sandbox defaults.
const (
	DefaultSandboxLatency = 200 * time.Millisecond
	DefaultIdempotencyCap = 10000
	DefaultIdempotencyTTL = 24 * time.Hour
	maxIdempotencyKey     = 255
	maxDescription        = 1000
)

// Sandbox is the embedded gateway: deterministic by card number (see the
// package documentation for the table), with a configurable latency and a
// simulated outage. It keeps only idempotency keys and their results, never
// card or account data. It is safe for concurrent use and starts no
// goroutines.
type Sandbox struct {
	latency     time.Duration
	timeout     time.Duration
	now         func() time.Time
	capacity    int
	ttl         time.Duration
	unreachable atomic.Bool

	charges   atomic.Int64
	tokenized atomic.Int64

	mu      sync.Mutex
	entries map[string]*entry
	lru     *list.List // of *entry, most recent first
}

// Option configures a Sandbox.
type Option func(*Sandbox)

// WithLatency sets how long each answer takes (default 200 ms; 0 answers at
// once).
func WithLatency(d time.Duration) Option {
	return func(s *Sandbox) {
		if d >= 0 {
			s.latency = d
		}
	}
}

// WithTimeout bounds each call when the caller's context has no earlier
// deadline (default DefaultTimeout); the unreachable card and
// WithUnreachable take this long to fail.
func WithTimeout(d time.Duration) Option {
	return func(s *Sandbox) {
		if d > 0 {
			s.timeout = d
		}
	}
}

// WithUnreachable starts the sandbox as if the gateway could not be reached:
// every call waits for its deadline and returns ErrUnavailable.
func WithUnreachable(down bool) Option {
	return func(s *Sandbox) { s.unreachable.Store(down) }
}

// WithClock sets the clock used for expiry dates and idempotency ageing.
func WithClock(now func() time.Time) Option {
	return func(s *Sandbox) {
		if now != nil {
			s.now = now
		}
	}
}

// WithIdempotency bounds the idempotency memory: at most capacity keys
// (least recently used dropped first), each kept for ttl.
func WithIdempotency(capacity int, ttl time.Duration) Option {
	return func(s *Sandbox) {
		if capacity > 0 {
			s.capacity = capacity
		}
		if ttl > 0 {
			s.ttl = ttl
		}
	}
}

// NewSandbox returns the sandbox connector.
func NewSandbox(opts ...Option) *Sandbox {
	s := &Sandbox{
		latency:  DefaultSandboxLatency,
		timeout:  DefaultTimeout,
		now:      time.Now,
		capacity: DefaultIdempotencyCap,
		ttl:      DefaultIdempotencyTTL,
		entries:  make(map[string]*entry),
		lru:      list.New(),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Name returns "sandbox".
func (s *Sandbox) Name() string { return "sandbox" }

// SetUnreachable simulates (true) or ends (false) a gateway outage.
func (s *Sandbox) SetUnreachable(down bool) { s.unreachable.Store(down) }

// Charges returns how many charges the sandbox has made (approved or
// declined), idempotent replays not counted.
func (s *Sandbox) Charges() int64 { return s.charges.Load() }

// Tokenizations returns how many tokenize requests the sandbox has answered,
// idempotent replays not counted.
func (s *Sandbox) Tokenizations() int64 { return s.tokenized.Load() }

// Charge charges r.Amount (> 0) to the card or bank account in r.
func (s *Sandbox) Charge(ctx context.Context, r Request) (Result, error) {
	return s.do(ctx, opCharge, r)
}

// Tokenize (r.Amount == 0) returns a reusable token for the card or account.
func (s *Sandbox) Tokenize(ctx context.Context, r Request) (Result, error) {
	return s.do(ctx, opTokenize, r)
}

type op int

const (
	opCharge op = iota + 1
	opTokenize
)

// params is what an idempotency key is bound to: no card data beyond the
// last four digits.
type params struct {
	op          op
	amount      int64
	currency    string
	description string
	method      string // "card" or "bank"
	last4       string
}

type entry struct {
	key  string
	p    params
	at   time.Time
	done chan struct{} // closed when res and err are set
	res  Result
	err  error
	elem *list.Element
}

func (s *Sandbox) do(ctx context.Context, o op, r Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, ContextError(ctx, "the sandbox gateway")
	}
	p, err := check(o, r)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := Timeout(ctx, s.timeout)
	defer cancel()

	if r.IdempotencyKey == "" {
		res, err := s.answer(ctx, o, r)
		return res, err
	}
	for {
		e, leader, err := s.claim(r.IdempotencyKey, p)
		if err != nil {
			return Result{}, err
		}
		if leader {
			res, err := s.answer(ctx, o, r)
			s.finish(e, res, err)
			return res, err
		}
		select {
		case <-e.done:
		case <-ctx.Done():
			return Result{}, ContextError(ctx, "the sandbox gateway")
		}
		if e.err == nil {
			return e.res, nil
		}
		// The first attempt never reached an answer (and was forgotten):
		// try again, perhaps as the leader.
	}
}

// claim finds the key's entry, or makes one with the caller as its leader.
func (s *Sandbox) claim(key string, p params) (*entry, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if e, ok := s.entries[key]; ok {
		if now.Sub(e.at) <= s.ttl {
			if e.p != p {
				return nil, false, fmt.Errorf("%w: idempotency key reused with different parameters; use a new key for a new payment", ErrBadRequest)
			}
			s.lru.MoveToFront(e.elem)
			return e, false, nil
		}
		s.drop(e)
	}
	for s.lru.Len() >= s.capacity {
		back := s.lru.Back()
		old, _ := back.Value.(*entry)
		s.drop(old)
	}
	e := &entry{key: key, p: p, at: now, done: make(chan struct{})}
	e.elem = s.lru.PushFront(e)
	s.entries[key] = e
	return e, true, nil
}

// finish records the leader's answer; an error (nothing charged) forgets the
// key so that a retry is tried afresh.
func (s *Sandbox) finish(e *entry, res Result, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.res, e.err = res, err
	if err != nil && s.entries[e.key] == e {
		s.drop(e)
	}
	close(e.done)
}

func (s *Sandbox) drop(e *entry) {
	if e == nil {
		return
	}
	s.lru.Remove(e.elem)
	if s.entries[e.key] == e {
		delete(s.entries, e.key)
	}
}

// answer waits the latency and decides; it reads r's slices and keeps none.
func (s *Sandbox) answer(ctx context.Context, o op, r Request) (Result, error) {
	if s.unreachable.Load() || bytes.Equal(r.Number, cardUnreachable) {
		<-ctx.Done()
		return Result{}, ContextError(ctx, "the sandbox gateway")
	}
	if s.latency > 0 {
		t := time.NewTimer(s.latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return Result{}, ContextError(ctx, "the sandbox gateway")
		}
	}
	if err := ctx.Err(); err != nil {
		return Result{}, ContextError(ctx, "the sandbox gateway")
	}

	var res Result
	if len(r.Number) > 0 {
		res = Result{Brand: Brand(r.Number), Last4: last4(r.Number)}
		if reason := s.cardDecline(o, r); reason != "" {
			res.Outcome, res.Reason = Declined, reason
		}
	} else {
		res = Result{Brand: "bank", Last4: last4(r.AccountNumber)}
		if bytes.Equal(r.AccountNumber, accountClosed) {
			res.Outcome, res.Reason = Declined, "account_closed"
		}
	}
	if o == opCharge {
		s.charges.Add(1)
	} else {
		s.tokenized.Add(1)
	}
	if res.Outcome == Declined {
		return res, nil
	}
	id, err := randomID()
	if err != nil {
		return Result{}, fmt.Errorf("%w: the sandbox gateway could not make a reference (%w); try again", ErrUnavailable, err)
	}
	res.Outcome = Approved
	if o == opCharge {
		res.Reference = "sb_ch_" + id
	} else {
		res.Reference = "sb_tok_" + id
		res.Token = res.Reference
	}
	return res, nil
}

var (
	cardUnreachable = []byte("4000000000000101")
	cardChargeFails = []byte("4000000000000341")
	accountClosed   = []byte("000111111116")
	cardDeclines    = []struct {
		number []byte
		reason string
	}{
		{[]byte("4000000000000002"), "card_declined"},
		{[]byte("4000000000009995"), "insufficient_funds"},
		{[]byte("4000000000000069"), "expired_card"},
		{[]byte("4000000000000127"), "incorrect_cvc"},
		{[]byte("4000000000000119"), "processing_error"},
	}
)

// cardDecline returns the decline reason for a card, or "" to approve.
func (s *Sandbox) cardDecline(o op, r Request) string {
	for _, d := range cardDeclines {
		if bytes.Equal(r.Number, d.number) {
			return d.reason
		}
	}
	if o == opCharge && bytes.Equal(r.Number, cardChargeFails) {
		return "card_declined"
	}
	if !card.Luhn(r.Number) {
		return "incorrect_number"
	}
	if len(r.Expiry) == 4 {
		mm := int(r.Expiry[0]-'0')*10 + int(r.Expiry[1]-'0')
		yy := int(r.Expiry[2]-'0')*10 + int(r.Expiry[3]-'0')
		now := s.now().UTC()
		if 2000+yy < now.Year() || (2000+yy == now.Year() && mm < int(now.Month())) {
			return "expired_card"
		}
	}
	return ""
}

// check validates r for o and returns the parameters its idempotency key is
// bound to. Its errors name fields, never their contents.
func check(o op, r Request) (params, error) {
	p := params{op: o, amount: r.Amount, currency: r.Currency, description: r.Description}
	switch {
	case o == opCharge && r.Amount <= 0:
		return p, fmt.Errorf("%w: a charge needs an amount above zero (in minor units); tokenize for amount zero", ErrBadRequest)
	case o == opTokenize && r.Amount != 0:
		return p, fmt.Errorf("%w: tokenize takes no amount; charge to take one", ErrBadRequest)
	case o == opCharge && r.IdempotencyKey == "":
		return p, fmt.Errorf("%w: a charge needs an idempotency key", ErrBadRequest)
	case len(r.IdempotencyKey) > maxIdempotencyKey:
		return p, fmt.Errorf("%w: the idempotency key is too long (at most 255 characters)", ErrBadRequest)
	case (o == opCharge || r.Currency != "") && !isCurrency(r.Currency):
		return p, fmt.Errorf("%w: the currency must be three upper-case letters (ISO 4217, like USD or GBP)", ErrBadRequest)
	case len(r.Description) > maxDescription:
		return p, fmt.Errorf("%w: the description is too long (at most 1000 bytes)", ErrBadRequest)
	}
	isCard := len(r.Number) > 0 || len(r.Expiry) > 0 || len(r.SecurityCode) > 0 || len(r.PostalCode) > 0
	bank := len(r.RoutingNumber) > 0 || len(r.AccountNumber) > 0
	switch {
	case isCard && bank:
		return p, fmt.Errorf("%w: send a card or a bank account, not both", ErrBadRequest)
	case !isCard && !bank:
		return p, fmt.Errorf("%w: no card number or bank account", ErrBadRequest)
	case isCard:
		p.method = "card"
		if len(r.Number) < 12 || len(r.Number) > 19 || !digits(r.Number) {
			return p, fmt.Errorf("%w: the card number must be 12 to 19 digits", ErrBadRequest)
		}
		if len(r.Expiry) > 0 && !isExpiry(r.Expiry) {
			return p, fmt.Errorf("%w: the expiry date must be MMYY", ErrBadRequest)
		}
		if len(r.SecurityCode) > 0 && (len(r.SecurityCode) < 3 || len(r.SecurityCode) > 4 || !digits(r.SecurityCode)) {
			return p, fmt.Errorf("%w: the security code must be 3 or 4 digits", ErrBadRequest)
		}
		if len(r.PostalCode) > 0 && !isPostal(r.PostalCode) {
			return p, fmt.Errorf("%w: the postal code must be 3 to 10 letters, digits, spaces or dashes", ErrBadRequest)
		}
		p.last4 = last4(r.Number)
	default:
		p.method = "bank"
		if card.CheckRoutingNumber(r.RoutingNumber) != nil {
			return p, fmt.Errorf("%w: the routing number must be 9 digits with a valid checksum", ErrBadRequest)
		}
		if len(r.AccountNumber) < 4 || len(r.AccountNumber) > 17 || !digits(r.AccountNumber) {
			return p, fmt.Errorf("%w: the account number must be 4 to 17 digits", ErrBadRequest)
		}
		p.last4 = last4(r.AccountNumber)
	}
	return p, nil
}

// Brand names a card's brand by its IIN (payment/card), or "unknown".
func Brand(number []byte) string {
	if b, ok := card.BrandOf(number); ok {
		return string(b)
	}
	return "unknown"
}

func last4(b []byte) string {
	if len(b) < 4 {
		return ""
	}
	return string(b[len(b)-4:])
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := range len(c) {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

func isExpiry(b []byte) bool {
	if len(b) != 4 || !digits(b) {
		return false
	}
	mm := int(b[0]-'0')*10 + int(b[1]-'0')
	return mm >= 1 && mm <= 12
}

func isPostal(b []byte) bool {
	if len(b) < 3 || len(b) > 10 {
		return false
	}
	for _, c := range b {
		ok := (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ' ' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// randomID returns 24 random letters (no digits, so a reference can never
// look like part of a card number).
func randomID() (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("crypto/rand: %w", err)
	}
	for i := range b {
		// 256 % 52 != 0: a slight bias, harmless for sandbox references.
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:]), nil
}
