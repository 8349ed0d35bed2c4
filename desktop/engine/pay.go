package engine

import (
	"context"
	"time"
)

// PayRequest starts a secure-pay session on the agent's call (see
// docs/protocol.md, "Secure pay"). Amount is in minor units; 0 saves the
// card (tokenize). Empty Fields mean card number, expiry date and
// security code.
type PayRequest struct {
	Amount         int64    `json:"amount"`
	Currency       string   `json:"currency"`
	Description    string   `json:"description,omitempty"`
	Method         string   `json:"method,omitempty"`
	Fields         []string `json:"fields,omitempty"`
	Brands         []string `json:"brands,omitempty"`
	Attempts       int      `json:"attempts,omitempty"`
	FieldTimeout   int      `json:"fieldTimeout,omitempty"`
	IdempotencyKey string   `json:"idempotencyKey,omitempty"`
}

// PayField is one field of a payment as the agent sees it: never a digit,
// only how many, and the card's last four once complete.
type PayField struct {
	Field        string `json:"field"`
	State        string `json:"state"` // waiting, capturing, complete, invalid
	Digits       int    `json:"digits"`
	Reason       string `json:"reason,omitempty"`
	AttemptsLeft int    `json:"attemptsLeft"`
	Last4        string `json:"last4,omitempty"`
}

// PayResult is the gateway's answer.
type PayResult struct {
	Outcome   string `json:"outcome"` // approved, declined, failed
	Reference string `json:"reference,omitempty"`
	Token     string `json:"token,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Payment is a payment session's status (pay.progress). Keep the one
// with the highest Seq.
type Payment struct {
	ID          string     `json:"id"`
	Call        string     `json:"call"`
	Agent       string     `json:"agent"`
	Seq         uint64     `json:"seq"`
	State       string     `json:"state"` // capturing, ready, submitting, failed, approved, declined, cancelled, dropped, timed_out
	Amount      int64      `json:"amount"`
	Currency    string     `json:"currency"`
	Description string     `json:"description,omitempty"`
	Method      string     `json:"method"`
	Gateway     string     `json:"gateway"`
	Fields      []PayField `json:"fields,omitempty"`
	Current     string     `json:"current,omitempty"`
	Brand       string     `json:"brand,omitempty"`
	Last4       string     `json:"last4,omitempty"`
	Result      *PayResult `json:"result,omitempty"`
	Started     time.Time  `json:"started"`
	Ended       *time.Time `json:"ended,omitempty"`
}

// Final reports whether the session is over.
func (p *Payment) Final() bool {
	switch p.State {
	case "approved", "declined", "cancelled", "dropped", "timed_out":
		return true
	}
	return false
}

// StartPayment starts a payment session on call; its progress comes as
// pay.progress events (Event.Payment), errors as error events.
func (a *Agent) StartPayment(ctx context.Context, call string, r PayRequest) error {
	return a.send(ctx, msg{Type: "pay.start", Call: call, Pay: &r})
}

// AskField has the caller type a field again.
func (a *Agent) AskField(ctx context.Context, session, field string) error {
	return a.send(ctx, msg{Type: "pay.ask", Session: session, Field: field})
}

// ResetField clears a field; the caller types it when its turn comes.
func (a *Agent) ResetField(ctx context.Context, session, field string) error {
	return a.send(ctx, msg{Type: "pay.reset", Session: session, Field: field})
}

// CancelPayment ends the session; nothing is charged.
func (a *Agent) CancelPayment(ctx context.Context, session string) error {
	return a.send(ctx, msg{Type: "pay.cancel", Session: session})
}

// SubmitPayment sends the captured card to the gateway once every field
// is valid; the outcome comes as a pay.progress event.
func (a *Agent) SubmitPayment(ctx context.Context, session string) error {
	return a.send(ctx, msg{Type: "pay.submit", Session: session})
}

// PaymentStatus asks for a session's status (session, or the call's live
// session when session is empty).
func (a *Agent) PaymentStatus(ctx context.Context, session, call string) error {
	return a.send(ctx, msg{Type: "pay.status", Session: session, Call: call})
}
