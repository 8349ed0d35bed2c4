package pay

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hushphone/hushphone/payment/card"
	"github.com/hushphone/hushphone/payment/session"
	"github.com/hushphone/hushphone/protocol"
)

// Request is what an agent asks for when starting a session: the
// protocol's payment request (pay.start's pay, the HTTP API's body).
type Request = protocol.PayRequest

// Status is a session as the agent and supervisors see it: the protocol's
// payment status (pay.progress's payment). Seq grows with every change: a
// client keeps the highest it has seen.
type Status = protocol.Payment

// Limits on a Request.
const (
	MaxAmount          = 100_000_000_00 // minor units
	MaxDescription     = 200
	MaxIdempotencyKey  = 100
	MaxAttempts        = 9
	MaxFieldTimeoutSec = 300
	// MaxDigits: a request's free text (the description, the idempotency
	// key) and the gateway's texts on a status hold fewer digits than
	// this in one run, counted across spaces and separators as
	// card.DigitRun does: "4242 4242" is a run of 8. Seven is shorter
	// than any card or bank account number.
	MaxDigits = 7
)

// Why the server ended a session, as its audit row records it (the
// protocol's payment status does not carry it).
const (
	auditCallEnded       = "call_ended"
	auditServerShutdown  = "server_shutdown"
	auditServerRestarted = "server_restarted"
)

var (
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
	keyRe      = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
)

// check completes r with its defaults and says what is wrong with it.
func check(r *Request) (session.Params, error) {
	bad := func(msg string) (session.Params, error) {
		return session.Params{}, fmt.Errorf("%w: %s", ErrBadRequest, msg)
	}
	r.Currency = strings.ToUpper(r.Currency)
	switch {
	case r.Amount < 0 || r.Amount > MaxAmount:
		return bad(fmt.Sprintf(`"amount" is in minor units, 0 (save the card) to %d`, int64(MaxAmount)))
	case !currencyRe.MatchString(r.Currency):
		return bad(`"currency" is a three-letter ISO 4217 code such as GBP`)
	case len(r.Description) > MaxDescription:
		return bad(fmt.Sprintf(`"description" is at most %d characters`, MaxDescription))
	case card.DigitRun(r.Description) >= MaxDigits:
		return bad(`"description" must not hold 7 or more digits, together or apart (spaces, dashes or dots between them): it could be card data`)
	case r.Attempts < 0 || r.Attempts > MaxAttempts:
		return bad(fmt.Sprintf(`"attempts" is 1 to %d (0: 3)`, MaxAttempts))
	case r.FieldTimeout < 0 || r.FieldTimeout > MaxFieldTimeoutSec:
		return bad(fmt.Sprintf(`"fieldTimeout" is 1 to %d seconds (0: 30)`, MaxFieldTimeoutSec))
	case len(r.IdempotencyKey) > MaxIdempotencyKey || r.IdempotencyKey != "" && !keyRe.MatchString(r.IdempotencyKey):
		return bad(fmt.Sprintf(`"idempotencyKey" is 1 to %d of A-Z a-z 0-9 _ . : -`, MaxIdempotencyKey))
	case card.DigitRun(r.IdempotencyKey) >= MaxDigits:
		return bad(`"idempotencyKey" must not hold 7 or more digits, together or apart (with _ . : or - between them)`)
	}
	if r.Method == "" {
		r.Method = protocol.MethodCard
	}
	if r.Method != protocol.MethodCard && r.Method != protocol.MethodBank {
		return bad(`"method" is card or bank`)
	}
	if len(r.Fields) == 0 {
		if r.Method == protocol.MethodCard {
			r.Fields = []protocol.Field{protocol.FieldCardNumber, protocol.FieldExpiryDate, protocol.FieldSecurityCode}
		} else {
			r.Fields = []protocol.Field{protocol.FieldRoutingNumber, protocol.FieldAccountNumber}
		}
	}
	seen := map[protocol.Field]bool{}
	fields := make([]session.Field, 0, len(r.Fields))
	for _, f := range r.Fields {
		// The messages name the fields we know, never what the client sent.
		switch f {
		case protocol.FieldCardNumber, protocol.FieldExpiryDate, protocol.FieldSecurityCode, protocol.FieldPostalCode,
			protocol.FieldRoutingNumber, protocol.FieldAccountNumber:
		default:
			return bad(`unknown field: the fields are card-number, expiry-date, security-code, postal-code, routing-number and account-number`)
		}
		if seen[f] {
			return bad(fmt.Sprintf("the field %s is asked for twice", f))
		}
		seen[f] = true
		bank := f == protocol.FieldRoutingNumber || f == protocol.FieldAccountNumber
		if bank != (r.Method == protocol.MethodBank) {
			return bad(fmt.Sprintf("the field %s does not go with the method %s", f, r.Method))
		}
		fields = append(fields, session.Field(f))
	}
	if r.Method == protocol.MethodCard && !slices.Contains(r.Fields, protocol.FieldCardNumber) {
		return bad(`a card payment needs the "card-number" field`)
	}
	if r.Method == protocol.MethodBank && (!slices.Contains(r.Fields, protocol.FieldRoutingNumber) || !slices.Contains(r.Fields, protocol.FieldAccountNumber)) {
		return bad(`a bank payment needs "routing-number" and "account-number"`)
	}
	if r.Method == protocol.MethodCard && r.Amount > 0 && !slices.Contains(r.Fields, protocol.FieldExpiryDate) {
		return bad(`a card charge needs the "expiry-date" field`)
	}
	var brands []card.Brand
	for _, b := range r.Brands {
		if len(card.Lengths(card.Brand(b))) == 0 {
			return bad("unknown brand: the brands are visa, mastercard, amex, discover, diners, jcb, maestro and unionpay")
		}
		brands = append(brands, card.Brand(b))
	}
	return session.Params{Fields: fields, Accepted: brands, Attempts: r.Attempts,
		FieldTimeout: time.Duration(r.FieldTimeout) * time.Second}, nil
}

// fieldsOf is a session's fields as the protocol has them.
func fieldsOf(ps []session.FieldProgress) []protocol.PayField {
	if ps == nil {
		return nil
	}
	out := make([]protocol.PayField, len(ps))
	for i, f := range ps {
		out[i] = protocol.PayField{Field: protocol.Field(f.Field), State: protocol.FieldState(f.State), Digits: f.Digits,
			Reason: protocol.FieldReason(f.Reason), AttemptsLeft: f.AttemptsLeft, Last4: f.Last4}
	}
	return out
}

// clean keeps a gateway's text safe to show and record: runs of 7 or more
// digits (which could be card data), together or apart as card.DigitRun
// counts them, become "#".
func clean(s string) string {
	if len(s) > 500 {
		s = s[:500]
	}
	return card.RedactDigitRuns(s, MaxDigits, "#")
}
