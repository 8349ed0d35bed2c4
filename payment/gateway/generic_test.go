package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	genericSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")
	otherSecret   = []byte("ffffffffffffffffffffffffffffffff-other-secret")
)

const genericCard = "4242424242424242"

// fakeProcessor is a processor speaking the generic protocol on a loopback
// TLS server. It checks each request's signature with its own HMAC code,
// keeps every body it received, and replays the answer it stored for an
// idempotency key. mode makes it misbehave.
type fakeProcessor struct {
	t    *testing.T
	srv  *httptest.Server
	mode string

	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	bad     []string          // request problems seen
	stored  map[string][]byte // idempotency key -> answer body
	charged int
}

func newFakeProcessor(t *testing.T, mode string) *fakeProcessor {
	t.Helper()
	p := &fakeProcessor{t: t, mode: mode, stored: map[string][]byte{}}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate test's handshake errors
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	return p
}

func hexMAC(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func (p *fakeProcessor) problem(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bad = append(p.bad, s)
}

func (p *fakeProcessor) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		p.problem("read: " + err.Error())
		return
	}
	ts := r.Header.Get("X-Hushphone-Timestamp")
	switch {
	case r.Method != http.MethodPost:
		p.problem("method " + r.Method)
	case r.Header.Get("Content-Type") != "application/json":
		p.problem("content type " + r.Header.Get("Content-Type"))
	case !hmac.Equal([]byte(r.Header.Get("X-Hushphone-Signature")), []byte(hexMAC(genericSecret, ts, body))):
		p.problem("request signature does not verify")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if t, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(t, 0)).Abs() > time.Minute {
		p.problem("request timestamp " + ts)
	}
	var req struct {
		Type           string `json:"type"`
		IdempotencyKey string `json:"idempotency_key"`
		Timestamp      int64  `json:"timestamp"`
		Card           *struct {
			Number string `json:"number"`
		} `json:"card"`
		Bank *struct {
			AccountNumber string `json:"account_number"`
		} `json:"bank"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		p.problem("request body is not JSON: " + err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if strconv.FormatInt(req.Timestamp, 10) != ts || req.IdempotencyKey != r.Header.Get("Idempotency-Key") {
		p.problem("body timestamp or key differs from the headers")
	}
	p.mu.Lock()
	p.bodies = append(p.bodies, body)
	p.headers = append(p.headers, r.Header.Clone())
	p.mu.Unlock()

	number := ""
	if req.Card != nil {
		number = req.Card.Number
	} else if req.Bank != nil {
		number = req.Bank.AccountNumber
	}
	now := time.Now()
	signWith, signAt := genericSecret, now
	var answer []byte
	switch p.mode {
	case "503":
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	case "422":
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = fmt.Fprintf(w, `{"error":"card %s (or %s) refused: security code 737 and expiry 0829 do not match"}`, number, spaced(number))
		return
	case "400-html":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, "<html>bad</html>")
		return
	case "401":
		w.WriteHeader(http.StatusUnauthorized)
		return
	case "redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
		return
	case "slow":
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		return
	case "huge":
		answer = []byte(`{"outcome":"approved","reference":"ref_huge","pad":"` + strings.Repeat("x", 70<<10) + `"}`)
	case "badsig":
		signWith = otherSecret
	case "stale":
		signAt = now.Add(-10 * time.Minute)
	case "future":
		signAt = now.Add(10 * time.Minute)
	case "unsigned":
		answer = []byte(`{"outcome":"approved","reference":"ref_unsigned"}`)
		w.Header().Set("X-Hushphone-Timestamp", strconv.FormatInt(now.Unix(), 10))
		_, _ = w.Write(answer)
		return
	case "pending":
		answer = []byte(`{"outcome":"pending","reference":"ref_pending"}`)
	case "last4":
		answer = []byte(`{"outcome":"approved","reference":"ref_l4","last4":"42x2"}`)
	case "echo":
		answer = []byte(`{"outcome":"approved","reference":"ref_` + number + `"}`)
	case "echo-reason":
		answer = []byte(`{"outcome":"declined","reason":"do_not_honor for ` + number + `"}`)
	case "otherkey":
		answer = []byte(`{"outcome":"approved","reference":"ref_x","idempotency_key":"someone-else"}`)
	}
	if answer == nil {
		p.mu.Lock()
		if a, ok := p.stored[req.IdempotencyKey]; ok && req.IdempotencyKey != "" {
			answer = a
		} else {
			p.charged++
			ref := fmt.Sprintf("ref_%s_%d", req.Type, p.charged)
			a := map[string]string{"outcome": "approved", "reference": ref, "idempotency_key": req.IdempotencyKey}
			if len(number) >= 4 {
				a["last4"] = number[len(number)-4:]
			}
			if req.Type == "tokenize" {
				a["token"] = "tok_" + ref
			}
			if number == "4000000000000002" {
				a = map[string]string{"outcome": "declined", "reason": "card_declined", "reference": ref}
			}
			answer, _ = json.Marshal(a)
			p.stored[req.IdempotencyKey] = answer
		}
		p.mu.Unlock()
	}
	ats := strconv.FormatInt(signAt.Unix(), 10)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Hushphone-Timestamp", ats)
	w.Header().Set("X-Hushphone-Signature", hexMAC(signWith, ats, answer))
	_, _ = w.Write(answer)
}

func spaced(n string) string {
	var b strings.Builder
	for i := range len(n) {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteByte(n[i])
	}
	return b.String()
}

func (p *fakeProcessor) connector(t *testing.T, timeout time.Duration) *Generic {
	t.Helper()
	g, err := NewGeneric(GenericConfig{
		Name:    "fake",
		URL:     p.srv.URL + "/pay",
		Secret:  genericSecret,
		KeyID:   "key-2026",
		Timeout: timeout,
		Client:  p.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (p *fakeProcessor) received() ([][]byte, []http.Header, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bodies, p.headers, p.bad
}

func genericRequest(key string, amount int64, number string) Request {
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

func TestGeneric(t *testing.T) {
	before := runtime.NumGoroutine()
	bank := Request{IdempotencyKey: "bank-1", Amount: 500, Currency: "USD",
		RoutingNumber: []byte("110000000"), AccountNumber: []byte("000123456789")}
	tests := []struct {
		name       string
		mode       string
		tokenize   bool
		req        Request
		timeout    time.Duration
		want       Outcome
		wantReason string
		wantErr    error
		errHas     string
		noRequest  bool // the connector refuses before sending
	}{
		{name: "approved charge", req: genericRequest("k-ok", 1999, genericCard), want: Approved},
		{name: "tokenize", tokenize: true, req: genericRequest("k-tok", 0, genericCard), want: Approved},
		{name: "declined", req: genericRequest("k-dec", 1999, "4000000000000002"), want: Declined, wantReason: "card_declined"},
		{name: "bank account", req: bank, want: Approved},
		{name: "bad signature", mode: "badsig", req: genericRequest("k-sig", 100, genericCard), wantErr: ErrUnavailable, errHas: "response signature invalid (signature does not match)"},
		{name: "unsigned", mode: "unsigned", req: genericRequest("k-uns", 100, genericCard), wantErr: ErrUnavailable, errHas: "response signature invalid"},
		{name: "stale timestamp", mode: "stale", req: genericRequest("k-stale", 100, genericCard), wantErr: ErrUnavailable, errHas: "more than 5 minutes off"},
		{name: "future timestamp", mode: "future", req: genericRequest("k-fut", 100, genericCard), wantErr: ErrUnavailable, errHas: "more than 5 minutes off"},
		{name: "422", mode: "422", req: genericRequest("k-422", 100, genericCard), wantErr: ErrBadRequest, errHas: "do not match"},
		{name: "400 not JSON", mode: "400-html", req: genericRequest("k-400", 100, genericCard), wantErr: ErrBadRequest, errHas: "no reason given"},
		{name: "401", mode: "401", req: genericRequest("k-401", 100, genericCard), wantErr: ErrBadRequest, errHas: "secret and key id"},
		{name: "503", mode: "503", req: genericRequest("k-503", 100, genericCard), wantErr: ErrUnavailable, errHas: "HTTP 503"},
		{name: "redirect not followed", mode: "redirect", req: genericRequest("k-307", 100, genericCard), wantErr: ErrUnavailable, errHas: "HTTP 307"},
		{name: "slow past the timeout", mode: "slow", timeout: 300 * time.Millisecond, req: genericRequest("k-slow", 100, genericCard), wantErr: context.DeadlineExceeded, errHas: "did not answer in time"},
		{name: "oversized answer", mode: "huge", req: genericRequest("k-huge", 100, genericCard), wantErr: ErrUnavailable, errHas: "more than 64 KiB"},
		{name: "unknown outcome", mode: "pending", req: genericRequest("k-pend", 100, genericCard), wantErr: ErrUnavailable, errHas: "neither"},
		{name: "bad last4", mode: "last4", req: genericRequest("k-l4", 100, genericCard), wantErr: ErrUnavailable, errHas: "last4"},
		{name: "reference quotes the number", mode: "echo", req: genericRequest("k-echo", 100, genericCard), wantErr: ErrUnavailable, errHas: "quotes the card"},
		{name: "reason quotes the number", mode: "echo-reason", req: genericRequest("k-echo2", 100, genericCard), want: Declined, wantReason: "do_not_honor for [redacted]"},
		{name: "answer for another key", mode: "otherkey", req: genericRequest("k-other", 100, genericCard), wantErr: ErrUnavailable, errHas: "another idempotency key"},
		{name: "charge without key", req: genericRequest("", 100, genericCard), wantErr: ErrBadRequest, noRequest: true},
		{name: "key with a newline", req: genericRequest("a\nb", 100, genericCard), wantErr: ErrBadRequest, errHas: "printable ASCII", noRequest: true},
		{name: "short number", req: genericRequest("k-short", 100, "4242"), wantErr: ErrBadRequest, noRequest: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newFakeProcessor(t, tc.mode)
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			g := p.connector(t, timeout)
			start := time.Now()
			var res Result
			var err error
			if tc.tokenize {
				res, err = g.Tokenize(context.Background(), tc.req)
			} else {
				res, err = g.Charge(context.Background(), tc.req)
			}
			elapsed := time.Since(start)

			// Never any digits of the number in what comes back.
			number := string(tc.req.Number) + string(tc.req.AccountNumber)
			if len(number) >= 7 {
				if err != nil && strings.Contains(err.Error(), number) {
					t.Errorf("error shows the number: %v", err)
				}
				if strings.Contains(fmt.Sprintf("%+v", res), number) {
					t.Errorf("result shows the number: %+v", res)
				}
			}
			assertNoLeak(t, tc.req, res, err)

			bodies, headers, bad := p.received()
			if len(bad) > 0 {
				t.Errorf("the processor saw bad requests: %q", bad)
			}
			if tc.noRequest != (len(bodies) == 0) {
				t.Errorf("%d requests reached the processor", len(bodies))
			}
			for i, b := range bodies {
				if !bytes.Contains(b, tc.req.Number) || !bytes.Contains(b, tc.req.AccountNumber) {
					t.Errorf("the processor did not get the digits: %s", b)
				}
				if headers[i].Get("X-Hushphone-Key-Id") != "key-2026" {
					t.Errorf("key id header %q", headers[i].Get("X-Hushphone-Key-Id"))
				}
			}

			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrUnavailable) {
					t.Errorf("a timeout is not ErrUnavailable: %v", err)
				}
				if !strings.Contains(err.Error(), tc.errHas) {
					t.Errorf("err = %q, want it to say %q", err, tc.errHas)
				}
				if res != (Result{}) {
					t.Errorf("result %+v with an error", res)
				}
				if elapsed > timeout+time.Second {
					t.Errorf("took %v, timeout %v", elapsed, timeout)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Outcome != tc.want || res.Reason != tc.wantReason {
				t.Errorf("got %+v, want %s %q", res, tc.want, tc.wantReason)
			}
			if !strings.HasPrefix(res.Reference, "ref_") && tc.mode == "" {
				t.Errorf("reference %q", res.Reference)
			}
			if tc.tokenize != (res.Token != "") {
				t.Errorf("token %q", res.Token)
			}
			if res.Outcome == Approved && res.Last4 != number[len(number)-4:] {
				t.Errorf("last4 %q", res.Last4)
			}
		})
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left, %d before", n, before)
	}
}

// The body is the documented JSON, signed over the timestamp header, and
// the connector's buffer is zero once the call returns.
func TestGenericRequestBody(t *testing.T) {
	p := newFakeProcessor(t, "")
	g := p.connector(t, 5*time.Second)
	var wiped []byte
	g.afterWipe = func(b []byte) { wiped = bytes.Clone(b) }
	r := genericRequest("key-\"1\"", 1999, genericCard)
	r.Description = "tab\t \"quote\" back\\slash <b> é \x01 \xff \u2028"
	if _, err := g.Charge(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	bodies, headers, _ := p.received()
	if len(bodies) != 1 {
		t.Fatalf("%d requests", len(bodies))
	}
	if len(wiped) == 0 || bytes.Count(wiped, []byte{0}) != len(wiped) {
		t.Errorf("request buffer not zeroed: %q", wiped)
	}
	var got struct {
		Type           string `json:"type"`
		IdempotencyKey string `json:"idempotency_key"`
		Amount         int64  `json:"amount"`
		Currency       string `json:"currency"`
		Description    string `json:"description"`
		Card           struct {
			Number       string `json:"number"`
			ExpiryMonth  string `json:"expiry_month"`
			ExpiryYear   string `json:"expiry_year"`
			SecurityCode string `json:"security_code"`
			PostalCode   string `json:"postal_code"`
		} `json:"card"`
		Timestamp int64 `json:"timestamp"`
	}
	dec := json.NewDecoder(bytes.NewReader(bodies[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v: %s", err, bodies[0])
	}
	c := got.Card
	if got.Type != "charge" || got.IdempotencyKey != r.IdempotencyKey || got.Amount != 1999 || got.Currency != "GBP" ||
		got.Description != perByteValid(r.Description) ||
		c.Number != genericCard || c.ExpiryMonth != "08" || c.ExpiryYear != "2029" || c.SecurityCode != "737" || c.PostalCode != "SW1A 1AA" {
		t.Errorf("body decoded as %+v", got)
	}
	h := headers[0]
	if h.Get("Idempotency-Key") != r.IdempotencyKey || h.Get("X-Hushphone-Timestamp") != strconv.FormatInt(got.Timestamp, 10) {
		t.Errorf("headers %v", h)
	}
	if time.Since(time.Unix(got.Timestamp, 0)).Abs() > time.Minute {
		t.Errorf("timestamp %d", got.Timestamp)
	}
}

// The same key twice: the processor sees the key both times and answers
// the first answer again; one charge.
func TestGenericIdempotency(t *testing.T) {
	p := newFakeProcessor(t, "")
	g := p.connector(t, 5*time.Second)
	r := genericRequest("same-key", 1999, genericCard)
	first, err := g.Charge(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	second, err := g.Charge(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if first != second || first.Reference == "" {
		t.Errorf("first %+v, second %+v", first, second)
	}
	_, headers, _ := p.received()
	if len(headers) != 2 || headers[0].Get("Idempotency-Key") != "same-key" || headers[1].Get("Idempotency-Key") != "same-key" {
		t.Errorf("keys seen: %d requests", len(headers))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.charged != 1 {
		t.Errorf("%d charges", p.charged)
	}
}

func TestGenericNetwork(t *testing.T) {
	// A server that is gone: connection refused.
	p := newFakeProcessor(t, "")
	g := p.connector(t, 2*time.Second)
	p.srv.Close()
	r := genericRequest("k-net", 100, genericCard)
	_, err := g.Charge(context.Background(), r)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "could not be reached") {
		t.Errorf("closed server: %v", err)
	}
	assertNoLeak(t, r, Result{}, err)

	// A server whose certificate the client does not trust.
	q := newFakeProcessor(t, "")
	g2, err := NewGeneric(GenericConfig{URL: q.srv.URL, Secret: genericSecret, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g2.Charge(context.Background(), r)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "certificate is not trusted") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if bodies, _, _ := q.received(); len(bodies) != 0 {
		t.Errorf("the card went to an untrusted server")
	}

	// A cancelled context.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g2.Charge(ctx, r); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestGenericConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  GenericConfig
		has  string
	}{
		{"no URL", GenericConfig{Secret: genericSecret}, "needs the processor's URL"},
		{"http URL", GenericConfig{URL: "http://127.0.0.1:8080/pay", Secret: genericSecret}, "https://"},
		{"relative URL", GenericConfig{URL: "/pay", Secret: genericSecret}, "https://"},
		{"no host", GenericConfig{URL: "https:///pay", Secret: genericSecret}, "no host"},
		{"credentials in URL", GenericConfig{URL: "https://u:p@pay.example/", Secret: genericSecret}, "user name or password"},
		{"bad URL", GenericConfig{URL: "https://pay.example/%zz", Secret: genericSecret}, "does not parse"},
		{"short secret", GenericConfig{URL: "https://pay.example/", Secret: []byte("too short")}, "at least 32"},
		{"no secret", GenericConfig{URL: "https://pay.example/"}, "at least 32"},
		{"key id with space", GenericConfig{URL: "https://pay.example/", Secret: genericSecret, KeyID: "a b"}, "key id"},
		{"bad name", GenericConfig{URL: "https://pay.example/", Secret: genericSecret, Name: "a\nb"}, "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGeneric(tc.cfg)
			if g != nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.has) {
				t.Errorf("NewGeneric = %v, %v; want ErrConfig saying %q", g, err, tc.has)
			}
		})
	}
	secret := bytes.Clone(genericSecret)
	g, err := NewGeneric(GenericConfig{URL: "https://pay.example/v1/hushphone", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	clear(secret)
	if g.Name() != "generic" || !bytes.Equal(g.secret, genericSecret) || g.timeout != DefaultTimeout {
		t.Errorf("connector %q, secret copied %v, timeout %v", g.Name(), bytes.Equal(g.secret, genericSecret), g.timeout)
	}
}

func TestGenericText(t *testing.T) {
	r := genericRequest("k", 1, genericCard)
	for in, want := range map[string]string{
		"insufficient_funds":                   "insufficient_funds",
		"card 4242424242424242 refused":        "card [redacted] refused",
		"card 4242 4242 4242 4242 refused":     "card [redacted] refused",
		"card 4242-4242-4242-4242.":            "card [redacted].",
		"cvc 737, expiry 0829, amount 1999":    "cvc [redacted], expiry [redacted], amount 1999",
		"phone 555 1234 567":                   "phone [redacted]",
		"line\nbreak\x00":                      "line break",
		"bad \xff utf8":                        "bad \uFFFD utf8",
		strings.Repeat("é", 150):               strings.Repeat("é", 100),
		"code 123456 is six digits, 1 2 3 4 5": "code 123456 is six digits, 1 2 3 4 5",
	} {
		if got := genericText(in, r); got != want {
			t.Errorf("genericText(%q) = %q, want %q", in, got, want)
		}
	}
}

var _ Connector = (*Generic)(nil)

// FuzzGenericResponse feeds the answer parser anything: it must not panic,
// must return a Result or one of the sentinels, and must not show the
// card number. Half the inputs are signed correctly, to reach the JSON.
func FuzzGenericResponse(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	f.Add(200, ts, "", []byte(`{"outcome":"approved","reference":"ref_1","last4":"4242"}`), true)
	f.Add(200, ts, "", []byte(`{"outcome":"declined","reason":"card 4242424242424242 `+"\xff"+`"}`), true)
	f.Add(200, ts, "", []byte(`{"outcome":"approved","token":"tok","reference":"4242424242424242"}`), true)
	f.Add(200, ts, "v1=00", []byte(`{"outcome":"approved"}`), false)
	f.Add(422, "", "", []byte(`{"error":"number 4242 4242 4242 4242 wrong"}`), false)
	f.Add(503, "", "", []byte(nil), false)
	f.Add(200, "-9223372036854775808", "", []byte(`null`), true)
	f.Add(201, ts, "", []byte(`{"outcome":"approved","last4":"١٢٣٤"}`), true)
	g, err := NewGeneric(GenericConfig{URL: "https://pay.example/", Secret: genericSecret})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, ts, sig string, body []byte, sign bool) {
		if sign {
			sig = hexMAC(genericSecret, ts, body)
		}
		for _, o := range []op{opCharge, opTokenize} {
			r := genericRequest("k", 100, genericCard)
			res, err := g.decide(o, r, status, ts, sig, body, now)
			if err != nil {
				if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrUnavailable) {
					t.Fatalf("unexpected error %v", err)
				}
				if res != (Result{}) {
					t.Fatalf("result %+v with an error", res)
				}
			} else if res.Outcome != Approved && res.Outcome != Declined {
				t.Fatalf("outcome %q without an error", res.Outcome)
			}
			if len(res.Last4) != 0 && (len(res.Last4) != 4 || !isDigits(res.Last4)) {
				t.Fatalf("last4 %q", res.Last4)
			}
			if len(res.Reason) > genericMaxText || !utf8Valid(res.Reason) {
				t.Fatalf("reason %q", res.Reason)
			}
			if strings.Contains(fmt.Sprintf("%+v", res), genericCard) || (err != nil && strings.Contains(err.Error(), genericCard)) {
				t.Fatalf("the number shows: %+v %v", res, err)
			}
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// perByteValid replaces each byte of invalid UTF-8 with U+FFFD, as
// encoding/json does.
func perByteValid(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// FuzzGenericRequestJSON: what the connector writes by hand decodes, with
// encoding/json, to what it was given.
func FuzzGenericRequestJSON(f *testing.F) {
	f.Add("key", "desc \"x\" \\ \n \u2028 <>&", []byte("4242424242424242"), []byte("SW1A 1AA"))
	f.Add("\xff", "\x00\x7f\xed\xa0\x80", []byte("\""), []byte("é"))
	f.Fuzz(func(t *testing.T, key, desc string, number, postal []byte) {
		r := Request{IdempotencyKey: key, Amount: 1, Description: desc, Number: number, PostalCode: postal}
		body := genericBody(opCharge, r, "1800000000")
		var got struct {
			IdempotencyKey string `json:"idempotency_key"`
			Description    string `json:"description"`
			Card           struct {
				Number     string `json:"number"`
				PostalCode string `json:"postal_code"`
			} `json:"card"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%v: %q", err, body)
		}
		v := perByteValid
		if got.IdempotencyKey != v(key) || got.Description != v(desc) ||
			(len(number) > 0 && got.Card.Number != v(string(number))) ||
			(len(number) > 0 && len(postal) > 0 && got.Card.PostalCode != v(string(postal))) {
			t.Fatalf("round trip: %+v from %q", got, body)
		}
	})
}

