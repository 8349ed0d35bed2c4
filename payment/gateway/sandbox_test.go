package gateway

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixed clock: expiries in 2027 and later are valid, 2025 ones are past.
var testNow = time.Date(2026, time.November, 26, 12, 0, 0, 0, time.UTC)

func newTestSandbox(opts ...Option) *Sandbox {
	base := []Option{WithLatency(0), WithTimeout(2 * time.Second), WithClock(func() time.Time { return testNow })}
	return NewSandbox(append(base, opts...)...)
}

func cardRequest(key string, amount int64, number string) Request {
	return Request{
		IdempotencyKey: key,
		Amount:         amount,
		Currency:       "GBP",
		Description:    "order",
		Number:         []byte(number),
		Expiry:         []byte("0829"),
		SecurityCode:   []byte("737"),
		PostalCode:     []byte("SW1A 1AA"),
	}
}

// assertNoLeak fails if the result or error shows more of any number sent
// than its last four digits, or any of the expiry or security code.
func assertNoLeak(t testing.TB, r Request, res Result, err error) {
	t.Helper()
	texts := []string{string(res.Outcome), res.Reference, res.Token, res.Reason, res.Brand}
	if err != nil {
		texts = append(texts, err.Error())
	}
	for _, n := range [][]byte{r.Number, r.RoutingNumber, r.AccountNumber} {
		s := string(n)
		if res.Last4 != "" && len(s) >= 4 && res.Last4 != s[len(s)-4:] && s != string(r.RoutingNumber) {
			t.Errorf("Last4 %q is not the last four of what was sent", res.Last4)
		}
		for i := 0; i+5 <= len(s); i++ {
			w := s[i : i+5]
			if !isDigits(w) {
				continue
			}
			for _, x := range append(texts, res.Last4) {
				if strings.Contains(x, w) {
					t.Errorf("output %q shows digits %q of a number sent", x, w)
				}
			}
		}
	}
	for _, secret := range [][]byte{r.Expiry, r.SecurityCode} {
		if len(secret) < 3 {
			continue
		}
		for _, x := range texts {
			if strings.Contains(x, string(secret)) {
				t.Errorf("output %q shows the expiry or security code", x)
			}
		}
	}
}

func isDigits(s string) bool { return digits([]byte(s)) }

var cardTable = []struct {
	number           string
	brand            string
	charge, tokenize Outcome
	chargeReason     string
	tokenizeReason   string
}{
	{"4242424242424242", "visa", Approved, Approved, "", ""},
	{"5555555555554444", "mastercard", Approved, Approved, "", ""},
	{"378282246310005", "amex", Approved, Approved, "", ""},
	{"6011111111111117", "discover", Approved, Approved, "", ""},
	{"4000000000000002", "visa", Declined, Declined, "card_declined", "card_declined"},
	{"4000000000009995", "visa", Declined, Declined, "insufficient_funds", "insufficient_funds"},
	{"4000000000000069", "visa", Declined, Declined, "expired_card", "expired_card"},
	{"4000000000000127", "visa", Declined, Declined, "incorrect_cvc", "incorrect_cvc"},
	{"4000000000000119", "visa", Declined, Declined, "processing_error", "processing_error"},
	{"4000000000000341", "visa", Declined, Approved, "card_declined", ""},
	{"2223003122003222", "mastercard", Approved, Approved, "", ""}, // other valid number
	{"6500000000000002", "discover", Approved, Approved, "", ""},   // other valid number
	{"3530111333300000", "jcb", Approved, Approved, "", ""},        // other valid number (JCB)
	{"4242424242424241", "visa", Declined, Declined, "incorrect_number", "incorrect_number"},
}

