// Package session is a card capture session's state machine: the caller's
// key presses, as the call's Masker reports them, fill the fields the
// agent asked for (card number, expiry date, security code, postal code;
// or bank routing and account numbers), one at a time and in order.
//
//   - `#` ends the field being captured; `*` clears it. A field that can
//     take no more digits is checked at once (a card number at its brand's
//     longest length, a four-digit expiry, a security code of its brand's
//     length, a nine-digit routing number, any field at its maximum): on to
//     the next if valid, rejected if not. The others need `#`.
//   - A field that fails its check (package card) uses one of its
//     attempts, says why, and is captured again; one whose attempts are
//     gone stays invalid until the agent resets or asks for it again.
//   - A field being captured that hears no key for the field timeout
//     fails the same way, with the reason "timeout" (the owner calls Tick).
//   - The agent can ask for any field again, reset one, or cancel; Card
//     hands the digits over once every field is valid.
//
// What leaves a session for the agent and supervisors is Progress: per
// field its state, how many digits it holds, why it failed and the
// attempts left, the brand once known, and for the card number only its
// last four digits once complete. Never the expiry, never the security
// code, never more of the number. The digits themselves live in one fixed
// buffer per session from a securemem arena (kept out of core dumps, and
// out of swap where mlock is allowed; taken once, when the session starts,
// never per key press), zeroed when a field is cleared or failed and when
// the session closes; they are never in an error or a log. Card copies
// them into a second such buffer for the gateway, zeroed by Card.Zero.
//
// A Session is not safe for concurrent use: its owner serialises the key
// presses, the agent's requests and the ticks.
package session

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hushphone/hushphone/payment/card"
	"github.com/hushphone/hushphone/payment/securemem"
)

// Field is one thing the caller types.
type Field string

// The fields.
const (
	CardNumber    Field = "card-number"
	ExpiryDate    Field = "expiry-date"
	SecurityCode  Field = "security-code"
	PostalCode    Field = "postal-code"
	RoutingNumber Field = "routing-number"
	AccountNumber Field = "account-number"
)

// maxDigits is the longest each field can be; keys beyond it are ignored.
var maxDigits = map[Field]int{
	CardNumber: 19, ExpiryDate: 4, SecurityCode: 4, PostalCode: 10, RoutingNumber: 9, AccountNumber: 17,
}

// State is a field's state.
type State string

// Field states.
const (
	Waiting   State = "waiting"   // not reached yet
	Capturing State = "capturing" // the caller is typing it
	Complete  State = "complete"  // typed and valid
	Invalid   State = "invalid"   // failed its check (Reason); captured again while attempts are left
)

// ReasonTimeout is a field's reason when the caller stopped typing.
const ReasonTimeout = "timeout"

// Event is what just happened to a field, for the caller's feedback tones.
type Event string

// Events.
const (
	Accepted Event = "accepted" // a field was accepted: the confirmation tone
	Rejected Event = "rejected" // a field was rejected: the error tone
)

// Errors.
var (
	ErrParams    = errors.New("session: bad parameters")
	ErrNoField   = errors.New("session: no such field in this session")
	ErrNotReady  = errors.New("session: not every field is valid yet")
	ErrClosed    = errors.New("session: closed")
	ErrBadMethod = errors.New("session: card and bank fields cannot be mixed")
)

// Defaults.
const (
	DefaultAttempts     = 3
	DefaultFieldTimeout = 30 * time.Second
)

// Params describe a session.
type Params struct {
	Fields       []Field      // in the order they are captured
	Accepted     []card.Brand // nil: every brand
	Attempts     int          // per field (0: DefaultAttempts)
	FieldTimeout time.Duration
	PostalMinLen int // 0: card's default
	// Arena holds the digits (nil: securemem.Default()).
	Arena *securemem.Arena
}

