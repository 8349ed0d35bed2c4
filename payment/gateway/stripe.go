package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// Stripe is the connector for Stripe, through Stripe's official Go library
// (github.com/stripe/stripe-go/v82).
//
// Charge creates a PaymentMethod (type card) from the card, then a
// PaymentIntent for the amount, confirmed at once (confirm=true), with the
// request's IdempotencyKey as its Idempotency-Key. A PaymentIntent that
// succeeded (or is processing, or awaits capture) is Approved, with its id
// (pi_…) as Reference and the brand and last four digits from Stripe's
// PaymentMethod. A card error (402, type card_error) is Declined with
// Stripe's decline code (else its error code) as Reason; a PaymentIntent
// that needs a new payment method or customer action is Declined too.
// Network errors, timeouts, rate limits and Stripe's 5xx answers are
// ErrUnavailable; invalid requests, a refused API key and a reused
// idempotency key are ErrBadRequest. Error texts name fields and Stripe's
// codes, never Stripe's messages (which can quote parameters) nor any card
// digits.
//
// Tokenize creates the PaymentMethod and a Customer it is attached to:
// Token is the PaymentMethod id (pm_…), Reference the Customer id (cus_…);
// charge both later for a card on file.
//
// Idempotency: the PaymentIntent carries the request's key; the
// PaymentMethod and Customer requests carry keys derived from it (a SHA-256
// of key and step), since Stripe refuses one key on different requests. A
// retry with the same key and request thus never charges twice.
//
// Bank accounts (RoutingNumber/AccountNumber) are refused with
// ErrBadRequest: this connector takes cards only.
//
// Limitation: stripe-go takes the card number, security code and postal code
// as Go strings, and encodes them into a request body of its own. Those
// copies are immutable and cannot be zeroed; they live until the garbage
// collector reuses their memory. The connector keeps no reference to them
// after the call, logs nothing (stripe-go's logger is silenced), and puts
// only the last four digits in results and errors.
type Stripe struct {
	client  *stripe.Client
	timeout time.Duration
}

// StripeOption configures a Stripe connector.
type StripeOption func(*stripeConfig)

type stripeConfig struct {
	url        string
	httpClient *http.Client
	timeout    time.Duration
	retries    int64
}

// WithStripeURL sends the API requests to url instead of
// https://api.stripe.com: an https:// URL, or http:// to a loopback address
// or localhost only (as "http://127.0.0.1:12111" for stripe-mock), since
// the card travels in the request; NewStripe refuses any other.
func WithStripeURL(url string) StripeOption {
	return func(c *stripeConfig) { c.url = strings.TrimRight(url, "/") }
}

