package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/hushphone/hushphone/payment/card"
)

// ErrNoPayment is returned for a payment id that is not in the audit.
var ErrNoPayment = errors.New("no such payment")

// ErrBadPayment is returned for an audit record the store refuses: a
// missing field, or anything that could be card data (last4 other than
// four digits, a run of 12 or more digits: in a text column, even with
// spaces or separators between them).
var ErrBadPayment = errors.New("invalid payment record")

// Payment outcomes besides the gateway's (approved, declined, failed).
const (
	PaymentCancelled = "cancelled" // the agent cancelled the session
	PaymentDropped   = "dropped"   // the call ended mid-session
	PaymentTimedOut  = "timed_out" // the caller stopped typing for good
)

// Payment is one capture session's audit record: who took it on which
// call, what for, and how it ended. Never the card number, the expiry or
// the security code: Brand and Last4 are all there is of the card.
type Payment struct {
	ID     string
	CallID string
	Agent  string // the agent's name
	// AgentID is the agent's user id: who may read the record besides
	// supervisors and admins. AddPayment takes it from the user named
	// Agent when it is 0; 0 on a record is nobody's (its agent was removed
	// before ids were recorded).
	AgentID        int64
	Amount         int64 // minor units; 0: tokenize only
	Currency       string
	Method         string // card or bank
	Gateway        string
	IdempotencyKey string
	Brand, Last4   string
	Outcome        string // "" while capturing
	Reason         string
	Reference      string
	Token          string
	Started, Ended time.Time
}

var (
	last4Re = regexp.MustCompile(`^([0-9]{4})?$`)
	panRe   = regexp.MustCompile(`[0-9]{12,}`)
)

// panDigits is the shortest run of digits a text column may not hold: the
// shortest card number.
const panDigits = 12

// check refuses a record that could hold card data. The texts the agent
// or a gateway wrote (the idempotency key, the gateway's reason, reference
// and token, ...) may not hold 12 digits even apart, as card.DigitRun
// counts them: "4242 4242 4242 4242" is refused. The identifiers (the
// session's id, the call's, the agent's name) may not hold 12 in a row:
// a SIP Call-ID is often a UUID or names an IP address, whose digits
// across '-' and '.' reach 12 by chance, and a call whose Call-ID does
// must still take payments. The amount and the times have columns of
// their own and are not texts.
func (p Payment) check() error {
	if p.ID == "" || p.CallID == "" || p.Agent == "" || p.Currency == "" || p.Gateway == "" {
		return fmt.Errorf("%w: it needs an id, a call, an agent, a currency and a gateway", ErrBadPayment)
	}
	if p.Method != "card" && p.Method != "bank" {
		return fmt.Errorf("%w: method must be card or bank", ErrBadPayment)
	}
	if !last4Re.MatchString(p.Last4) {
		return fmt.Errorf("%w: last4 must be four digits or empty", ErrBadPayment)
	}
	for _, v := range []string{p.ID, p.CallID, p.Agent} {
		if panRe.MatchString(v) {
			return fmt.Errorf("%w: an id holds 12 or more digits in a row, which could be a card number", ErrBadPayment)
		}
	}
	for _, v := range []string{p.Currency, p.Gateway, p.IdempotencyKey, p.Brand, p.Outcome, p.Reason, p.Reference, p.Token} {
		if card.DigitRun(v) >= panDigits {
			return fmt.Errorf("%w: a field holds 12 or more digits, together or apart, which could be a card number", ErrBadPayment)
		}
	}
	return nil
}

