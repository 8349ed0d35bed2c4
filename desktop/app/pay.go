package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/protocol"
)

// recordPayment updates the history entry of p's call, if it is there
// already (a payment that ends after its call) (a.mu held).
func (a *App) recordPayment(p *protocol.Payment) {
	for i := range a.history {
		if a.history[i].Call == p.Call {
			a.history[i].Payment, a.history[i].Amount, a.history[i].Currency = p.State, p.Amount, p.Currency
			if p.Result != nil {
				a.history[i].Reference = p.Result.Reference
			}
			a.saveHistory()
			return
		}
	}
}

// StartPayment starts a payment on the call: amount in minor units (0:
// save the card as a token), currency ISO 4217; with postcode the caller
// also types the billing postal code after the card.
func (a *App) StartPayment(amount int64, currency string, postcode bool) error {
	c, err := a.call(CallActive)
	if err != nil {
		return err
	}
	if amount < 0 || len(currency) != 3 {
		return fmt.Errorf("%w: an amount of 0 or more and a three-letter currency", ErrInput)
	}
	desc := "Card payment"
	if amount == 0 {
		desc = "Card saved"
	}
	req := protocol.PayRequest{Amount: amount, Currency: strings.ToUpper(currency), Description: desc}
	if postcode {
		req.Fields = []protocol.Field{protocol.FieldCardNumber, protocol.FieldExpiryDate, protocol.FieldSecurityCode, protocol.FieldPostalCode}
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.StartPayment(ctx, c.ID, req) })
}

// payment returns the live payment's id, or ErrNoPayment.
func (a *App) payment() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p := a.st.Payment; p != nil && !p.Final() {
		return p.ID, nil
	}
	return "", ErrNoPayment
}

// AskField has the caller type field again.
func (a *App) AskField(field string) error {
	id, err := a.payment()
	if err != nil {
		return err
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.AskField(ctx, id, protocol.Field(field)) })
}

// ResetField clears field.
func (a *App) ResetField(field string) error {
	id, err := a.payment()
	if err != nil {
		return err
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error {
		return ag.ResetField(ctx, id, protocol.Field(field))
	})
}

// CancelPayment ends the payment; nothing is charged.
func (a *App) CancelPayment() error {
	id, err := a.payment()
	if err != nil {
		return err
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.CancelPayment(ctx, id) })
}

// SubmitPayment sends the card to the gateway (every field complete).
func (a *App) SubmitPayment() error {
	id, err := a.payment()
	if err != nil {
		return err
	}
	return a.request(func(ctx context.Context, ag *engine.Agent) error { return ag.SubmitPayment(ctx, id) })
}