// FieldProgress is one field as the agent sees it.
type FieldProgress struct {
	Field        Field  `json:"field"`
	State        State  `json:"state"`
	Digits       int    `json:"digits"`
	Reason       string `json:"reason,omitempty"`
	AttemptsLeft int    `json:"attemptsLeft"`
	Last4        string `json:"last4,omitempty"` // the card number's, once complete
}

// Progress is the whole session as the agent sees it.
type Progress struct {
	Fields  []FieldProgress `json:"fields"`
	Current Field           `json:"current,omitempty"` // the field being captured
	Brand   string          `json:"brand,omitempty"`
	Ready   bool            `json:"ready"` // every field is valid: submit may go
	// Event and EventField say what just happened, for the feedback tone.
	Event      Event `json:"-"`
	EventField Field `json:"-"`
}

type field struct {
	name     Field
	buf      []byte // maxDigits[name] bytes of the session's buffer
	n        int
	state    State
	reason   string
	attempts int
	last4    string
}

func (f *field) clear() {
	card.Zero(f.buf)
	f.n = 0
}

// Session is one capture.
type Session struct {
	p       Params
	fields  []*field
	cur     int // index of the field being captured; len(fields) when none
	brand   card.Brand
	lastKey time.Time
	closed  bool
	mem     *securemem.Buf // every field's digits
}

// New starts a session at its first field.
func New(p Params, now time.Time) (*Session, error) {
	if len(p.Fields) == 0 {
		return nil, fmt.Errorf("%w: no fields", ErrParams)
	}
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.FieldTimeout <= 0 {
		p.FieldTimeout = DefaultFieldTimeout
	}
	bank, cardF := false, false
	s := &Session{p: p, lastKey: now}
	for _, f := range p.Fields {
		if _, ok := maxDigits[f]; !ok {
			return nil, fmt.Errorf("%w: unknown field %q", ErrParams, f)
		}
		if slices.ContainsFunc(s.fields, func(g *field) bool { return g.name == f }) {
			return nil, fmt.Errorf("%w: field %q twice", ErrParams, f)
		}
		if f == RoutingNumber || f == AccountNumber {
			bank = true
		} else {
			cardF = true
		}
		s.fields = append(s.fields, &field{name: f, state: Waiting, attempts: p.Attempts})
	}
	if bank && cardF {
		return nil, ErrBadMethod
	}
	if p.Arena == nil {
		s.p.Arena = securemem.Default()
	}
	// One buffer for every field: the fields are distinct, so their
	// longest lengths add up to less than a slot.
	s.mem = s.p.Arena.Get()
	b := s.mem.Bytes()
	for _, f := range s.fields {
		n := maxDigits[f.name]
		f.buf, b = b[:n:n], b[n:]
	}
	s.fields[0].state = Capturing
	return s, nil
}

func (s *Session) current() *field {
	if s.cur >= len(s.fields) {
		return nil
	}
	return s.fields[s.cur]
}

// Key takes one key press ('0'-'9', '#', '*'; others are ignored) at now,
// and says whether the progress changed.
func (s *Session) Key(k byte, now time.Time) (Progress, bool) {
	f := s.current()
	if s.closed || f == nil || f.state == Invalid && f.attempts == 0 {
		return Progress{}, false
	}
	s.lastKey = now
	switch {
	case k >= '0' && k <= '9':
		if f.state == Invalid {
			f.state, f.reason = Capturing, "" // typing again after an error
		}
		if f.n >= maxDigits[f.name] {
			return s.Progress(), false
		}
		f.buf[f.n] = k
		f.n++
		if f.name == CardNumber {
			if b, ok := card.BrandOf(f.buf[:f.n]); ok {
				s.brand = b
			}
		}
		if s.full(f) {
			return s.finish(f, now), true
		}
		return s.Progress(), true
	case k == '#':
		if f.n == 0 {
			return s.Progress(), false
		}
		return s.finish(f, now), true
	case k == '*':
		f.clear()
		if f.name == CardNumber {
			s.brand = ""
		}
		f.state, f.reason = Capturing, ""
		return s.Progress(), true
	}
	return Progress{}, false
}

