package protocol

import "time"

// PayRequest is what an agent asks for when starting a payment session
// (pay.start's pay; the HTTP API takes the same).
type PayRequest struct {
	Amount      int64  `json:"amount"`   // minor units; 0: tokenize (save the card)
	Currency    string `json:"currency"` // ISO 4217, three letters
	Description string `json:"description,omitempty"`
	// Method is card (the default) or bank; Fields default to card-number,
	// expiry-date, security-code for cards and routing-number,
	// account-number for bank accounts.
	Method PayMethod `json:"method,omitempty"`
	Fields []Field   `json:"fields,omitempty"`
	// Brands are the card brands accepted (empty: every brand).
	Brands []Brand `json:"brands,omitempty"`
	// Attempts per field (0: 3) and the seconds the caller may pause within
	// a field (0: 30).
	Attempts     int `json:"attempts,omitempty"`
	FieldTimeout int `json:"fieldTimeout,omitempty"`
	// IdempotencyKey goes to the gateway with every submit of this session
	// (empty: the session's id), so a retry never charges twice.
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// Payment is a payment session as the agent and supervisors see it
// (pay.progress's payment): digit counts, states, reasons, the brand and
// the card's last four; never a digit more. Seq grows with every change: a
// client keeps the highest it has seen.
type Payment struct {
	ID          string       `json:"id"`
	Call        string       `json:"call"`
	Agent       string       `json:"agent"`
	Seq         uint64       `json:"seq"`
	State       PaymentState `json:"state"`
	Amount      int64        `json:"amount"`
	Currency    string       `json:"currency"`
	Description string       `json:"description,omitempty"`
	Method      PayMethod    `json:"method"`
	Gateway     string       `json:"gateway"` // the connector's name: sandbox, stripe, generic
	Fields      []PayField   `json:"fields,omitzero"`
	Current     Field        `json:"current,omitempty"` // the field being captured
	Brand       Brand        `json:"brand,omitempty"`
	Last4       string       `json:"last4,omitempty"` // the card number's, once complete
	Result      *PayResult   `json:"result,omitempty"`
	Started     time.Time    `json:"started"`
	Ended       *time.Time   `json:"ended,omitempty"`
}

// Final reports whether the session is over.
func (p *Payment) Final() bool { return p.State.Final() }

// PayField is one field of a payment as the agent sees it: never a digit,
// only how many, and the card's last four once complete.
type PayField struct {
	Field        Field       `json:"field"`
	State        FieldState  `json:"state"`
	Digits       int         `json:"digits"`
	Reason       FieldReason `json:"reason,omitempty"` // why it last failed
	AttemptsLeft int         `json:"attemptsLeft"`
	Last4        string      `json:"last4,omitempty"` // the card number's, once complete
}

// PayResult is the gateway's answer.
type PayResult struct {
	Outcome   PayOutcome `json:"outcome"`
	Reference string     `json:"reference,omitempty"`
	Token     string     `json:"token,omitempty"`  // a saved card's
	Reason    string     `json:"reason,omitempty"` // why it was declined or failed, in the gateway's words
}

// PaymentState is a payment session's state as a whole.
type PaymentState string

// Payment states. Capturing, ready, submitting and failed are live (the
// session takes requests); the others are final.
const (
	PayCapturing  PaymentState = "capturing"  // the caller is typing
	PayReady      PaymentState = "ready"      // every field is valid: submit
	PaySubmitting PaymentState = "submitting" // with the gateway
	PayFailed     PaymentState = "failed"     // the gateway could not be reached: submit again or cancel
	PayApproved   PaymentState = "approved"
	PayDeclined   PaymentState = "declined"
	PayCancelled  PaymentState = "cancelled" // by the agent
	PayDropped    PaymentState = "dropped"   // the call ended, or went back to the queue
	PayTimedOut   PaymentState = "timed_out" // nobody did anything for the idle limit
)

// Final reports whether s ends a session.
func (s PaymentState) Final() bool {
	switch s {
	case PayApproved, PayDeclined, PayCancelled, PayDropped, PayTimedOut:
		return true
	}
	return false
}

// PayMethod is what a payment takes.
type PayMethod string

// Payment methods.
const (
	MethodCard PayMethod = "card"
	MethodBank PayMethod = "bank"
)

// Field is one thing the caller types.
type Field string

// The fields.
const (
	FieldCardNumber    Field = "card-number"
	FieldExpiryDate    Field = "expiry-date" // MMYY
	FieldSecurityCode  Field = "security-code"
	FieldPostalCode    Field = "postal-code"
	FieldRoutingNumber Field = "routing-number" // a bank's
	FieldAccountNumber Field = "account-number" // a bank's
)

// FieldState is a field's state.
type FieldState string

// Field states.
const (
	FieldWaiting   FieldState = "waiting"   // not reached yet
	FieldCapturing FieldState = "capturing" // the caller is typing it
	FieldComplete  FieldState = "complete"  // typed and valid
	FieldInvalid   FieldState = "invalid"   // failed its check (reason); captured again while attempts are left
)

// FieldReason is why a field last failed.
type FieldReason string

// Field reasons.
const (
	ReasonInvalidCardNumber    FieldReason = "invalid-card-number"
	ReasonInvalidCardType      FieldReason = "invalid-card-type" // a brand the session does not accept
	ReasonInvalidDate          FieldReason = "invalid-date"
	ReasonInvalidSecurityCode  FieldReason = "invalid-security-code"
	ReasonInvalidPostalCode    FieldReason = "invalid-postal-code"
	ReasonInvalidRoutingNumber FieldReason = "invalid-routing-number"
	ReasonInvalidAccountNumber FieldReason = "invalid-account-number"
	ReasonFieldTimeout         FieldReason = "timeout" // the caller stopped typing for the field timeout
)

// Brand is a card brand.
type Brand string

// Card brands.
const (
	BrandVisa       Brand = "visa"
	BrandMastercard Brand = "mastercard"
	BrandAmex       Brand = "amex"
	BrandDiscover   Brand = "discover"
	BrandDiners     Brand = "diners"
	BrandJCB        Brand = "jcb"
	BrandMaestro    Brand = "maestro"
	BrandUnionPay   Brand = "unionpay"
)

// PayOutcome is what the gateway made of a payment.
type PayOutcome string

// Outcomes.
const (
	OutcomeApproved PayOutcome = "approved"
	OutcomeDeclined PayOutcome = "declined"
	OutcomeFailed   PayOutcome = "failed" // the gateway could not be reached, or gave no answer that could be read
)
