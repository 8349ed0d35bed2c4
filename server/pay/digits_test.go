package pay

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/payment/gateway"
)

// TestDigitsApartRefused: a description or idempotency key holding 7 or
// more digits is refused even when spaces or separators stand between
// them, and the error repeats none; texts with fewer pass.
func TestDigitsApartRefused(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for _, d := range []string{
		"4242 4242 4242 4242",
		"card 4242-4242-4242",
		"4.2.4.2.4.2.4",
		"for 4242 / 424",
		"(424) 242-4242",
		"４２４２ ４２４", // fullwidth
	} {
		_, err := h.m.Start(ctx, "ann", "call-1", Request{Amount: 1, Currency: "GBP", Description: d})
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), `"description"`) {
			t.Errorf("description %q: %v, want ErrBadRequest about the description", d, err)
		} else if strings.Contains(err.Error(), d) || strings.Contains(err.Error(), "4242") {
			t.Errorf("description %q: the error repeats it: %v", d, err)
		}
	}
	for _, k := range []string{"4242-4242-4242", "order:424.242:4", "a_1_2_3_4_5_6_7"} {
		_, err := h.m.Start(ctx, "ann", "call-1", Request{Amount: 1, Currency: "GBP", IdempotencyKey: k})
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), `"idempotencyKey"`) {
			t.Errorf("idempotency key %q: %v, want ErrBadRequest about the key", k, err)
		}
	}
	st, err := h.m.Start(ctx, "ann", "call-1", Request{Amount: 1250, Currency: "GBP", Description: "order 42, 3 tickets at 12.50", IdempotencyKey: "order-42-a-1250"})
	if err != nil {
		t.Fatalf("fewer than 7 digits: %v", err)
	}
	if st.Description != "order 42, 3 tickets at 12.50" {
		t.Errorf("description %q", st.Description)
	}
}

// TestGatewayTextDigitsApartCleaned: a gateway's reason quoting a card
// number with spaces reaches neither the status nor the audit.
func TestGatewayTextDigitsApartCleaned(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"card 4242 4242 4242 4242 declined", "card # declined"},
		{"ref 4242-4242-4242", "ref #"},
		{"HTTP 503 at 12:30", "HTTP 503 at 12:30"},
	} {
		if got := clean(tc.in); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	h := newHarness(t, quoting{gateway.NewSandbox(gateway.WithLatency(0))})
	ctx := context.Background()
	st, err := h.m.Start(ctx, "ann", "call-1", cardReq)
	if err != nil {
		t.Fatal(err)
	}
	h.keys("call-1", "4000000000000002#0931#737#")
	if _, err := h.m.Submit(ctx, "ann", st.ID); err != nil {
		t.Fatal(err)
	}
	s := h.last()
	if s.Result == nil || strings.Contains(s.Result.Reason, "0000 0000") || !strings.Contains(s.Result.Reason, "#") {
		t.Errorf("status result %+v: the reason's digits apart were not cleaned", s.Result)
	}
	a, err := h.st.PaymentByID(ctx, st.ID)
	if err != nil || strings.Contains(a.Reason, "0000 0000") {
		t.Errorf("audit %+v, %v", a, err)
	}
	h.noCardData(t, "4000000000000002", "4000 0000 0000 0002")
}

// quoting is a gateway whose declines quote the card number, spaced.
type quoting struct{ gateway.Connector }

func (q quoting) Charge(ctx context.Context, r gateway.Request) (gateway.Result, error) {
	res, err := q.Connector.Charge(ctx, r)
	if res.Outcome == gateway.Declined {
		n := string(r.Number)
		res.Reason = "card " + n[:4] + " " + n[4:8] + " " + n[8:12] + " " + n[12:] + " declined"
	}
	return res, err
}
