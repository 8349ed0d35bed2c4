package api

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/server/pay"
	"github.com/hushphone/hushphone/server/route"
)

// onCall says ann is talking on call "call-on" (pay.Calls).
type onCall struct{}

func (onCall) Agent(id string) (route.AgentInfo, bool) {
	if id != "ann" {
		return route.AgentInfo{}, false
	}
	return route.AgentInfo{ID: id, Name: id, State: route.StateBusy, Call: "call-on"}, true
}

// newPayEnv is newEnv with secure pay: the sandbox gateway and the store's
// audit, ann on call "call-on".
func newPayEnv(t testing.TB, e *env) *env {
	t.Helper()
	m, err := pay.New(context.Background(), pay.Params{
		Gateway: gateway.NewSandbox(gateway.WithLatency(0)), Audit: e.store, Calls: onCall{},
		Notify: func(pay.Status) {}, Prompt: func(string, pay.Tone) {}, Tick: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	s, err := New(Params{Store: e.store, SessionTTL: time.Hour, Now: e.clock.Now, Hash: cheap, Payments: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: e.t, url: srv.URL, clock: e.clock, store: e.store}
}

// marker is in every distinctive string the tests send; no error text of
// the API may hold it.
const marker = "ZQX"

// TestErrorsDoNotEchoInput: requests whose path, method, Content-Type,
// field names and values are distinctive strings get errors holding none
// of them (nor the digits of a number sent where a string goes).
func TestErrorsDoNotEchoInput(t *testing.T) {
	base := newEnv(t, cheap)
	e := newPayEnv(t, base)
	tok := e.signIn("ann")
	for _, c := range []struct {
		name, method, path, token, ctype, body string
	}{
		{"unknown field", "POST", "/api/v1/session", "", "", `{"name":"ann","password":"x","ZQXfield":1}`},
		{"number for a string", "POST", "/api/v1/session", "", "", `{"name":"ann","password":4242424242424242}`},
		{"huge number", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":4242424242424242424242,"currency":"GBP"}`},
		{"object for a number", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":{"ZQX":1},"currency":"GBP"}`},
		{"syntax", "POST", "/api/v1/session", "", "", `{"name":Z}`},
		{"syntax in a string", "POST", "/api/v1/session", "", "", "{\"name\":\"ann\x01ZQX\"}"},
		{"trailing", "POST", "/api/v1/session", "", "", `{"name":"a","password":"b"} ZQX`},
		{"content type", "POST", "/api/v1/session", "", "text/ZQXtype", `{}`},
		{"path", "GET", "/api/v1/ZQXpath", "", "", ""},
		{"method", "ZQXMETHOD", "/api/v1/session", "", "", ""},
		{"method on a known path", "PUT", "/api/v1/me", tok, "", ""},
		{"recording id", "GET", "/api/v1/recordings/987654321", tok, "", ""},
		{"payment id", "GET", "/api/v1/payments/ZQXid", tok, "", ""},
		{"payment field", "POST", "/api/v1/payments/ZQXid/fields/ZQXfield/ask", tok, "", ""},
		{"call", "POST", "/api/v1/calls/ZQXcall/payments", tok, "", `{"amount":100,"currency":"GBP"}`},
		{"currency", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":100,"currency":"ZQXcur"}`},
		{"description", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":100,"currency":"GBP","description":"ZQX 4242 4242 4242 4242"}`},
		{"method field", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":100,"currency":"GBP","method":"ZQXmethod"}`},
		{"fields", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":100,"currency":"GBP","fields":["card-number","ZQXfield"]}`},
		{"brands", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":100,"currency":"GBP","brands":["ZQXbrand"]}`},
		{"idempotency key", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":100,"currency":"GBP","idempotencyKey":"ZQX key"}`},
		{"idempotency key digits", "POST", "/api/v1/calls/call-on/payments", tok, "", `{"amount":100,"currency":"GBP","idempotencyKey":"ZQX-4242-4242-4242"}`},
	} {
		req, err := http.NewRequestWithContext(context.Background(), c.method, e.url+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		_ = res.Body.Close()
		if res.StatusCode < 400 {
			t.Errorf("%s: %d %s, want an error", c.name, res.StatusCode, b.String())
			continue
		}
		for _, bad := range []string{marker, "4242", "987654321", "'Z'", `\u0001`} {
			if strings.Contains(b.String(), bad) {
				t.Errorf("%s: the error repeats %q: %s", c.name, bad, b.String())
			}
		}
	}
}

// TestBodyReadErrorNamesNoAddress: a body that fails while being read
// (the connection timed out, was reset) gets an error that names neither
// side's address, which the read error's own text holds.
func TestBodyReadErrorNamesNoAddress(t *testing.T) {
	e := newEnv(t, cheap)
	s, err := New(Params{Store: e.store, Hash: cheap})
	if err != nil {
		t.Fatal(err)
	}
	local := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("192.0.2.10:8443"))
	remote := net.TCPAddrFromAddrPort(netip.MustParseAddrPort("203.0.113.77:51234"))
	for _, cause := range []error{os.ErrDeadlineExceeded, errors.New("connection reset by peer")} {
		readErr := &net.OpError{Op: "read", Net: "tcp", Source: local, Addr: remote, Err: cause}
		req := httptest.NewRequest("POST", "/api/v1/session", &failingReader{data: `{"name":"ann","pass`, err: readErr})
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		body := w.Body.String()
		if w.Code != http.StatusBadRequest {
			t.Errorf("%v: %d %s", cause, w.Code, body)
		}
		for _, bad := range []string{"192.0.2.10", "203.0.113.77", "8443", "51234", "tcp"} {
			if strings.Contains(body, bad) {
				t.Errorf("%v: the error names %q: %s", cause, bad, body)
			}
		}
	}
}

// failingReader gives data, then err.
type failingReader struct {
	data string
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}