// The README's worked example: the same body, byte for byte, and the same
// signatures as its openssl lines.
func TestGenericWorkedExample(t *testing.T) {
	secret := []byte("example-secret-0123456789abcdef-0123456789abcdef")
	r := Request{IdempotencyKey: "order-1042-1", Amount: 1999, Currency: "GBP", Description: "order 1042",
		Number: []byte("4242424242424242"), Expiry: []byte("0829"), SecurityCode: []byte("737"), PostalCode: []byte("SW1A 1AA")}
	const (
		wantBody = `{"type":"charge","idempotency_key":"order-1042-1","amount":1999,"currency":"GBP","description":"order 1042","card":{"number":"4242424242424242","expiry_month":"08","expiry_year":"2029","security_code":"737","postal_code":"SW1A 1AA"},"timestamp":1800000000}`
		wantSig  = "v1=c3b273c899083d5dc868afc3f0810429c67bf47236ca223b59801c9e91fc723d"
		answer   = `{"outcome":"approved","reference":"ch_8fK2mQ","brand":"visa","last4":"4242","idempotency_key":"order-1042-1"}`
		answerTS = "1800000001"
		ansSig   = "v1=c4a095798700424abe942918d80f7d664e47c93aaade636bb879e5e75f0a5df8"
	)
	body := genericBody(opCharge, r, "1800000000")
	if string(body) != wantBody {
		t.Errorf("body\n%s\nwant\n%s", body, wantBody)
	}
	if sig := genericSign(secret, "1800000000", body); sig != wantSig {
		t.Errorf("signature %s, want %s", sig, wantSig)
	}
	g, err := NewGeneric(GenericConfig{URL: "https://pay.example/", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.decide(opCharge, r, 200, answerTS, ansSig, []byte(answer), time.Unix(1800000030, 0))
	if err != nil || res != (Result{Outcome: Approved, Reference: "ch_8fK2mQ", Brand: "visa", Last4: "4242"}) {
		t.Errorf("answer: %+v, %v", res, err)
	}
}