// WithStripeHTTPClient sets the HTTP client (default: one without a timeout
// of its own; the context bounds each call).
func WithStripeHTTPClient(hc *http.Client) StripeOption {
	return func(c *stripeConfig) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithStripeTimeout bounds each call when the caller's context has no earlier
// deadline (default DefaultTimeout).
func WithStripeTimeout(d time.Duration) StripeOption {
	return func(c *stripeConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithStripeRetries sets how often stripe-go retries a request that failed
// on the network or with a 409/5xx (default 0: the session decides, with
// the same idempotency key). Retries reuse the request's idempotency key.
func WithStripeRetries(n int) StripeOption {
	return func(c *stripeConfig) {
		if n >= 0 {
			c.retries = int64(n)
		}
	}
}

// NewStripe returns the Stripe connector for the secret API key (sk_live_…
// or sk_test_…, or a restricted key allowed to create PaymentMethods,
// PaymentIntents and Customers), or an ErrConfig error when the URL given
// with WithStripeURL would carry the card in clear.
func NewStripe(apiKey string, opts ...StripeOption) (*Stripe, error) {
	cfg := stripeConfig{httpClient: &http.Client{}, timeout: DefaultTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.url != "" {
		if err := checkURL("the stripe connector", cfg.url); err != nil {
			return nil, err
		}
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        cfg.httpClient,
		MaxNetworkRetries: stripe.Int64(cfg.retries),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	}
	if cfg.url != "" {
		bc.URL = stripe.String(cfg.url)
	}
	return &Stripe{
		client:  stripe.NewClient(apiKey, stripe.WithBackends(stripe.NewBackendsWithConfig(bc))),
		timeout: cfg.timeout,
	}, nil
}

// Name returns "stripe".
func (s *Stripe) Name() string { return "stripe" }

const stripeName = "the stripe gateway"

// Charge charges r.Amount (> 0) to the card in r.
func (s *Stripe) Charge(ctx context.Context, r Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, ContextError(ctx, stripeName)
	}
	if err := stripeCheck(opCharge, r); err != nil {
		return Result{}, err
	}
	ctx, cancel := Timeout(ctx, s.timeout)
	defer cancel()

	pm, res, err := s.paymentMethod(ctx, r)
	if err != nil || res.Outcome == Declined {
		return res, err
	}
	p := &stripe.PaymentIntentCreateParams{
		Amount:             stripe.Int64(r.Amount),
		Currency:           stripe.String(strings.ToLower(r.Currency)),
		PaymentMethod:      stripe.String(pm.ID),
		PaymentMethodTypes: []*string{stripe.String("card")},
		Confirm:            stripe.Bool(true),
	}
	if r.Description != "" {
		p.Description = stripe.String(r.Description)
	}
	p.Context = ctx
	p.SetIdempotencyKey(r.IdempotencyKey)
	pi, err := s.client.V1PaymentIntents.Create(ctx, p)
	if err != nil {
		return s.failure(ctx, err, res)
	}
	res.Reference = pi.ID
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
		res.Outcome = Approved
	case stripe.PaymentIntentStatusRequiresAction, stripe.PaymentIntentStatusRequiresConfirmation:
		res.Outcome, res.Reason = Declined, "authentication_required"
	default: // requires_payment_method, canceled
		res.Outcome, res.Reason = Declined, "card_declined"
		if e := pi.LastPaymentError; e != nil {
			res.Reason = stripeReason(e.DeclineCode, e.Code)
		}
	}
	return res, nil
}

// Tokenize (r.Amount == 0) stores the card at Stripe: a PaymentMethod
// attached to a new Customer.
func (s *Stripe) Tokenize(ctx context.Context, r Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, ContextError(ctx, stripeName)
	}
	if err := stripeCheck(opTokenize, r); err != nil {
		return Result{}, err
	}
	ctx, cancel := Timeout(ctx, s.timeout)
	defer cancel()

	pm, res, err := s.paymentMethod(ctx, r)
	if err != nil || res.Outcome == Declined {
		return res, err
	}
	p := &stripe.CustomerCreateParams{PaymentMethod: stripe.String(pm.ID)}
	if r.Description != "" {
		p.Description = stripe.String(r.Description)
	}
	p.Context = ctx
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(derivedKey(r.IdempotencyKey, "customer"))
	}
	cus, err := s.client.V1Customers.Create(ctx, p)
	if err != nil {
		return s.failure(ctx, err, res)
	}
	res.Outcome, res.Reference, res.Token = Approved, cus.ID, pm.ID
	return res, nil
}

// paymentMethod creates the card PaymentMethod. A card error comes back as a
// Declined result with a nil error.
func (s *Stripe) paymentMethod(ctx context.Context, r Request) (*stripe.PaymentMethod, Result, error) {
	res := Result{Brand: Brand(r.Number), Last4: last4(r.Number)}
	card := &stripe.PaymentMethodCreateCardParams{
		// stripe-go takes strings: these copies cannot be zeroed (see Stripe).
		Number: stripe.String(string(r.Number)),
	}
	if len(r.Expiry) == 4 {
		mm, _ := strconv.Atoi(string(r.Expiry[:2]))
		yy, _ := strconv.Atoi(string(r.Expiry[2:]))
		card.ExpMonth, card.ExpYear = stripe.Int64(int64(mm)), stripe.Int64(int64(2000+yy))
	}
	if len(r.SecurityCode) > 0 {
		card.CVC = stripe.String(string(r.SecurityCode))
	}
	p := &stripe.PaymentMethodCreateParams{Type: stripe.String(string(stripe.PaymentMethodTypeCard)), Card: card}
	if len(r.PostalCode) > 0 {
		p.BillingDetails = &stripe.PaymentMethodCreateBillingDetailsParams{
			Address: &stripe.AddressParams{PostalCode: stripe.String(string(r.PostalCode))},
		}
	}
	p.Context = ctx
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(derivedKey(r.IdempotencyKey, "payment_method"))
	}
	pm, err := s.client.V1PaymentMethods.Create(ctx, p)
	if err != nil {
		res, err = s.failure(ctx, err, res)
		return nil, res, err
	}
	if pm.Card != nil {
		if pm.Card.Brand != "" {
			res.Brand = string(pm.Card.Brand)
		}
		if len(pm.Card.Last4) == 4 {
			res.Last4 = pm.Card.Last4
		}
	}
	return pm, res, nil
}

