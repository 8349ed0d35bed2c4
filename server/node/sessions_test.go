package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

// signIn signs name in and returns the session's token.
func signIn(t *testing.T, srv *stacktest.Stack, name, password string) string {
	t.Helper()
	m := map[string]string{"name": name, "password": password}
	if u, err := srv.Store.UserByName(context.Background(), name); err == nil && u.Role != store.RoleAgent {
		// Supervisors and admins sign in with their second factor too.
		code, err := srv.Code(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		m["code"] = code
	}
	body, _ := json.Marshal(m)
	res, err := http.Post(srv.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	var out struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.Token == "" {
		t.Fatalf("sign in %s: %d %v", name, res.StatusCode, err)
	}
	return out.Token
}

// request sends an authenticated request and returns its status and body.
func request(t *testing.T, method, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res.StatusCode, b.Bytes()
}

// connectAgent opens the agent's WebSocket, reads hello and becomes
// available.
func connectAgent(t *testing.T, srv *stacktest.Stack, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	var hello protocol.Message
	if _, b, err := ws.Read(ctx); err != nil || json.Unmarshal(b, &hello) != nil || hello.Type != protocol.TypeHello {
		t.Fatalf("hello: %s %v", b, err)
	}
	b, _ := json.Marshal(protocol.Message{Type: protocol.TypePresence, Status: string(protocol.AgentAvailable)})
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	return ws
}

// closedWith reads ws until it closes (up to within) and returns the close
// code and how long it took.
func closedWith(t *testing.T, ws *websocket.Conn, within time.Duration) (websocket.StatusCode, time.Duration) {
	t.Helper()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		if _, _, err := ws.Read(ctx); err != nil {
			return websocket.CloseStatus(err), time.Since(start)
		}
	}
}

// TestSignOutClosesWebSocket: signing out (DELETE /api/v1/session) closes
// the session's WebSocket at once with 4001, and the agent leaves the
// queue; before, it stayed up (and available) until the next minute's
// session check.
func TestSignOutClosesWebSocket(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	token := signIn(t, srv, "ann", "ann-password")
	ws := connectAgent(t, srv, token)
	srv.WaitAvailable(t, 1)

	if code, _ := request(t, http.MethodDelete, srv.URL+"/api/v1/session", token); code != http.StatusNoContent {
		t.Fatalf("sign out: %d", code)
	}
	code, took := closedWith(t, ws, 3*time.Second)
	if code != websocket.StatusCode(protocol.CloseSessionEnded) || took > 300*time.Millisecond {
		t.Fatalf("after signing out: closed with %d after %v, want %d at once", code, took, protocol.CloseSessionEnded)
	}
	waitOffline(t, srv, "ann")
}

// waitOffline waits (up to 2 s) until the queue has the agent offline or
// forgotten: it is offered no call.
func waitOffline(t *testing.T, srv *stacktest.Stack, name string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		gone := true
		for _, a := range srv.Agents() {
			if a.ID == name && a.State != route.StateOffline {
				gone = false
			}
		}
		if gone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still in the queue: %+v", name, srv.Agents())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNewAccountInheritsNothing: a user removed and a new account given
// the same name: the new account sees none of the old one's payments
// (listed or by id), and, as an agent, no recordings; the old one's id is
// never given again.
func TestNewAccountInheritsNothing(t *testing.T) {
	ctx := context.Background()
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	old, err := srv.Store.UserByName(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	// The audit record the payment manager writes when ann takes a payment.
	if err := srv.Store.AddPayment(ctx, store.Payment{ID: "ps_old", CallID: "call-1", Agent: "ann", Amount: 1250, Currency: "GBP",
		Method: "card", Gateway: "sandbox", IdempotencyKey: "ik"}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Store.FinishPayment(ctx, store.Payment{ID: "ps_old", Outcome: "approved", Brand: "visa", Last4: "4242", Reference: "sb_ch_1"}); err != nil {
		t.Fatal(err)
	}
	token := signIn(t, srv, "ann", "ann-password")
	if code, body := request(t, http.MethodGet, srv.URL+"/api/v1/payments", token); code != http.StatusOK || !strings.Contains(string(body), "ps_old") {
		t.Fatalf("ann's own payments: %d %s", code, body)
	}
	if code, _ := request(t, http.MethodGet, srv.URL+"/api/v1/payments/ps_old", token); code != http.StatusOK {
		t.Fatalf("ann's own payment: %d", code)
	}

	if err := srv.Store.RemoveUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	srv.AddAgent(t, "ann", "another-password")
	again, err := srv.Store.UserByName(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == old.ID {
		t.Errorf("the new ann got the removed ann's id %d", old.ID)
	}
	token = signIn(t, srv, "ann", "another-password")
	if code, body := request(t, http.MethodGet, srv.URL+"/api/v1/payments", token); code != http.StatusOK || strings.Contains(string(body), "ps_old") {
		t.Errorf("the new ann lists the old one's payments: %d %s", code, body)
	}
	if code, body := request(t, http.MethodGet, srv.URL+"/api/v1/payments/ps_old", token); code != http.StatusForbidden {
		t.Errorf("the new ann reads the old one's payment: %d %s", code, body)
	}
	if code, _ := request(t, http.MethodGet, srv.URL+"/api/v1/recordings", token); code != http.StatusForbidden {
		t.Errorf("the new ann lists recordings: %d", code)
	}
	// A supervisor still sees it, with the old agent's name.
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password")
	if code, body := request(t, http.MethodGet, srv.URL+"/api/v1/payments/ps_old", signIn(t, srv, "sue", "sue-password")); code != http.StatusOK || !strings.Contains(string(body), `"ann"`) {
		t.Errorf("a supervisor reads the payment: %d %s", code, body)
	}
}
