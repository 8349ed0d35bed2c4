package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/store"
)

// rest is a signed-in API client.
type rest struct {
	t     testing.TB
	base  string
	token string
}

func restSignIn(t testing.TB, base, name, password string, otp ...string) *rest {
	t.Helper()
	r := &rest{t: t, base: base}
	var out struct{ Token string }
	req := map[string]string{"name": name, "password": password}
	if len(otp) > 0 {
		req["code"] = otp[0] // the second factor's one-time code
	}
	if code := r.do("POST", "/api/v1/session", req, &out); code != 200 {
		t.Fatalf("sign-in %s: %d", name, code)
	}
	r.token = out.Token
	return r
}

// do sends a JSON request and decodes the answer into out (if not nil);
// it returns the status.
func (r *rest) do(method, path string, body, out any) int {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			r.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	if res.StatusCode >= 300 && !bytes.Contains(b, []byte(`"error":`)) {
		r.t.Errorf("%s %s: %d without an error message: %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode
}

// TestPayOverREST: the same payment driven through the REST API instead
// of the WebSocket: start on the call, follow the status, submit; each
// role may do only its part, and bad requests get clear errors.
func TestPayOverREST(t *testing.T) {
	t.Parallel() // its own server, caller and agent: two run at once
	sipptest.Sipp(t)
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddAgent(t, "bob", "bob-password")
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	calls := make(chan string, 1)
	agent, err := engine.New(engine.Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true, Loopback: true,
		OnEvent: func(e engine.Event) {
			if e.Type == "call.started" {
				calls <- e.Call
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- agent.Run(actx) }()
	defer func() { stop(); <-done }()
	srv.WaitAvailable(t, 1)

	const pan = "4242424242424242"
	keys := sipptest.Type(pan+"#"+testExpiry+testCVV, keysAt, 100*time.Millisecond, 100*time.Millisecond)
	total := sipptest.End(keys) + time.Second
	pcap := filepath.Join(t.TempDir(), "caller.pcap")
	if err := sipptest.WritePCAPFromPCM(pcap, sipptest.InBand(keys, total)); err != nil {
		t.Fatal(err)
	}
	sippDone := make(chan error, 1)
	go func() { sippDone <- sipptest.CallPCAP(ctx, t, srv.SIPAddr, pcap, total+3*time.Second) }()
	var call string
	select {
	case call = <-calls:
	case <-ctx.Done():
		t.Fatal("no call")
	}
	sueCode, err := srv.Code(ctx, "sue")
	if err != nil {
		t.Fatal(err)
	}
	ann, bob, sue := restSignIn(t, srv.URL, "ann", "ann-password"), restSignIn(t, srv.URL, "bob", "bob-password"), restSignIn(t, srv.URL, "sue", "sue-password", sueCode)
	// Escaped as a browser's encodeURIComponent does ('@' as %40).
	start := "/api/v1/calls/" + strings.ReplaceAll(call, "@", "%40") + "/payments"
	body := map[string]any{"amount": 1250, "currency": "GBP", "description": "order 42"}
	for _, c := range []struct {
		who  *rest
		body any
		want int
	}{
		{sue, body, 403},                 // supervisors watch; they do not take payments
		{bob, body, 409},                 // not bob's call
		{ann, `{"amount": "lots"}`, 400}, // malformed
		{ann, map[string]any{"amount": 1250, "currency": "GBP", "cvv": "737"}, 400}, // no such field: never card data by the API
		{ann, map[string]any{"amount": 1250, "currency": "POUNDS"}, 400},
	} {
		if code := c.who.do("POST", start, c.body, nil); code != c.want {
			t.Errorf("start %v: %d, want %d", c.body, code, c.want)
		}
	}
	var st protocol.Payment
	if code := ann.do("POST", start, body, &st); code != 201 || st.State != "capturing" || st.Call != call {
		t.Fatalf("start: %d %+v", code, st)
	}
	if code := ann.do("POST", start, body, nil); code != 409 {
		t.Errorf("a second session on the call: %d, want 409", code)
	}
	var live []protocol.Payment
	if code := sue.do("GET", "/api/v1/payments", nil, &live); code != 200 || len(live) != 1 || live[0].State != "capturing" || live[0].Seq == 0 {
		t.Errorf("the list while the caller types: %+v", live)
	}
	if code := ann.do("POST", "/api/v1/payments/"+st.ID+"/submit", nil, nil); code != 409 {
		t.Errorf("submit while capturing: %d, want 409", code)
	}
	if code := ann.do("POST", "/api/v1/payments/"+st.ID+"/fields/pin/ask", nil, nil); code != 400 {
		t.Errorf("ask for a field not in the session: %d, want 400", code)
	}
	if code := ann.do("GET", "/api/v1/payments/pay_nosuch", nil, nil); code != 404 {
		t.Errorf("an unknown session: %d, want 404", code)
	}
	if code := bob.do("GET", "/api/v1/payments/"+st.ID, nil, nil); code != 403 {
		t.Errorf("another agent's session: %d, want 403", code)
	}
	// Follow it as the supervisor until every field is in.
	deadline := time.Now().Add(30 * time.Second)
	for st.State != "ready" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		if code := sue.do("GET", "/api/v1/payments/"+st.ID, nil, &st); code != 200 {
			t.Fatalf("status: %d", code)
		}
	}
	if st.State != "ready" || st.Last4 != "4242" || st.Brand != "visa" {
		t.Fatalf("status %+v", st)
	}
	if code := bob.do("POST", "/api/v1/payments/"+st.ID+"/submit", nil, nil); code != 403 {
		t.Errorf("another agent's submit: %d, want 403", code)
	}
	if code := ann.do("POST", "/api/v1/payments/"+st.ID+"/submit", nil, &st); code != 200 || st.State != "approved" || st.Result == nil || st.Result.Reference == "" {
		t.Fatalf("submit: %d %+v", code, st)
	}
	var list []protocol.Payment
	if code := sue.do("GET", "/api/v1/payments?call="+call, nil, &list); code != 200 || len(list) != 1 || list[0].State != "approved" || list[0].Last4 != "4242" {
		t.Errorf("the supervisor's list: %+v", list)
	}
	if code := bob.do("GET", "/api/v1/payments", nil, &list); code != 200 || len(list) != 0 {
		t.Errorf("bob's list holds another agent's payments: %+v", list)
	}
	if err := <-sippDone; err != nil {
		t.Fatal(err)
	}
}
