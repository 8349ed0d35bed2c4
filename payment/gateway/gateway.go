// Package gateway holds the payment gateway connectors: the small Connector
// interface a capture session charges or tokenizes through, and the
// connectors behind it.
//
// What it does: it carries one request (amount, currency, idempotency key,
// and the card or bank digits as byte slices) to a gateway and returns one
// Result: approved (with the gateway's reference, and a reusable token when
// tokenizing), declined (with the gateway's reason), or an error.
// ErrBadRequest says the request itself was wrong; ErrUnavailable says the
// gateway could not be reached in time, which a session reports as the
// outcome "failed", with what to do. A decline is not an error.
//
// What it does not do: it does not capture or validate card input (Luhn,
// brands by IIN, expiry and security-code rules live with the capture
// session and the card rules), keep card data, log, or record audit rows.
// Connectors must not keep the request's byte slices, nor any copy of them
// beyond the call; a copy of their own making they zero. Copies they
// cannot reach are not zeroed: the Go strings a gateway's SDK takes
// (Stripe), net/http's and crypto/tls's buffers (see Stripe and Generic).
// Errors and results never carry more than the last four digits of a
// number.
//
// Connectors: the embedded Sandbox (NewSandbox), deterministic by card
// number like Stripe's test cards, is the default; Stripe (NewStripe, with
// Stripe's Go library, tested against stripe-mock) is the second. The
// generic HTTPS connector (NewGeneric) speaks to any processor that
// implements a small protocol: one JSON POST per request, signed with
// HMAC-SHA256 over a timestamp, and a JSON answer signed the same way; the
// package README ("Generic connector") specifies it for processors'
// developers, with a worked signature example.
//
// # Sandbox cards
//
//	number              charge                            tokenize
//	4242424242424242    approved (visa)                   approved
//	5555555555554444    approved (mastercard)             approved
//	378282246310005     approved (amex)                   approved
//	6011111111111117    approved (discover)               approved
//	4000000000000002    declined card_declined            declined card_declined
//	4000000000009995    declined insufficient_funds       declined insufficient_funds
//	4000000000000069    declined expired_card             declined expired_card
//	4000000000000127    declined incorrect_cvc            declined incorrect_cvc
//	4000000000000119    declined processing_error         declined processing_error
//	4000000000000341    declined card_declined            approved
//	4000000000000101    ErrUnavailable after the timeout  ErrUnavailable after the timeout
//	other, Luhn valid   approved                          approved
//	other, Luhn invalid declined incorrect_number         declined incorrect_number
//
// An expiry (MMYY) before the current month declines as expired_card.
//
// # Sandbox bank accounts
//
//	routing    account         result
//	110000000  000123456789    approved
//	110000000  000111111116    declined account_closed
//	any valid  any valid       approved
//
// # Timeouts
//
// Every connector returns within its context's deadline: it bounds the call
// with Timeout (DefaultTimeout when the caller set none) and turns an
// expired or cancelled context into ErrUnavailable with ContextError.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors returned by connectors, wrapped with what went wrong; check them
// with errors.Is. Their text never contains card or account digits.
var (
	// ErrBadRequest: a field is missing or wrong, or an idempotency key was
	// reused with different parameters. Nothing was charged.
	ErrBadRequest = errors.New("gateway: bad request")
	// ErrUnavailable: the gateway could not be reached, or did not answer
	// before the deadline. The session reports the outcome "failed".
	ErrUnavailable = errors.New("gateway: unavailable")
)

// Outcome is what the gateway made of a request.
type Outcome string

// Outcomes. Connectors return Approved or Declined in a Result; Failed is
// what a session records when a connector returns ErrUnavailable (its text,
// which says what to do, becomes the Reason).
const (
	Approved Outcome = "approved"
	Declined Outcome = "declined"
	Failed   Outcome = "failed"
)

// Request is what a capture session sends. The card and bank fields are byte
// slices the connector must not keep: it reads them during the call and
// zeroes any copy it makes.
type Request struct {
	IdempotencyKey string // carried to the gateway; the same key never charges twice
	Amount         int64  // minor units; 0 = tokenize only
	Currency       string // ISO 4217, upper case
	Description    string

	// Card; Expiry is MMYY.
	Number, Expiry, SecurityCode, PostalCode []byte
	// Bank account (the second method), instead of the card.
	RoutingNumber, AccountNumber []byte
}

// Result is the gateway's answer to a request that reached it.
type Result struct {
	Outcome   Outcome
	Reference string // the gateway's charge or token id (approved)
	Token     string // a reusable token when tokenizing (approved)
	// Reason: when declined, the gateway's reason (card_declined,
	// insufficient_funds, expired_card, incorrect_cvc, processing_error...);
	// when failed, what happened, in words an agent can act on.
	Reason string
	Brand  string
	Last4  string
}

// Connector charges or tokenizes through one gateway. Implementations are
// safe for concurrent use and return within ctx's deadline.
type Connector interface {
	// Name names the gateway ("sandbox", "stripe", ...).
	Name() string
	// Charge charges r.Amount (> 0) to the card or bank account.
	Charge(ctx context.Context, r Request) (Result, error)
	// Tokenize (r.Amount == 0) stores the card or account at the gateway and
	// returns a reusable token.
	Tokenize(ctx context.Context, r Request) (Result, error)
}

// DefaultTimeout bounds one gateway call when the caller's context has no
// earlier deadline.
const DefaultTimeout = 30 * time.Second

// Timeout returns ctx bounded by d (DefaultTimeout when d <= 0); an earlier
// deadline already on ctx is kept. Connectors call it first so that they
// always return within a deadline; the caller must call the CancelFunc.
func Timeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = DefaultTimeout
	}
	return context.WithTimeout(ctx, d)
}

// ContextError turns a finished context into ErrUnavailable, saying what the
// agent can do; it wraps ctx's error too. It returns nil while ctx is live.
func ContextError(ctx context.Context, gateway string) error {
	err := ctx.Err()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %s did not answer in time; nothing was charged if it never answered, so submit again with the same idempotency key or take another payment method: %w", ErrUnavailable, gateway, err)
	default:
		return fmt.Errorf("%w: %s request cancelled before an answer; submit again with the same idempotency key: %w", ErrUnavailable, gateway, err)
	}
}
