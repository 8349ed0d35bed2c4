package pay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/payment/session"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

// onCalls says which call each agent is on, as the Router would.
type onCalls map[string]string

func (o onCalls) Agent(id string) (route.AgentInfo, bool) {
	c, ok := o[id]
	return route.AgentInfo{ID: id, State: route.StateBusy, Call: c}, ok
}

type harness struct {
	m     *Manager
	st    *store.Store
	clock *testkit.Clock
	log   testkit.SyncBuffer

	mu     sync.Mutex
	sent   []Status
	tones  []Tone
	notify bytes.Buffer // every Status as JSON, as the hub would send it
}

func newHarness(t *testing.T, gw gateway.Connector) *harness {
	t.Helper()
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return newHarnessOn(t, gw, st)
}

// newHarnessOn is newHarness on an open store.
func newHarnessOn(t *testing.T, gw gateway.Connector, st *store.Store) *harness {
	t.Helper()
	h := &harness{clock: testkit.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)), st: st}
	if gw == nil {
		gw = gateway.NewSandbox(gateway.WithLatency(0), gateway.WithClock(h.clock.Now))
	}
	m, err := New(context.Background(), Params{Gateway: gw, Audit: st, Calls: onCalls{"ann": "call-1", "bob": "call-2"}, Now: h.clock.Now,
		Tick:           time.Hour, // the tests tick by hand
		GatewayTimeout: 300 * time.Millisecond,
		// No timestamps: a millisecond of .737 would be found by
		// noCardData's search for a security code of 737.
		Logger: slog.New(slog.NewJSONHandler(&h.log, &slog.HandlerOptions{Level: slog.LevelDebug,
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}})),
		Prompt: func(call string, tn Tone) {
			h.mu.Lock()
			h.tones = append(h.tones, tn)
			h.mu.Unlock()
		},
		Notify: func(s Status) {
			b, _ := json.Marshal(s)
			h.mu.Lock()
			h.sent = append(h.sent, s)
			h.notify.Write(b)
			h.notify.WriteByte('\n')
			h.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	h.m = m
	return h
}

func (h *harness) keys(call, digits string) {
	for i := range len(digits) {
		h.m.Key(call, dtmf.Event{Digit: digits[i], Phase: dtmf.KeyDown})
		h.m.Key(call, dtmf.Event{Digit: digits[i], Phase: dtmf.KeyUp})
		h.clock.Add(200 * time.Millisecond)
	}
}

func (h *harness) last() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sent[len(h.sent)-1]
}

// noCardData fails if anything the manager sent or logged holds the card
// data.
func (h *harness) noCardData(t *testing.T, secrets ...string) {
	t.Helper()
	h.mu.Lock()
	out := h.notify.String() + h.log.String()
	h.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 7 {
			for i := 0; i+7 <= len(s); i++ {
				if strings.Contains(out, s[i:i+7]) {
					t.Fatalf("%q of the card number was sent or logged", s[i:i+7])
				}
			}
			continue
		}
		if at := testkit.FindShort([]byte(out), s); at != nil {
			t.Fatalf("%q was sent or logged: %q", s, out[max(0, at[0]-40):min(len(out), at[1]+40)])
		}
	}
}

var cardReq = Request{Amount: 1250, Currency: "gbp", Description: "order 42"}

