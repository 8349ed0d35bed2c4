package pay

import (
	"testing"

	"github.com/hushphone/hushphone/payment/card"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/payment/session"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/store"
)

// TestProtocolSpeaksThePaymentPackages: the payment packages keep their
// own types (payment/ knows nothing of the wire), and pay converts them to
// the protocol's by their strings, so each must be the other's word for
// word.
func TestProtocolSpeaksThePaymentPackages(t *testing.T) {
	pairs := []struct{ domain, wire string }{
		{string(session.CardNumber), string(protocol.FieldCardNumber)},
		{string(session.ExpiryDate), string(protocol.FieldExpiryDate)},
		{string(session.SecurityCode), string(protocol.FieldSecurityCode)},
		{string(session.PostalCode), string(protocol.FieldPostalCode)},
		{string(session.RoutingNumber), string(protocol.FieldRoutingNumber)},
		{string(session.AccountNumber), string(protocol.FieldAccountNumber)},

		{string(session.Waiting), string(protocol.FieldWaiting)},
		{string(session.Capturing), string(protocol.FieldCapturing)},
		{string(session.Complete), string(protocol.FieldComplete)},
		{string(session.Invalid), string(protocol.FieldInvalid)},

		{string(card.InvalidCardNumber), string(protocol.ReasonInvalidCardNumber)},
		{string(card.InvalidCardType), string(protocol.ReasonInvalidCardType)},
		{string(card.InvalidDate), string(protocol.ReasonInvalidDate)},
		{string(card.InvalidSecurityCode), string(protocol.ReasonInvalidSecurityCode)},
		{string(card.InvalidPostalCode), string(protocol.ReasonInvalidPostalCode)},
		{string(card.InvalidRoutingNumber), string(protocol.ReasonInvalidRoutingNumber)},
		{string(card.InvalidAccountNumber), string(protocol.ReasonInvalidAccountNumber)},
		{session.ReasonTimeout, string(protocol.ReasonFieldTimeout)},

		{string(card.Visa), string(protocol.BrandVisa)},
		{string(card.Mastercard), string(protocol.BrandMastercard)},
		{string(card.Amex), string(protocol.BrandAmex)},
		{string(card.Discover), string(protocol.BrandDiscover)},
		{string(card.Diners), string(protocol.BrandDiners)},
		{string(card.JCB), string(protocol.BrandJCB)},
		{string(card.Maestro), string(protocol.BrandMaestro)},
		{string(card.UnionPay), string(protocol.BrandUnionPay)},

		{string(gateway.Approved), string(protocol.OutcomeApproved)},
		{string(gateway.Declined), string(protocol.OutcomeDeclined)},
		{string(gateway.Failed), string(protocol.OutcomeFailed)},

		// The audit's outcomes are read back as states (FromAudit).
		{string(gateway.Approved), string(protocol.PayApproved)},
		{string(gateway.Declined), string(protocol.PayDeclined)},
		{string(gateway.Failed), string(protocol.PayFailed)},
		{store.PaymentCancelled, string(protocol.PayCancelled)},
		{store.PaymentDropped, string(protocol.PayDropped)},
		{store.PaymentTimedOut, string(protocol.PayTimedOut)},
	}
	for _, p := range pairs {
		if p.domain != p.wire {
			t.Errorf("the payment packages say %q where the protocol says %q", p.domain, p.wire)
		}
	}
	// Every brand the protocol names is one card knows.
	for _, b := range []protocol.Brand{protocol.BrandVisa, protocol.BrandMastercard, protocol.BrandAmex, protocol.BrandDiscover,
		protocol.BrandDiners, protocol.BrandJCB, protocol.BrandMaestro, protocol.BrandUnionPay} {
		if len(card.Lengths(card.Brand(b))) == 0 {
			t.Errorf("card does not know the brand %s", b)
		}
	}
}