func TestSandboxCards(t *testing.T) {
	s := newTestSandbox()
	for _, tc := range cardTable {
		for _, o := range []op{opCharge, opTokenize} {
			name := tc.number + "/charge"
			want, reason, amount, prefix := tc.charge, tc.chargeReason, int64(1999), "sb_ch_"
			if o == opTokenize {
				name = tc.number + "/tokenize"
				want, reason, amount, prefix = tc.tokenize, tc.tokenizeReason, 0, "sb_tok_"
			}
			t.Run(name, func(t *testing.T) {
				r := cardRequest("k-"+name, amount, tc.number)
				var res Result
				var err error
				if o == opCharge {
					res, err = s.Charge(context.Background(), r)
				} else {
					res, err = s.Tokenize(context.Background(), r)
				}
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				assertNoLeak(t, r, res, err)
				if res.Outcome != want || res.Reason != reason {
					t.Errorf("got %s %q, want %s %q", res.Outcome, res.Reason, want, reason)
				}
				if res.Brand != tc.brand || res.Last4 != tc.number[len(tc.number)-4:] {
					t.Errorf("brand, last4 = %q, %q", res.Brand, res.Last4)
				}
				switch {
				case want == Approved && !strings.HasPrefix(res.Reference, prefix):
					t.Errorf("reference %q, want prefix %q", res.Reference, prefix)
				case want == Approved && o == opTokenize && res.Token != res.Reference:
					t.Errorf("token %q, reference %q", res.Token, res.Reference)
				case want == Approved && o == opCharge && res.Token != "":
					t.Errorf("a charge returned a token %q", res.Token)
				case want == Declined && (res.Reference != "" || res.Token != ""):
					t.Errorf("declined with reference %q token %q", res.Reference, res.Token)
				}
			})
		}
	}
}

func TestSandboxBank(t *testing.T) {
	tests := []struct {
		routing, account string
		want             Outcome
		reason           string
	}{
		{"110000000", "000123456789", Approved, ""},
		{"110000000", "000111111116", Declined, "account_closed"},
		{"021000021", "123456789012", Approved, ""},
	}
	s := newTestSandbox()
	for _, tc := range tests {
		for _, amount := range []int64{500, 0} {
			r := Request{IdempotencyKey: "bank-" + tc.account + string(rune('a'+amount%26)), Amount: amount, Currency: "USD",
				RoutingNumber: []byte(tc.routing), AccountNumber: []byte(tc.account)}
			var res Result
			var err error
			if amount > 0 {
				res, err = s.Charge(context.Background(), r)
			} else {
				res, err = s.Tokenize(context.Background(), r)
			}
			if err != nil {
				t.Fatalf("%s/%d: %v", tc.account, amount, err)
			}
			assertNoLeak(t, r, res, err)
			if res.Outcome != tc.want || res.Reason != tc.reason || res.Brand != "bank" || res.Last4 != tc.account[len(tc.account)-4:] {
				t.Errorf("%s/%d: got %+v", tc.account, amount, res)
			}
		}
	}
}