func TestPaymentApproved(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	st, err := h.m.Start(ctx, "ann", "call-1", cardReq)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != protocol.PayCapturing || st.Current != protocol.FieldCardNumber || st.Currency != "GBP" || st.Gateway != "sandbox" || len(st.Fields) != 3 {
		t.Fatalf("started: %+v", st)
	}
	h.keys("call-2", "4242") // another call's keys: not this session's
	h.keys("call-1", "4242424242424242#")
	if s := h.last(); s.Current != protocol.FieldExpiryDate || s.Brand != "visa" || s.Last4 != "4242" || s.Fields[0].Digits != 16 {
		t.Fatalf("after the number: %+v", s)
	}
	if _, err := h.m.Submit(ctx, "ann", st.ID); !errors.Is(err, ErrNotReady) {
		t.Fatalf("submit before ready: %v", err)
	}
	h.keys("call-1", "0931737")
	if s := h.last(); s.State != protocol.PayReady {
		t.Fatalf("after every field: %+v", s)
	}
	if _, err := h.m.Submit(ctx, "bob", st.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("another agent's submit: %v", err)
	}
	res, err := h.m.Submit(ctx, "ann", st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != protocol.PayApproved || res.Result == nil || res.Result.Reference == "" || res.Ended == nil {
		t.Fatalf("submitted: %+v", res)
	}
	h.mu.Lock()
	tones := append([]Tone(nil), h.tones...)
	h.mu.Unlock()
	if want := []Tone{ToneAccepted, ToneAccepted, ToneAccepted, ToneAccepted}; !equal(tones, want) {
		t.Errorf("tones %v, want %v (three fields and the payment)", tones, want)
	}
	a, err := h.st.PaymentByID(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Outcome != "approved" || a.Last4 != "4242" || a.Brand != "visa" || a.Reference != res.Result.Reference || a.Amount != 1250 || a.Agent != "ann" || a.CallID != "call-1" {
		t.Errorf("audit: %+v", a)
	}
	// Over: later requests say so, and the status comes from the audit.
	if _, err := h.m.Cancel(ctx, "ann", st.ID); !errors.Is(err, ErrNoSession) {
		t.Errorf("cancel after the end: %v", err)
	}
	got, err := h.m.Status(ctx, "sue", 0, true, st.ID)
	if err != nil || got.State != protocol.PayApproved || got.Result.Reference != res.Result.Reference || got.Last4 != "4242" || got.Seq != AuditSeq {
		t.Errorf("status from the audit: %+v %v", got, err)
	}
	if _, err := h.m.Status(ctx, "bob", 2, false, st.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("another agent's status: %v", err)
	}
	// A new session may start on the call now.
	if _, err := h.m.Start(ctx, "ann", "call-1", cardReq); err != nil {
		t.Errorf("a second session after the first: %v", err)
	}
	h.noCardData(t, "4242424242424242", "0931", "737")
}

func equal(a, b []Tone) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPaymentStartRefused(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		agent string
		call  string
		r     Request
		want  error
	}{
		{"not on the call", "ann", "call-2", cardReq, ErrNotYourCall},
		{"no call", "zed", "call-1", cardReq, ErrNotYourCall},
		{"negative amount", "ann", "call-1", Request{Amount: -1, Currency: "GBP"}, ErrBadRequest},
		{"currency", "ann", "call-1", Request{Amount: 1, Currency: "pounds"}, ErrBadRequest},
		{"digits in the description", "ann", "call-1", Request{Amount: 1, Currency: "GBP", Description: "card 4242424242424242"}, ErrBadRequest},
		{"unknown brand", "ann", "call-1", Request{Amount: 1, Currency: "GBP", Brands: []protocol.Brand{"acme"}}, ErrBadRequest},
		{"bank field in a card payment", "ann", "call-1", Request{Amount: 1, Currency: "GBP", Fields: []protocol.Field{protocol.FieldCardNumber, protocol.FieldRoutingNumber}}, ErrBadRequest},
		{"charge without expiry", "ann", "call-1", Request{Amount: 1, Currency: "GBP", Fields: []protocol.Field{protocol.FieldCardNumber}}, ErrBadRequest},
		{"no card number", "ann", "call-1", Request{Amount: 0, Currency: "GBP", Fields: []protocol.Field{protocol.FieldExpiryDate}}, ErrBadRequest},
		{"unknown field", "ann", "call-1", Request{Amount: 1, Currency: "GBP", Fields: []protocol.Field{protocol.FieldCardNumber, protocol.FieldExpiryDate, "pin"}}, ErrBadRequest},
		{"attempts", "ann", "call-1", Request{Amount: 1, Currency: "GBP", Attempts: 10}, ErrBadRequest},
		{"idempotency key", "ann", "call-1", Request{Amount: 1, Currency: "GBP", IdempotencyKey: "a b"}, ErrBadRequest},
	} {
		if _, err := h.m.Start(ctx, c.agent, c.call, c.r); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		} else if strings.Contains(err.Error(), "4242424") {
			t.Errorf("%s: the error repeats the digits: %v", c.name, err)
		}
	}
	if _, err := h.m.Start(ctx, "ann", "call-1", cardReq); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Start(ctx, "ann", "call-1", cardReq); !errors.Is(err, ErrActive) {
		t.Errorf("a second session at once: %v", err)
	}
	if ps, _ := h.st.ListPayments(ctx, "", 0); len(ps) != 1 {
		t.Errorf("%d audit rows, want the one started", len(ps))
	}
}