// full reports whether f can take no more digits: then it is checked at
// once, accepted or rejected, with no # needed.
func (s *Session) full(f *field) bool {
	switch f.name {
	case CardNumber:
		return f.n == maxDigits[CardNumber] || card.NumberComplete(f.buf[:f.n])
	case SecurityCode:
		if s.brand != "" && s.brand != card.Amex {
			return f.n == 3
		}
	}
	return f.n == maxDigits[f.name]
}

// check validates f, returning the card code or "".
func (s *Session) check(f *field, now time.Time) string {
	d := f.buf[:f.n]
	var err error
	switch f.name {
	case CardNumber:
		var b card.Brand
		b, err = card.CheckNumber(d, s.p.Accepted)
		if err == nil {
			s.brand = b
			f.last4 = card.Last4(d)
		}
	case ExpiryDate:
		err = card.CheckExpiry(d, now)
	case SecurityCode:
		err = card.CheckSecurityCode(d, s.brand)
	case PostalCode:
		err = card.CheckPostalCode(d, s.p.PostalMinLen)
	case RoutingNumber:
		err = card.CheckRoutingNumber(d)
	case AccountNumber:
		err = card.CheckAccountNumber(d)
	}
	var ce *card.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce):
		return string(ce.Code)
	default:
		return "invalid"
	}
}

// finish ends the current field: accepted and on to the next, or rejected.
func (s *Session) finish(f *field, now time.Time) Progress {
	if reason := s.check(f, now); reason != "" {
		s.fail(f, reason)
		p := s.Progress()
		p.Event, p.EventField = Rejected, f.name
		return p
	}
	f.state, f.reason = Complete, ""
	s.advance()
	p := s.Progress()
	p.Event, p.EventField = Accepted, f.name
	return p
}

func (s *Session) fail(f *field, reason string) {
	f.clear()
	f.last4 = ""
	if f.name == CardNumber {
		s.brand = ""
	}
	f.state, f.reason = Invalid, reason
	if f.attempts > 0 {
		f.attempts--
	}
}

// advance moves to the first field not yet complete after the current
// one, or before it, or to none.
func (s *Session) advance() {
	for i := range s.fields {
		j := (s.cur + 1 + i) % len(s.fields)
		if g := s.fields[j]; g.state != Complete {
			s.cur = j
			if g.state == Waiting {
				g.state = Capturing
			}
			return
		}
	}
	s.cur = len(s.fields)
}

// Tick fails the field being captured if the caller has typed nothing for
// the field timeout, and says whether the progress changed.
func (s *Session) Tick(now time.Time) (Progress, bool) {
	f := s.current()
	if s.closed || f == nil || f.state != Capturing || now.Sub(s.lastKey) < s.p.FieldTimeout {
		return Progress{}, false
	}
	s.fail(f, ReasonTimeout)
	s.lastKey = now
	p := s.Progress()
	p.Event, p.EventField = Rejected, f.name
	return p, true
}

func (s *Session) find(name Field) (int, *field, error) {
	for i, f := range s.fields {
		if f.name == name {
			return i, f, nil
		}
	}
	return 0, nil, fmt.Errorf("%w: %q", ErrNoField, name)
}

// Ask has the caller type a field again (the agent's "ask again"): it is
// cleared, given its attempts back, and captured next.
func (s *Session) Ask(name Field, now time.Time) (Progress, error) {
	if s.closed {
		return Progress{}, ErrClosed
	}
	i, f, err := s.find(name)
	if err != nil {
		return Progress{}, err
	}
	if cur := s.current(); cur != nil && cur != f && cur.state == Capturing && cur.n == 0 {
		cur.state = Waiting
	}
	s.reset(f)
	f.state = Capturing
	s.cur = i
	s.lastKey = now
	return s.Progress(), nil
}