func TestSandboxBadRequests(t *testing.T) {
	good := cardRequest("k", 100, "4242424242424242")
	tests := []struct {
		name     string
		tokenize bool
		mod      func(r *Request)
	}{
		{"charge without amount", false, func(r *Request) { r.Amount = 0 }},
		{"negative amount", false, func(r *Request) { r.Amount = -5 }},
		{"tokenize with amount", true, func(r *Request) {}},
		{"no key", false, func(r *Request) { r.IdempotencyKey = "" }},
		{"long key", false, func(r *Request) { r.IdempotencyKey = strings.Repeat("k", 256) }},
		{"lower-case currency", false, func(r *Request) { r.Currency = "gbp" }},
		{"no currency", false, func(r *Request) { r.Currency = "" }},
		{"no card", false, func(r *Request) { r.Number = nil }},
		{"nothing", false, func(r *Request) { r.Number, r.Expiry, r.SecurityCode, r.PostalCode = nil, nil, nil, nil }},
		{"short number", false, func(r *Request) { r.Number = []byte("42424242424") }},
		{"long number", false, func(r *Request) { r.Number = []byte("42424242424242424242") }},
		{"letters in number", false, func(r *Request) { r.Number = []byte("424242424242424x") }},
		{"bad expiry", false, func(r *Request) { r.Expiry = []byte("1329") }},
		{"short expiry", false, func(r *Request) { r.Expiry = []byte("129") }},
		{"bad cvc", false, func(r *Request) { r.SecurityCode = []byte("12") }},
		{"bad postal", false, func(r *Request) { r.PostalCode = []byte("a!") }},
		{"card and bank", false, func(r *Request) { r.RoutingNumber, r.AccountNumber = []byte("110000000"), []byte("000123456789") }},
		{"bad routing", false, func(r *Request) {
			r.Number, r.Expiry, r.SecurityCode, r.PostalCode = nil, nil, nil, nil
			r.RoutingNumber, r.AccountNumber = []byte("110000001"), []byte("000123456789")
		}},
		{"bad account", false, func(r *Request) {
			r.Number, r.Expiry, r.SecurityCode, r.PostalCode = nil, nil, nil, nil
			r.RoutingNumber, r.AccountNumber = []byte("110000000"), []byte("12a")
		}},
	}
	s := newTestSandbox()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.mod(&r)
			var res Result
			var err error
			if tc.tokenize {
				res, err = s.Tokenize(context.Background(), r)
			} else {
				res, err = s.Charge(context.Background(), r)
			}
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("err = %v, want ErrBadRequest", err)
			}
			if res != (Result{}) {
				t.Errorf("result %+v with an error", res)
			}
			assertNoLeak(t, r, res, err)
		})
	}
	if s.Charges() != 0 || s.Tokenizations() != 0 {
		t.Errorf("bad requests counted: %d charges, %d tokenizations", s.Charges(), s.Tokenizations())
	}
}

func TestSandboxExpiredDate(t *testing.T) {
	s := newTestSandbox()
	for _, tc := range []struct {
		expiry string
		want   Outcome
	}{{"1026", Declined}, {"1126", Approved}, {"0125", Declined}, {"0127", Approved}} {
		r := cardRequest("exp-"+tc.expiry, 100, "4242424242424242")
		r.Expiry = []byte(tc.expiry)
		res, err := s.Charge(context.Background(), r)
		if err != nil || res.Outcome != tc.want {
			t.Errorf("expiry %s: %+v, %v; want %s", tc.expiry, res, err, tc.want)
		}
		if tc.want == Declined && res.Reason != "expired_card" {
			t.Errorf("expiry %s: reason %q", tc.expiry, res.Reason)
		}
	}
}

func TestSandboxIdempotency(t *testing.T) {
	s := newTestSandbox()
	ctx := context.Background()
	r := cardRequest("order-1", 1999, "4242424242424242")
	first, err := s.Charge(ctx, r)
	if err != nil || first.Outcome != Approved {
		t.Fatalf("first charge: %+v, %v", first, err)
	}
	again, err := s.Charge(ctx, r)
	if err != nil || again != first {
		t.Fatalf("replay: %+v, %v; want %+v", again, err, first)
	}
	if n := s.Charges(); n != 1 {
		t.Errorf("%d charges, want 1", n)
	}

	for name, mod := range map[string]func(*Request){
		"amount":   func(r *Request) { r.Amount = 2000 },
		"currency": func(r *Request) { r.Currency = "EUR" },
		"card":     func(r *Request) { r.Number = []byte("5555555555554444") },
	} {
		other := cardRequest("order-1", 1999, "4242424242424242")
		mod(&other)
		_, err := s.Charge(ctx, other)
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "idempotency key reused with different parameters") {
			t.Errorf("%s changed: err = %v", name, err)
		}
	}
	tok := cardRequest("order-1", 0, "4242424242424242")
	if _, err := s.Tokenize(ctx, tok); !errors.Is(err, ErrBadRequest) {
		t.Errorf("tokenize with a charge's key: %v", err)
	}

	// A declined charge is replayed too: no second attempt at the card.
	d := cardRequest("order-2", 500, "4000000000000002")
	d1, _ := s.Charge(ctx, d)
	d2, _ := s.Charge(ctx, d)
	if d1 != d2 || d1.Outcome != Declined || s.Charges() != 2 {
		t.Errorf("declined replay: %+v %+v, %d charges", d1, d2, s.Charges())
	}

	// Tokenize is idempotent too.
	t1, _ := s.Tokenize(ctx, cardRequest("tok-1", 0, "4242424242424242"))
	t2, _ := s.Tokenize(ctx, cardRequest("tok-1", 0, "4242424242424242"))
	if t1.Token == "" || t1 != t2 || s.Tokenizations() != 1 {
		t.Errorf("tokenize replay: %+v %+v, %d", t1, t2, s.Tokenizations())
	}
}

