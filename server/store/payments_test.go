package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
)

func TestPayments(t *testing.T) {
	ctx := context.Background()
	c := testkit.NewClock(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	s := open(t, dir, WithClock(c.Now))
	if _, err := s.AddUser(ctx, "ann", RoleAgent, "x"); err != nil {
		t.Fatal(err)
	}
	bob, err := s.AddUser(ctx, "bob", RoleAgent, "x")
	if err != nil {
		t.Fatal(err)
	}
	p := Payment{ID: "ps_1", CallID: "call-1", Agent: "ann", Amount: 1999, Currency: "GBP", Method: "card", Gateway: "sandbox", IdempotencyKey: "ik-1"}
	if err := s.AddPayment(ctx, p); err != nil {
		t.Fatal(err)
	}
	c.Add(40 * time.Second)
	if err := s.FinishPayment(ctx, Payment{ID: "ps_1", Brand: "visa", Last4: "4242", Outcome: "approved", Reference: "sb_ch_abc"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddPayment(ctx, Payment{ID: "ps_2", CallID: "call-2", Agent: "bob", Currency: "EUR", Method: "card", Gateway: "sandbox"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.PaymentByID(ctx, "ps_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Outcome != "approved" || got.Last4 != "4242" || got.Brand != "visa" || got.Amount != 1999 || got.Ended.Sub(got.Started) != 40*time.Second {
		t.Fatalf("payment %+v", got)
	}
	all, err := s.ListPayments(ctx, "", 0)
	if err != nil || len(all) != 2 || all[0].ID != "ps_2" {
		t.Fatalf("all payments %+v %v", all, err)
	}
	one, err := s.ListPayments(ctx, "call-1", 0)
	if err != nil || len(one) != 1 || one[0].ID != "ps_1" {
		t.Fatalf("call-1's payments %+v %v", one, err)
	}
	// ps_2 never finished: at the next start it is recorded as dropped.
	if n, err := s.EndUnfinishedPayments(ctx, "server_restarted"); err != nil || n != 1 {
		t.Fatalf("ended %d unfinished, %v", n, err)
	}
	if p2, _ := s.PaymentByID(ctx, "ps_2"); p2.Outcome != PaymentDropped || p2.Reason != "server_restarted" || p2.Ended.IsZero() {
		t.Fatalf("the unfinished payment %+v", p2)
	}
	if p1, _ := s.PaymentByID(ctx, "ps_1"); p1.Outcome != "approved" {
		t.Fatalf("a finished payment changed: %+v", p1)
	}
	bobs, err := s.ListPaymentsBy(ctx, "", bob.ID, 0)
	if err != nil || len(bobs) != 1 || bobs[0].ID != "ps_2" {
		t.Fatalf("bob's payments %+v %v", bobs, err)
	}
	if none, err := s.ListPaymentsBy(ctx, "call-1", bob.ID, 0); err != nil || len(none) != 0 {
		t.Fatalf("bob's payments on call-1 %+v %v", none, err)
	}
	if newest, err := s.ListPaymentsBy(ctx, "", 0, 1); err != nil || len(newest) != 1 || newest[0].ID != "ps_2" {
		t.Fatalf("the newest payment %+v %v", newest, err)
	}

	// Anything that could be card data is refused.
	for name, bad := range map[string]Payment{
		"a whole number as last4": {ID: "ps_2", Last4: "4242424242424242", Outcome: "approved"},
		"five digits as last4":    {ID: "ps_2", Last4: "42424", Outcome: "approved"},
		"a number in the reason":  {ID: "ps_2", Outcome: "declined", Reason: "card 4000000000000002 declined"},
		"a number as reference":   {ID: "ps_2", Outcome: "approved", Reference: "4242424242424242"},
		"no outcome":              {ID: "ps_2"},
	} {
		if err := s.FinishPayment(ctx, bad); !errors.Is(err, ErrBadPayment) {
			t.Errorf("%s: %v, want ErrBadPayment", name, err)
		}
	}
	for name, bad := range map[string]Payment{
		"no call":       {ID: "x", Agent: "ann", Currency: "GBP", Method: "card", Gateway: "sandbox"},
		"no method":     {ID: "x", CallID: "c", Agent: "ann", Currency: "GBP", Gateway: "sandbox"},
		"card in a key": {ID: "x", CallID: "c", Agent: "ann", Currency: "GBP", Method: "card", Gateway: "sandbox", IdempotencyKey: "4242424242424242"},
	} {
		if err := s.AddPayment(ctx, bad); !errors.Is(err, ErrBadPayment) {
			t.Errorf("%s: %v, want ErrBadPayment", name, err)
		}
	}
	if err := s.FinishPayment(ctx, Payment{ID: "ps_9", Outcome: "approved"}); !errors.Is(err, ErrNoPayment) {
		t.Errorf("finish an unknown payment: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing of the refused card numbers reached the file.
	for _, f := range []string{"hushphone.db", "hushphone.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, pan := range []string{"424242424242", "400000000000"} {
			if bytes.Contains(b, []byte(pan)) {
				t.Errorf("%s holds %s", f, pan)
			}
		}
	}
}

// TestPaymentDigitsApartRefused: a text column holding a card number with
// spaces or separators between its digits is refused like one without;
// ids that reach 12 digits only across separators (a UUID Call-ID, an
// address), the amount and the times still pass.
func TestPaymentDigitsApartRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	base := Payment{ID: "ps_1", CallID: "12345678-1234-5678-1234-5678123400ab@192.168.100.200", Agent: "ann",
		Amount: 424242424242, Currency: "GBP", Method: "card", Gateway: "sandbox", IdempotencyKey: "order-42"}
	if err := s.AddPayment(ctx, base); err != nil {
		t.Fatalf("a UUID Call-ID with an address, a large amount: %v", err)
	}
	for name, bad := range map[string]Payment{
		"spaced number in the reason":    {ID: "ps_1", Outcome: "declined", Reason: "card 4000 0000 0000 0002 declined"},
		"dashed number as reference":     {ID: "ps_1", Outcome: "approved", Reference: "4242-4242-4242-4242"},
		"dotted number as token":         {ID: "ps_1", Outcome: "approved", Token: "tok.4.2.4.2.4.2.4.2.4.2.4.2"},
		"fullwidth number as the reason": {ID: "ps_1", Outcome: "declined", Reason: "４２４２ ４２４２ ４２４２ ４２４２"},
	} {
		if err := s.FinishPayment(ctx, bad); !errors.Is(err, ErrBadPayment) {
			t.Errorf("%s: %v, want ErrBadPayment", name, err)
		}
	}
	key := base
	key.ID, key.IdempotencyKey = "ps_2", "4242-4242-4242-4242"
	if err := s.AddPayment(ctx, key); !errors.Is(err, ErrBadPayment) {
		t.Errorf("a dashed number as the idempotency key: %v, want ErrBadPayment", err)
	}
	if err := s.FinishPayment(ctx, Payment{ID: "ps_1", Outcome: "declined", Reason: "HTTP 503 at 12:30 on 2026-11-26", Reference: "ref-2026-11"}); err != nil {
		t.Errorf("a reason with a date and a time: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hushphone.db", "hushphone.db-wal"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, pan := range []string{"4000 0000 0000", "4242-4242-4242", "4.2.4.2.4.2.4.2"} {
			if bytes.Contains(b, []byte(pan)) {
				t.Errorf("%s holds %s", f, pan)
			}
		}
	}
}