func TestPaymentRejectedFieldAndAgentRequests(t *testing.T) {
	h := newHarness(t, nil)
	ctx := context.Background()
	st, err := h.m.Start(ctx, "ann", "call-1", Request{Amount: 0, Currency: "EUR", Attempts: 2, Brands: []protocol.Brand{"visa"}})
	if err != nil {
		t.Fatal(err)
	}
	h.keys("call-1", "4242424242424241#") // the Luhn check fails
	s := h.last()
	if f := s.Fields[0]; f.State != protocol.FieldInvalid || f.Reason != "invalid-card-number" || f.AttemptsLeft != 1 || f.Digits != 0 || s.Last4 != "" {
		t.Fatalf("after a wrong number: %+v", s)
	}
	h.keys("call-1", "5555555555554444#") // not an accepted brand
	if f := h.last().Fields[0]; f.Reason != "invalid-card-type" || f.AttemptsLeft != 0 {
		t.Fatalf("after a refused brand: %+v", f)
	}
	h.keys("call-1", "4242") // no attempts left: ignored
	if f := h.last().Fields[0]; f.Digits != 0 {
		t.Fatalf("keys after the attempts ran out: %+v", f)
	}
	if _, err := h.m.Ask("ann", st.ID, session.CardNumber); err != nil {
		t.Fatal(err)
	}
	h.keys("call-1", "4242424242424242#0931")
	if _, err := h.m.Reset("ann", st.ID, session.ExpiryDate); err != nil {
		t.Fatal(err)
	}
	if s := h.last(); s.Current != protocol.FieldExpiryDate || s.Fields[1].State != protocol.FieldCapturing {
		t.Fatalf("after resetting the expiry: %+v", s)
	}
	if _, err := h.m.Reset("ann", st.ID, session.PostalCode); !errors.Is(err, ErrBadRequest) {
		t.Errorf("reset of a field not asked for: %v", err)
	}
	h.keys("call-1", "0931737")
	res, err := h.m.Submit(ctx, "ann", st.ID)
	if err != nil || res.State != protocol.PayApproved || res.Result.Token == "" {
		t.Fatalf("tokenize: %+v %v", res, err)
	}
	h.mu.Lock()
	tones := append([]Tone(nil), h.tones...)
	h.mu.Unlock()
	if len(tones) < 3 || tones[0] != ToneRejected || tones[1] != ToneRejected {
		t.Errorf("tones %v: want two error tones first", tones)
	}
	h.noCardData(t, "4242424242424242", "4242424242424241", "5555555555554444", "0931", "737")
}