// AddPayment records a capture session as it starts.
func (s *Store) AddPayment(ctx context.Context, p Payment) error {
	if p.Started.IsZero() {
		p.Started = s.now()
	}
	if err := p.check(); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO payments (id, call_id, agent, amount, currency, method, gateway, idempotency_key,
		brand, last4, outcome, reason, reference, token, started, agent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
		CASE WHEN ? > 0 THEN ? ELSE (SELECT id FROM users WHERE name = ? AND NOT disabled) END)`,
		p.ID, p.CallID, p.Agent, p.Amount, p.Currency, p.Method, p.Gateway, p.IdempotencyKey,
		p.Brand, p.Last4, p.Outcome, p.Reason, p.Reference, p.Token, millis(p.Started), p.AgentID, p.AgentID, p.Agent)
	if err != nil {
		return fmt.Errorf("record payment: %w", err)
	}
	return nil
}

// FinishPayment records how a session ended: its outcome, the gateway's
// reason, reference and token, and the card's brand and last four.
func (s *Store) FinishPayment(ctx context.Context, p Payment) error {
	if p.Ended.IsZero() {
		p.Ended = s.now()
	}
	old, err := s.PaymentByID(ctx, p.ID)
	if err != nil {
		return err
	}
	old.Brand, old.Last4, old.Outcome, old.Reason, old.Reference, old.Token, old.Ended =
		p.Brand, p.Last4, p.Outcome, p.Reason, p.Reference, p.Token, p.Ended
	if err := old.check(); err != nil {
		return err
	}
	if old.Outcome == "" {
		return fmt.Errorf("%w: a finished payment needs an outcome", ErrBadPayment)
	}
	_, err = s.db.ExecContext(ctx, `UPDATE payments SET brand = ?, last4 = ?, outcome = ?, reason = ?, reference = ?, token = ?, ended = ?
		WHERE id = ?`, old.Brand, old.Last4, old.Outcome, old.Reason, old.Reference, old.Token, millis(old.Ended), old.ID)
	if err != nil {
		return fmt.Errorf("record payment %s: %w", old.ID, err)
	}
	return nil
}

const paymentColumns = `id, call_id, agent, amount, currency, method, gateway, idempotency_key, brand, last4,
	outcome, reason, reference, token, started, ended, agent_id`

func scanPayment(r scanner) (Payment, error) {
	var p Payment
	var started, ended int64
	var agentID sql.NullInt64
	if err := r.Scan(&p.ID, &p.CallID, &p.Agent, &p.Amount, &p.Currency, &p.Method, &p.Gateway, &p.IdempotencyKey,
		&p.Brand, &p.Last4, &p.Outcome, &p.Reason, &p.Reference, &p.Token, &started, &ended, &agentID); err != nil {
		return Payment{}, err
	}
	p.AgentID = agentID.Int64
	p.Started = fromMillis(started)
	if ended != 0 {
		p.Ended = fromMillis(ended)
	}
	return p, nil
}

// PaymentByID returns one payment's record, or ErrNoPayment.
func (s *Store) PaymentByID(ctx context.Context, id string) (Payment, error) {
	p, err := scanPayment(s.db.QueryRowContext(ctx, "SELECT "+paymentColumns+" FROM payments WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, fmt.Errorf("%w: %s", ErrNoPayment, id)
	}
	if err != nil {
		return Payment{}, fmt.Errorf("look up payment %s: %w", id, err)
	}
	return p, nil
}

// ListPayments returns a call's payments (every call's if callID is
// empty), newest first, up to limit (all if limit <= 0).
func (s *Store) ListPayments(ctx context.Context, callID string, limit int) ([]Payment, error) {
	return s.ListPaymentsBy(ctx, callID, 0, limit)
}

// ListPaymentsBy is ListPayments for the payments of one agent, by user id,
// only (every agent's if agentID is 0): never those of an earlier user of
// the same name.
func (s *Store) ListPaymentsBy(ctx context.Context, callID string, agentID int64, limit int) ([]Payment, error) {
	return s.FindPayments(ctx, PaymentFilter{CallID: callID, AgentID: agentID, Limit: limit})
}

// PaymentFilter says which payments FindPayments returns: each field
// that is set must match.
type PaymentFilter struct {
	CallID  string
	AgentID int64     // by user id (never an earlier user of the same name)
	Agent   string    // by the agent's name as recorded (any case)
	Outcome string    // an outcome, or "open" for those under way
	From    time.Time // started at or after
	To      time.Time // started before
	Limit   int       // at most this many, newest first (0: all)
}

// OutcomeOpen is PaymentFilter.Outcome for the payments under way.
const OutcomeOpen = "open"

// FindPayments returns the payments f matches, newest first.
func (s *Store) FindPayments(ctx context.Context, f PaymentFilter) ([]Payment, error) {
	outcome := f.Outcome
	if outcome == OutcomeOpen {
		outcome = ""
	}
	from, to, limit := window(f.From, f.To, f.Limit)
	return queryAll(ctx, s.db, "list payments", scanPayment, "SELECT "+paymentColumns+` FROM payments WHERE (? = '' OR call_id = ?) AND (? = 0 OR agent_id = ?)
		AND (? = '' OR agent = ? COLLATE NOCASE) AND (? = 0 OR outcome = ?) AND (? = 0 OR started >= ?) AND (? = 0 OR started < ?)
		ORDER BY started DESC, id DESC LIMIT ?`, f.CallID, f.CallID, f.AgentID, f.AgentID, f.Agent, f.Agent,
		boolInt(f.Outcome != ""), outcome, from, from, to, to, limit)
}

// EndUnfinishedPayments records every payment still without an outcome as
// dropped with reason, and returns how many: at start-up, the sessions the
// server was taking when it stopped (a crash, a kill) were never finished.
func (s *Store) EndUnfinishedPayments(ctx context.Context, reason string) (int, error) {
	res, err := s.db.ExecContext(ctx, "UPDATE payments SET outcome = ?, reason = ?, ended = ? WHERE outcome = ''",
		PaymentDropped, reason, millis(s.now()))
	if err != nil {
		return 0, fmt.Errorf("end unfinished payments: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("end unfinished payments: %w", err)
	}
	return int(n), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
