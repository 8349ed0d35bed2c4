package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stripeMockVersion is the stripe-mock the tests build (go install from the
// module proxy or cache) and run.
const stripeMockVersion = "v0.203.0"

// stripeMockBinary returns the path of a stripe-mock binary, built once and
// cached under os.TempDir by version. It skips the test when it cannot be
// built, and fails it under CI=true.
func stripeMockBinary(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(os.TempDir(), "hushphone-stripe-mock-"+stripeMockVersion)
	bin := filepath.Join(dir, "stripe-mock")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		unavailable("stripe-mock: no go command to build it: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		unavailable("stripe-mock: %v", err)
	}
	// Build into a directory of its own, then rename: concurrent test runs
	// never see half a binary.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		unavailable("stripe-mock: %v", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "install", "github.com/stripe/stripe-mock@"+stripeMockVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		unavailable("stripe-mock %s could not be built: %v\n%s", stripeMockVersion, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "stripe-mock"), bin); err != nil {
		unavailable("stripe-mock: %v", err)
	}
	return bin
}

// stripeMock is a running stripe-mock.
type stripeMock struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startStripeMock starts stripe-mock on a free loopback port and stops it
// when the test ends.
func startStripeMock(t *testing.T) *stripeMock {
	t.Helper()
	bin := stripeMockBinary(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		t.Fatalf("stripe-mock: %v", err)
	}
	_ = pw.Close()
	m := &stripeMock{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	var out bytes.Buffer
	var outMu sync.Mutex
	go func() {
		defer close(m.done)
		defer func() { _ = pr.Close() }()
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			outMu.Lock()
			out.WriteString(line + "\n")
			outMu.Unlock()
			if a, ok := strings.CutPrefix(line, "Listening for HTTP at address: "); ok {
				addr <- a
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(m.stop)
	select {
	case a := <-addr:
		m.URL = "http://" + strings.TrimSpace(a)
	case <-m.done:
		outMu.Lock()
		defer outMu.Unlock()
		t.Fatalf("stripe-mock exited:\n%s", out.String())
	case <-time.After(15 * time.Second):
		outMu.Lock()
		defer outMu.Unlock()
		t.Fatalf("stripe-mock did not start in 15 s:\n%s", out.String())
	}
	return m
}

// stop kills stripe-mock and waits for it; it can be called again.
func (m *stripeMock) stop() {
	if m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
	}
	<-m.done
}

// stripeProxy sits between the connector and stripe-mock: it records the
// Idempotency-Key of each request, can answer some paths itself, and can
// make stripe-mock's PaymentIntent (a fixed fixture whose status is
// requires_payment_method, since stripe-mock keeps no state and runs no
// payments) one that succeeded.
type stripeProxy struct {
	srv *httptest.Server

	mu        sync.Mutex
	keys      map[string][]string // path -> Idempotency-Key headers
	succeed   bool
	overrides map[string]override // path -> canned answer
}

type override struct {
	status int
	body   string
}

func newStripeProxy(t *testing.T, target string) *stripeProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &stripeProxy{keys: map[string][]string{}, overrides: map[string]override{}}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Header.Del("Accept-Encoding") // bodies the proxy can rewrite
	}}
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		succeed := p.succeed
		p.mu.Unlock()
		if !succeed || resp.Request.URL.Path != "/v1/payment_intents" || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return err
		}
		var pi map[string]any
		if err := json.Unmarshal(body, &pi); err != nil {
			return err
		}
		pi["status"] = "succeeded"
		if body, err = json.Marshal(pi); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return nil
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.keys[r.URL.Path] = append(p.keys[r.URL.Path], r.Header.Get("Idempotency-Key"))
		o, ok := p.overrides[r.URL.Path]
		p.mu.Unlock()
		if ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(o.status)
			_, _ = io.WriteString(w, o.body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *stripeProxy) reset(succeed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = map[string][]string{}
	p.overrides = map[string]override{}
	p.succeed = succeed
}

func (p *stripeProxy) answer(path string, status int, body string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.overrides[path] = override{status, body}
}

func (p *stripeProxy) keysFor(path string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys[path]...)
}

const (
	stripeTestNumber = "4242424242424242"
	stripeTestKey    = "sk_test_123"
)

func stripeCard(key string, amount int64) Request {
	return Request{
		IdempotencyKey: key,
		Amount:         amount,
		Currency:       "USD",
		Description:    "order 17",
		Number:         []byte(stripeTestNumber),
		Expiry:         []byte("1230"),
		SecurityCode:   []byte("123"),
		PostalCode:     []byte("94102"),
	}
}