// Reset clears a field and gives it its attempts back; it is captured when
// its turn comes again.
func (s *Session) Reset(name Field) (Progress, error) {
	if s.closed {
		return Progress{}, ErrClosed
	}
	i, f, err := s.find(name)
	if err != nil {
		return Progress{}, err
	}
	s.reset(f)
	if i == s.cur {
		f.state = Capturing
	} else if s.cur == len(s.fields) || i < s.cur {
		// Everything was done, or it came before: capture it now.
		if cur := s.current(); cur != nil && cur.n == 0 {
			cur.state = Waiting
		}
		s.cur = i
		f.state = Capturing
	}
	return s.Progress(), nil
}

func (s *Session) reset(f *field) {
	f.clear()
	f.state, f.reason, f.last4, f.attempts = Waiting, "", "", s.p.Attempts
	if f.name == CardNumber {
		s.brand = ""
	}
}

// Ready reports whether every field is valid.
func (s *Session) Ready() bool {
	for _, f := range s.fields {
		if f.state != Complete {
			return false
		}
	}
	return !s.closed
}

// Card is the captured data, for the gateway only: the caller must zero
// it (Zero) once the gateway has it, and keep c until then (its slices are
// in a securemem buffer that c holds).
type Card struct {
	Number, Expiry, SecurityCode, PostalCode []byte
	RoutingNumber, AccountNumber             []byte
	Brand                                    card.Brand
	Last4                                    string

	mem *securemem.Buf // the digits' buffer
}

// Zero overwrites every digit of c and gives its buffer back. Zeroing it
// again (or a copy of it) does nothing: the buffer may already be another
// session's, whose digits must not be wiped. The slices must not be read
// after Zero.
func (c *Card) Zero() {
	if c.mem == nil || c.mem.Bytes() == nil {
		return
	}
	for _, b := range [][]byte{c.Number, c.Expiry, c.SecurityCode, c.PostalCode, c.RoutingNumber, c.AccountNumber} {
		card.Zero(b)
	}
	c.mem.Release()
}

// Card copies the captured data out once every field is valid.
func (s *Session) Card() (Card, error) {
	if s.closed {
		return Card{}, ErrClosed
	}
	if !s.Ready() {
		return Card{}, ErrNotReady
	}
	c := Card{mem: s.p.Arena.Get()}
	b := c.mem.Bytes()
	for _, f := range s.fields {
		d := b[:f.n:f.n]
		copy(d, f.buf[:f.n])
		b = b[f.n:]
		switch f.name {
		case CardNumber:
			c.Number, c.Last4 = d, f.last4
		case ExpiryDate:
			c.Expiry = d
		case SecurityCode:
			c.SecurityCode = d
		case PostalCode:
			c.PostalCode = d
		case RoutingNumber:
			c.RoutingNumber = d
		case AccountNumber:
			c.AccountNumber = d
		}
	}
	c.Brand = s.brand
	return c, nil
}

// Close zeroes every field and gives the buffer back; the session takes
// nothing more.
func (s *Session) Close() {
	if s.closed {
		return // the buffer may be another session's by now
	}
	for _, f := range s.fields {
		f.clear()
	}
	s.mem.Release()
	s.closed = true
}

// Progress is the session as the agent sees it.
func (s *Session) Progress() Progress {
	p := Progress{Fields: make([]FieldProgress, 0, len(s.fields)), Brand: string(s.brand), Ready: s.Ready()}
	if f := s.current(); f != nil && !s.closed {
		p.Current = f.name
	}
	for _, f := range s.fields {
		fp := FieldProgress{Field: f.name, State: f.state, Digits: f.n, Reason: f.reason, AttemptsLeft: f.attempts}
		if f.name == CardNumber && f.state == Complete {
			fp.Last4 = f.last4
		}
		p.Fields = append(p.Fields, fp)
	}
	return p
}