func TestSandboxIdempotencyConcurrent(t *testing.T) {
	s := newTestSandbox(WithLatency(30 * time.Millisecond))
	const n = 50
	results := make([]Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = s.Charge(context.Background(), cardRequest("same", 1999, "4242424242424242"))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("call %d: %+v, %v; want %+v", i, results[i], errs[i], results[0])
		}
	}
	if s.Charges() != 1 {
		t.Errorf("%d charges, want 1", s.Charges())
	}
}

func TestSandboxIdempotencyBounded(t *testing.T) {
	now := testNow
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newTestSandbox(WithClock(clock), WithIdempotency(3, time.Hour))
	ctx := context.Background()
	refs := map[string]string{}
	for _, k := range []string{"a", "b", "c", "d"} {
		res, err := s.Charge(ctx, cardRequest(k, 100, "4242424242424242"))
		if err != nil {
			t.Fatal(err)
		}
		refs[k] = res.Reference
	}
	if len(s.entries) != 3 {
		t.Errorf("%d keys kept, want 3", len(s.entries))
	}
	// "a" was evicted: a new charge. "d" is remembered.
	if res, _ := s.Charge(ctx, cardRequest("a", 100, "4242424242424242")); res.Reference == refs["a"] {
		t.Error("evicted key replayed")
	}
	if res, _ := s.Charge(ctx, cardRequest("d", 100, "4242424242424242")); res.Reference != refs["d"] {
		t.Error("recent key not replayed")
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if res, _ := s.Charge(ctx, cardRequest("d", 100, "4242424242424242")); res.Reference == refs["d"] {
		t.Error("expired key replayed")
	}
}

func TestSandboxContext(t *testing.T) {
	s := newTestSandbox(WithLatency(time.Minute))
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		res, err := s.Charge(ctx, cardRequest("ctx-1", 100, "4242424242424242"))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned after %v", d)
		}
		assertNoLeak(t, cardRequest("", 0, "4242424242424242"), res, err)
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(20*time.Millisecond, cancel)
		start := time.Now()
		_, err := s.Tokenize(ctx, cardRequest("", 0, "4242424242424242"))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned after %v", d)
		}
	})
	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Charge(ctx, cardRequest("ctx-2", 100, "4242424242424242")); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("sandbox timeout", func(t *testing.T) {
		s := newTestSandbox(WithLatency(time.Minute), WithTimeout(40*time.Millisecond))
		if _, err := s.Charge(context.Background(), cardRequest("ctx-3", 100, "4242424242424242")); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	if s.Charges() != 0 {
		t.Errorf("%d charges after timeouts", s.Charges())
	}
	// A retry with the same key after a timeout charges once.
	s2 := newTestSandbox(WithLatency(100 * time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	r := cardRequest("retry", 100, "4242424242424242")
	if _, err := s2.Charge(ctx, r); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	a, err := s2.Charge(context.Background(), r)
	b, _ := s2.Charge(context.Background(), r)
	if err != nil || a.Outcome != Approved || a != b || s2.Charges() != 1 {
		t.Errorf("retry: %+v %+v %v, %d charges", a, b, err, s2.Charges())
	}
}

func TestSandboxUnreachable(t *testing.T) {
	t.Run("card", func(t *testing.T) {
		s := newTestSandbox(WithTimeout(60 * time.Millisecond))
		r := cardRequest("down-1", 100, "4000000000000101")
		start := time.Now()
		res, err := s.Charge(context.Background(), r)
		if !errors.Is(err, ErrUnavailable) || res != (Result{}) {
			t.Fatalf("%+v, %v", res, err)
		}
		if d := time.Since(start); d < 50*time.Millisecond || d > time.Second {
			t.Errorf("failed after %v, want about the timeout", d)
		}
		if !strings.Contains(err.Error(), "did not answer in time") {
			t.Errorf("err %q does not say what happened", err)
		}
		assertNoLeak(t, r, res, err)
		if _, err := s.Tokenize(context.Background(), cardRequest("", 0, "4000000000000101")); !errors.Is(err, ErrUnavailable) {
			t.Errorf("tokenize: %v", err)
		}
	})
	t.Run("option", func(t *testing.T) {
		s := newTestSandbox(WithUnreachable(true), WithTimeout(30*time.Millisecond))
		r := cardRequest("down-2", 100, "4242424242424242")
		if _, err := s.Charge(context.Background(), r); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
		s.SetUnreachable(false)
		res, err := s.Charge(context.Background(), r)
		if err != nil || res.Outcome != Approved || s.Charges() != 1 {
			t.Fatalf("after the outage: %+v, %v", res, err)
		}
	})
}

func TestSandboxKeepsNoCardData(t *testing.T) {
	s := newTestSandbox()
	r := cardRequest("keep-1", 1999, "4242424242424242")
	res, err := s.Charge(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	want := res
	// The caller zeroes its buffers, as a session does when it ends.
	for _, b := range [][]byte{r.Number, r.Expiry, r.SecurityCode, r.PostalCode} {
		clear(b)
	}
	if res != want {
		t.Errorf("result changed when the inputs were zeroed: %+v", res)
	}
	// The key's remembered result is whole, and nothing in the sandbox
	// shares the zeroed memory.
	again, err := s.Charge(context.Background(), cardRequest("keep-1", 1999, "4242424242424242"))
	if err != nil || again != want {
		t.Errorf("replay after zeroing: %+v, %v; want %+v", again, err, want)
	}
	for k, e := range s.entries {
		for _, f := range []string{k, e.p.currency, e.p.description, e.res.Reference, e.res.Token, e.res.Reason} {
			if strings.Contains(f, "42424") {
				t.Errorf("sandbox holds digits in %q", f)
			}
		}
		if e.p.last4 != "4242" && e.p.last4 != "" {
			t.Errorf("sandbox holds %q", e.p.last4)
		}
	}
}

func TestBrand(t *testing.T) {
	for in, want := range map[string]string{
		"4111": "visa", "5105105105105100": "mastercard", "2221000000000009": "mastercard",
		"2720990000000007": "mastercard", "2220990000000000": "unknown", "2721000000000000": "unknown",
		"340000000000009": "amex", "371449635398431": "amex", "6011000990139424": "discover",
		"6500000000000000": "discover", "3056930009020004": "diners", "3530111333300000": "jcb", "": "unknown", "x": "unknown",
	} {
		if got := Brand([]byte(in)); got != want {
			t.Errorf("Brand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTimeout(t *testing.T) {
	ctx, cancel := Timeout(context.Background(), 0)
	defer cancel()
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > DefaultTimeout {
		t.Errorf("default deadline %v %v", d, ok)
	}
	parent, pcancel := context.WithTimeout(context.Background(), time.Second)
	defer pcancel()
	ctx2, cancel2 := Timeout(parent, time.Hour)
	defer cancel2()
	if d, _ := ctx2.Deadline(); time.Until(d) > time.Second {
		t.Errorf("earlier deadline not kept")
	}
	if ContextError(ctx2, "x") != nil {
		t.Error("live context gave an error")
	}
}

func FuzzSandboxCharge(f *testing.F) {
	f.Add("k", int64(100), "GBP", []byte("4242424242424242"), []byte("0829"), []byte("737"), []byte("SW1A1AA"), []byte(nil), []byte(nil))
	f.Add("", int64(0), "", []byte("4000000000000341"), []byte("1325"), []byte("1"), []byte(""), []byte(nil), []byte(nil))
	f.Add("b", int64(5), "USD", []byte(nil), []byte(nil), []byte(nil), []byte(nil), []byte("110000000"), []byte("000111111116"))
	f.Add("x", int64(-1), "usd", []byte("\x00\xff4242"), []byte("ab"), []byte("9999"), []byte("!!"), []byte("4242424242"), []byte("4242424242424242"))
	s := newTestSandbox(WithTimeout(5 * time.Millisecond))
	f.Fuzz(func(t *testing.T, key string, amount int64, currency string, number, expiry, cvc, postal, routing, account []byte) {
		r := Request{IdempotencyKey: key, Amount: amount, Currency: currency, Description: "fuzz",
			Number: number, Expiry: expiry, SecurityCode: cvc, PostalCode: postal, RoutingNumber: routing, AccountNumber: account}
		res, err := s.Charge(context.Background(), r)
		if err == nil && res.Outcome != Approved && res.Outcome != Declined {
			t.Fatalf("outcome %q without an error", res.Outcome)
		}
		if err != nil && !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrUnavailable) {
			t.Fatalf("unexpected error %v", err)
		}
		// Only the number checks: the expiry and code are short enough to
		// match words in error text by chance.
		assertNoLeak(t, Request{Number: number, RoutingNumber: routing, AccountNumber: account}, res, err)
		if res.Last4 != "" && res.Last4 != string(number[max(0, len(number)-4):]) && res.Last4 != string(account[max(0, len(account)-4):]) {
			t.Fatalf("Last4 %q", res.Last4)
		}
	})
}

var _ Connector = (*Sandbox)(nil)

func TestSandboxName(t *testing.T) {
	if n := NewSandbox().Name(); n != "sandbox" {
		t.Errorf("Name() = %q", n)
	}
}

// A caller waiting on the same key takes over when the first caller's
// context ends before an answer, and a waiter's own deadline still holds.
func TestSandboxIdempotencyWaiters(t *testing.T) {
	before := runtime.NumGoroutine()
	s := newTestSandbox(WithLatency(100 * time.Millisecond))
	r := cardRequest("handover", 100, "4242424242424242")

	leaderCtx, cancelLeader := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelLeader()
	var leaderErr error
	var wg sync.WaitGroup
	wg.Go(func() { _, leaderErr = s.Charge(leaderCtx, r) })
	time.Sleep(5 * time.Millisecond) // the leader claims the key first

	shortCtx, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	var shortErr error
	wg.Go(func() { _, shortErr = s.Charge(shortCtx, r) })

	res, err := s.Charge(context.Background(), r)
	wg.Wait()
	if !errors.Is(leaderErr, ErrUnavailable) || !errors.Is(shortErr, ErrUnavailable) {
		t.Errorf("leader %v, short waiter %v; want ErrUnavailable", leaderErr, shortErr)
	}
	if err != nil || res.Outcome != Approved || s.Charges() != 1 {
		t.Errorf("waiter: %+v, %v, %d charges", res, err, s.Charges())
	}
	// The sandbox starts no goroutines: none are left behind.
	deadline := time.Now().Add(time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left, %d before", n, before)
	}
}
