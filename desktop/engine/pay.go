package engine

import (
	"context"

	"github.com/hushphone/hushphone/protocol"
)

// StartPayment starts a secure-pay session on call (see docs/protocol.md,
// "Secure pay"): r's amount is in minor units, 0 saving the card
// (tokenize); empty Fields mean card number, expiry date and security
// code. Its progress comes as pay.progress events (Event.Payment), errors
// as error events.
func (a *Agent) StartPayment(ctx context.Context, call string, r protocol.PayRequest) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypePayStart, Call: call, Pay: &r})
}

// AskField has the caller type a field again.
func (a *Agent) AskField(ctx context.Context, session string, field protocol.Field) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypePayAsk, Session: session, Field: field})
}

// ResetField clears a field; the caller types it when its turn comes.
func (a *Agent) ResetField(ctx context.Context, session string, field protocol.Field) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypePayReset, Session: session, Field: field})
}

// CancelPayment ends the session; nothing is charged.
func (a *Agent) CancelPayment(ctx context.Context, session string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypePayCancel, Session: session})
}

// SubmitPayment sends the captured card to the gateway once every field
// is valid; the outcome comes as a pay.progress event.
func (a *Agent) SubmitPayment(ctx context.Context, session string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypePaySubmit, Session: session})
}

// PaymentStatus asks for a session's status (session, or the call's live
// session when session is empty).
func (a *Agent) PaymentStatus(ctx context.Context, session, call string) error {
	return a.send(ctx, protocol.Message{Type: protocol.TypePayStatus, Session: session, Call: call})
}