// failure maps a stripe-go error: a card error is a decline (res with the
// reason, nil error); everything else is ErrBadRequest or ErrUnavailable,
// whose texts hold Stripe's codes and field names, never its messages.
func (s *Stripe) failure(ctx context.Context, err error, res Result) (Result, error) {
	if ctx.Err() != nil {
		return Result{}, ContextError(ctx, stripeName)
	}
	var se *stripe.Error
	if !errors.As(err, &se) {
		// Not an answer from Stripe: the network (refused, reset, DNS, TLS)
		// or a body that could not be read. Its text can hold the URL and
		// the host, never the request body; keep only its type.
		return Result{}, fmt.Errorf("%w: %s could not be reached (%s); nothing was charged if the request never arrived, so submit again with the same idempotency key or take another payment method", ErrUnavailable, stripeName, networkProblem(err))
	}
	detail := string(se.Type)
	if se.Code != "" {
		detail += " " + string(se.Code)
	}
	if se.Param != "" {
		detail += " (" + se.Param + ")"
	}
	switch {
	case se.Type == stripe.ErrorTypeCard:
		res.Outcome, res.Reason = Declined, stripeReason(se.DeclineCode, se.Code)
		if se.PaymentIntent != nil && strings.HasPrefix(se.PaymentIntent.ID, "pi_") {
			res.Reference = se.PaymentIntent.ID
		}
		return res, nil
	case se.Type == stripe.ErrorTypeIdempotency:
		return Result{}, fmt.Errorf("%w: idempotency key reused with different parameters; use a new key for a new payment (stripe: %s)", ErrBadRequest, detail)
	case se.HTTPStatusCode == http.StatusUnauthorized || se.HTTPStatusCode == http.StatusForbidden:
		return Result{}, fmt.Errorf("%w: stripe refused the API key (HTTP %d); check the configured secret key", ErrBadRequest, se.HTTPStatusCode)
	case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode == http.StatusConflict || se.HTTPStatusCode >= 500 || se.Type == stripe.ErrorTypeAPI:
		return Result{}, fmt.Errorf("%w: %s answered HTTP %d (%s); submit again with the same idempotency key in a moment, or take another payment method", ErrUnavailable, stripeName, se.HTTPStatusCode, detail)
	default:
		return Result{}, fmt.Errorf("%w: stripe refused the request (HTTP %d, %s); nothing was charged", ErrBadRequest, se.HTTPStatusCode, detail)
	}
}

// networkProblem names a network error in a few words, without its text
// (which holds the URL).
func networkProblem(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.As(err, &ne) && ne.Timeout():
		return "network timeout"
	default:
		return "network error"
	}
}

func stripeReason(decline stripe.DeclineCode, code stripe.ErrorCode) string {
	switch {
	case decline != "":
		return string(decline)
	case code != "":
		return string(code)
	default:
		return "card_declined"
	}
}

// stripeCheck is the sandbox's request check, plus: cards only, with an
// expiry.
func stripeCheck(o op, r Request) error {
	if len(r.RoutingNumber) > 0 || len(r.AccountNumber) > 0 {
		return fmt.Errorf("%w: the stripe connector takes cards only", ErrBadRequest)
	}
	if _, err := check(o, r); err != nil {
		return err
	}
	if len(r.Expiry) == 0 {
		return fmt.Errorf("%w: the stripe connector needs the expiry date (MMYY)", ErrBadRequest)
	}
	return nil
}

// derivedKey makes the idempotency key of one step of a request from the
// request's key: Stripe binds a key to one request, and a charge makes two.
func derivedKey(key, step string) string {
	sum := sha256.Sum256([]byte(step + "\x00" + key))
	return "hushphone-" + step + "-" + hex.EncodeToString(sum[:20])
}