// noDigits fails when text holds the card number or any 7 consecutive
// digits of it.
func noDigits(t *testing.T, text string) {
	t.Helper()
	for i := 0; i+7 <= len(stripeTestNumber); i++ {
		if strings.Contains(text, stripeTestNumber[i:i+7]) {
			t.Errorf("card digits %q in %q", stripeTestNumber[i:i+7], text)
			return
		}
	}
}

// mustStripe is NewStripe for a configuration that must be accepted.
func mustStripe(t *testing.T, key string, opts ...StripeOption) *Stripe {
	t.Helper()
	s, err := NewStripe(key, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStripe(t *testing.T) {
	mock := startStripeMock(t)
	proxy := newStripeProxy(t, mock.URL)
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	hc := &http.Client{Transport: transport}
	s, err := NewStripe(stripeTestKey, WithStripeURL(proxy.srv.URL), WithStripeHTTPClient(hc), WithStripeTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var _ Connector = s
	if s.Name() != "stripe" {
		t.Errorf("Name() = %q", s.Name())
	}
	ctx := context.Background()

	t.Run("charge approved", func(t *testing.T) {
		proxy.reset(true)
		res, err := s.Charge(ctx, stripeCard("order-17-attempt-1", 1999))
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Approved || !strings.HasPrefix(res.Reference, "pi_") || res.Token != "" {
			t.Errorf("result %+v, want approved with a pi_ reference", res)
		}
		if res.Brand != "visa" || res.Last4 != "4242" {
			t.Errorf("brand %q last4 %q, want visa 4242", res.Brand, res.Last4)
		}
		noDigits(t, fmt.Sprintf("%+v", res))
		if got := proxy.keysFor("/v1/payment_intents"); len(got) != 1 || got[0] != "order-17-attempt-1" {
			t.Errorf("PaymentIntent Idempotency-Key %q, want the request's key", got)
		}
		pm := proxy.keysFor("/v1/payment_methods")
		if len(pm) != 1 || pm[0] == "" || pm[0] == "order-17-attempt-1" || pm[0] != derivedKey("order-17-attempt-1", "payment_method") {
			t.Errorf("PaymentMethod Idempotency-Key %q, want one derived from the request's key", pm)
		}
	})

	t.Run("charge not succeeded is declined", func(t *testing.T) {
		// stripe-mock's own PaymentIntent: requires_payment_method.
		proxy.reset(false)
		res, err := s.Charge(ctx, stripeCard("order-18", 500))
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Declined || res.Reason == "" || !strings.HasPrefix(res.Reference, "pi_") {
			t.Errorf("result %+v, want declined", res)
		}
	})

	t.Run("tokenize", func(t *testing.T) {
		proxy.reset(true)
		r := stripeCard("tok-1", 0)
		r.Currency = ""
		res, err := s.Tokenize(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Approved || !strings.HasPrefix(res.Token, "pm_") || !strings.HasPrefix(res.Reference, "cus_") {
			t.Errorf("result %+v, want approved with a pm_ token and a cus_ reference", res)
		}
		if res.Last4 != "4242" {
			t.Errorf("last4 %q", res.Last4)
		}
		if got := proxy.keysFor("/v1/customers"); len(got) != 1 || got[0] != derivedKey("tok-1", "customer") {
			t.Errorf("Customer Idempotency-Key %q", got)
		}
		if len(proxy.keysFor("/v1/payment_intents")) != 0 {
			t.Error("tokenize made a PaymentIntent")
		}
	})

	t.Run("card errors decline", func(t *testing.T) {
		for _, c := range []struct {
			path, body, reason string
		}{
			{"/v1/payment_intents", `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`, "insufficient_funds"},
			{"/v1/payment_intents", `{"error":{"type":"card_error","code":"expired_card","message":"Your card has expired."}}`, "expired_card"},
			{"/v1/payment_methods", `{"error":{"type":"card_error","code":"incorrect_number","param":"number","message":"Your card number is incorrect."}}`, "incorrect_number"},
		} {
			proxy.reset(true)
			proxy.answer(c.path, http.StatusPaymentRequired, c.body)
			res, err := s.Charge(ctx, stripeCard("decline-"+c.reason, 100))
			if err != nil {
				t.Fatalf("%s: %v", c.reason, err)
			}
			if res.Outcome != Declined || res.Reason != c.reason || res.Last4 != "4242" {
				t.Errorf("%s: result %+v", c.reason, res)
			}
		}
	})

	t.Run("5xx and 429 unavailable", func(t *testing.T) {
		for _, status := range []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusTooManyRequests} {
			proxy.reset(true)
			proxy.answer("/v1/payment_intents", status, `{"error":{"type":"api_error","message":"An error occurred with card 4242424242424242."}}`)
			_, err := s.Charge(ctx, stripeCard("busy", 100))
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("%d: err %v, want ErrUnavailable", status, err)
			}
			if !strings.Contains(err.Error(), "idempotency key") {
				t.Errorf("%d: %q does not say what to do", status, err)
			}
			noDigits(t, err.Error())
		}
	})

	t.Run("invalid request", func(t *testing.T) {
		proxy.reset(true)
		// Stripe's messages can quote parameters: they must not reach the error.
		proxy.answer("/v1/payment_methods", http.StatusBadRequest, `{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"card[number]","message":"Invalid card number 4242424242424242"}}`)
		_, err := s.Charge(ctx, stripeCard("bad", 100))
		if !errors.Is(err, ErrBadRequest) {
			t.Fatalf("err %v, want ErrBadRequest", err)
		}
		noDigits(t, err.Error())
		proxy.reset(true)
		proxy.answer("/v1/payment_intents", http.StatusBadRequest, `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`)
		_, err = s.Charge(ctx, stripeCard("reused", 100))
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "idempotency key reused") {
			t.Errorf("idempotency error: %v", err)
		}
	})

	t.Run("bad API key", func(t *testing.T) {
		// stripe-mock itself refuses a key that does not look like sk_test_….
		proxy.reset(true)
		bad := mustStripe(t, "not-a-key", WithStripeURL(proxy.srv.URL), WithStripeHTTPClient(hc))
		_, err := bad.Charge(ctx, stripeCard("k", 100))
		if !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "API key") {
			t.Fatalf("err %v, want ErrBadRequest about the API key", err)
		}
		noDigits(t, err.Error())
		if strings.Contains(err.Error(), "not-a-key") {
			t.Errorf("the key is in the error: %q", err)
		}
	})

	t.Run("local checks", func(t *testing.T) {
		proxy.reset(true)
		bank := Request{IdempotencyKey: "b", Amount: 100, Currency: "USD", RoutingNumber: []byte("110000000"), AccountNumber: []byte("000123456789")}
		if _, err := s.Charge(ctx, bank); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "cards only") {
			t.Errorf("bank: %v", err)
		}
		noExpiry := stripeCard("e", 100)
		noExpiry.Expiry = nil
		if _, err := s.Charge(ctx, noExpiry); !errors.Is(err, ErrBadRequest) {
			t.Errorf("no expiry: %v", err)
		}
		noKey := stripeCard("", 100)
		if _, err := s.Charge(ctx, noKey); !errors.Is(err, ErrBadRequest) {
			t.Errorf("no idempotency key: %v", err)
		}
		if _, err := s.Tokenize(ctx, stripeCard("t", 100)); !errors.Is(err, ErrBadRequest) {
			t.Errorf("tokenize with an amount: %v", err)
		}
		if n := len(proxy.keysFor("/v1/payment_methods")); n != 0 {
			t.Errorf("%d requests reached stripe", n)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Charge(cctx, stripeCard("c", 100)); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
			t.Errorf("err %v", err)
		}
	})

	t.Run("deadline on a silent gateway", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		// Accepts connections (the kernel's backlog) and never answers.
		defer func() { _ = ln.Close() }()
		silentTransport := &http.Transport{}
		defer silentTransport.CloseIdleConnections()
		silent := mustStripe(t, stripeTestKey, WithStripeURL("http://"+ln.Addr().String()), WithStripeHTTPClient(&http.Client{Transport: silentTransport}))
		dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = silent.Charge(dctx, stripeCard("slow", 100))
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err %v, want ErrUnavailable (deadline)", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})

	// Last: stop stripe-mock, and call it directly.
	t.Run("stopped stripe-mock", func(t *testing.T) {
		mock.stop()
		direct := mustStripe(t, stripeTestKey, WithStripeURL(mock.URL), WithStripeHTTPClient(hc))
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := direct.Charge(dctx, stripeCard("down", 100))
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err %v, want ErrUnavailable", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v, want a quick answer", d)
		}
		if !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("%q does not say the connection was refused", err)
		}
		if !strings.Contains(err.Error(), "idempotency key") {
			t.Errorf("%q does not say what to do", err)
		}
		noDigits(t, err.Error())
	})
}