func TestPaymentGatewayDown(t *testing.T) {
	sb := gateway.NewSandbox(gateway.WithLatency(0), gateway.WithUnreachable(true))
	h := newHarness(t, sb)
	ctx := context.Background()
	st, err := h.m.Start(ctx, "ann", "call-1", cardReq)
	if err != nil {
		t.Fatal(err)
	}
	h.keys("call-1", "4242424242424242#0931737")
	res, err := h.m.Submit(ctx, "ann", st.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != protocol.PayFailed || res.Result == nil || res.Result.Outcome != protocol.OutcomeFailed || !strings.Contains(res.Result.Reason, "same idempotency key") {
		t.Fatalf("gateway down: %+v", res)
	}
	// The agent may submit again: the card is still held.
	res, err = h.m.Submit(ctx, "ann", st.ID)
	if err != nil || res.State != protocol.PayFailed {
		t.Fatalf("again: %+v %v", res, err)
	}
	res, err = h.m.Cancel(ctx, "ann", st.ID)
	if err != nil || res.State != protocol.PayCancelled {
		t.Fatalf("cancel: %+v %v", res, err)
	}
	a, err := h.st.PaymentByID(ctx, st.ID)
	if err != nil || a.Outcome != "failed" || a.Reason == "" {
		t.Errorf("audit after a failed submit and a cancel: %+v %v", a, err)
	}
	h.noCardData(t, "4242424242424242", "0931", "737")
}

func TestPaymentEnds(t *testing.T) {
	t.Run("call ended", func(t *testing.T) {
		h := newHarness(t, nil)
		ctx := context.Background()
		st, _ := h.m.Start(ctx, "ann", "call-1", cardReq)
		h.keys("call-1", "42424242")
		h.m.RouteEvent(route.CallEnded{Call: "call-1", Agent: "ann", Reason: "caller_hangup"})
		if s := h.last(); s.State != protocol.PayDropped || s.Ended == nil {
			t.Fatalf("%+v", s)
		}
		if a, _ := h.st.PaymentByID(ctx, st.ID); a.Outcome != store.PaymentDropped {
			t.Errorf("audit %+v", a)
		}
		h.keys("call-1", "4242") // nothing listens any more
		h.noCardData(t, "42424242")
	})
	t.Run("field timeout, then idle", func(t *testing.T) {
		h := newHarness(t, nil)
		ctx := context.Background()
		st, _ := h.m.Start(ctx, "ann", "call-1", Request{Amount: 100, Currency: "USD", FieldTimeout: 5, Attempts: 1})
		h.clock.Add(6 * time.Second)
		h.m.tick(ctx, h.m.byID[st.ID], h.clock.Now())
		if f := h.last().Fields[0]; f.State != protocol.FieldInvalid || f.Reason != protocol.ReasonFieldTimeout || f.AttemptsLeft != 0 {
			t.Fatalf("after the field timeout: %+v", f)
		}
		h.clock.Add(DefaultIdleLimit)
		h.m.tick(ctx, h.m.byID[st.ID], h.clock.Now())
		if s := h.last(); s.State != protocol.PayTimedOut {
			t.Fatalf("after the idle limit: %+v", s)
		}
		if a, _ := h.st.PaymentByID(ctx, st.ID); a.Outcome != store.PaymentTimedOut {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("left by a crash", func(t *testing.T) {
		h := newHarness(t, nil)
		ctx := context.Background()
		st, _ := h.m.Start(ctx, "ann", "call-1", cardReq)
		// A second manager on the same audit: the first one's process is
		// gone as far as the audit can tell.
		m2, err := New(ctx, Params{Gateway: gateway.NewSandbox(), Audit: h.st, Calls: onCalls{}})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = m2.Close() }()
		if a, _ := h.st.PaymentByID(ctx, st.ID); a.Outcome != store.PaymentDropped || a.Reason != "server_restarted" {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("server shutdown", func(t *testing.T) {
		h := newHarness(t, nil)
		ctx := context.Background()
		st, _ := h.m.Start(ctx, "ann", "call-1", cardReq)
		_ = h.m.Close()
		if a, _ := h.st.PaymentByID(ctx, st.ID); a.Outcome != store.PaymentDropped || a.Reason != "server_shutdown" {
			t.Errorf("audit %+v", a)
		}
		if _, err := h.m.Start(ctx, "ann", "call-1", cardReq); !errors.Is(err, ErrClosed) {
			t.Errorf("start after close: %v", err)
		}
	})
}

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		id, err := newID()
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] || !regexp.MustCompile(`^pay_[0-9a-f]{24}$`).MatchString(id) || regexp.MustCompile(`[0-9]{6}`).MatchString(id) {
			t.Fatalf("id %q", id)
		}
		seen[id] = true
	}
}

func TestTones(t *testing.T) {
	for _, tn := range []Tone{ToneAccepted, ToneRejected} {
		pcm := tn.PCM()
		if len(pcm) == 0 || len(pcm)%160 != 0 || len(pcm) > 8000 {
			t.Errorf("%s: %d samples", tn, len(pcm))
		}
		peak := 0
		for _, v := range pcm {
			peak = max(peak, int(v), -int(v))
		}
		if peak < 3000 || peak > tonePeak {
			t.Errorf("%s: peak %d", tn, peak)
		}
	}
	if Tone("x").PCM() != nil {
		t.Error("an unknown tone has samples")
	}
}
