package signal_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/signal"
)

// quotingMedia refuses every sdp and candidate with an error quoting them
// and an address, as pion's errors can.
type quotingMedia struct{ *echoMedia }

func (quotingMedia) SDP(_ context.Context, _, _ string, _ protocol.SDPKind, sdp string) error {
	return fmt.Errorf("agentleg: bad session description: %q: listen udp4 192.0.2.44:50000: bind: address already in use", sdp)
}

func (quotingMedia) Candidate(_ context.Context, _, _, cand string) error {
	return fmt.Errorf("agentleg: bad ICE candidate %q from 198.51.100.9:4444", cand)
}

// TestErrorsDoNotEchoInput: no WebSocket error message and no HTTP error
// of the WebSocket's endpoint repeats what the client sent (the marker ZQX
// is in all of it) or names an address the server's parts reported.
func TestErrorsDoNotEchoInput(t *testing.T) {
	e := newEnv(t, func(p *signal.Params) { p.Media = quotingMedia{} })
	tok := e.signIn("ann")

	// The upgrade refused, for each reason websocket.Accept has.
	for _, c := range []struct {
		name    string
		method  string
		headers map[string]string
		status  int
	}{
		{"method", "ZQXMETHOD", nil, http.StatusMethodNotAllowed},
		{"no upgrade", "GET", map[string]string{"Connection": "ZQXconnection"}, http.StatusUpgradeRequired},
		{"upgrade to what", "GET", map[string]string{"Connection": "Upgrade", "Upgrade": "ZQXproto"}, http.StatusUpgradeRequired},
		{"version", "GET", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "ZQX1", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}, http.StatusBadRequest},
		{"key", "GET", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "ZQXkey"}, http.StatusBadRequest},
		{"origin", "GET", map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": "https://zqx-origin.example"}, http.StatusForbidden},
	} {
		req, err := http.NewRequestWithContext(context.Background(), c.method, e.url+"/api/v1/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		for k, v := range c.headers {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != c.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s: %d %s %s, want %d with a JSON error", c.name, res.StatusCode, res.Header.Get("Content-Type"), b, c.status)
		}
		low := strings.ToLower(string(b))
		for _, bad := range []string{"zqx", "127.0.0.1", strings.TrimPrefix(e.url, "http://")} {
			if strings.Contains(low, bad) {
				t.Errorf("%s: the error repeats %q: %s", c.name, bad, b)
			}
		}
	}

	// Messages refused, on a call the agent is on.
	ann := e.connect("ann")
	ann.available()
	if err := e.router.Inbound("call-x", "+441632960001"); err != nil {
		t.Fatal(err)
	}
	ann.expect("call.offered")
	ann.send(map[string]any{"type": "answer", "call": "call-x"})
	ann.expect("call.started")
	for _, raw := range []string{
		`{"type":"sdp","call":"call-x","kind":"offer","sdp":"v=0 ZQX c=IN IP4 203.0.113.5"}`,
		`{"type":"candidate","call":"call-x","candidate":"candidate:ZQX 1 udp 1 203.0.113.5 5000 typ host"}`,
		`{"type":"ZQXtype"}`,
		`{"type":"answer","call":"ZQXcall"}`,
		`{"type":"presence","status":"ZQXstatus"}`,
		`{"type":"hold","call":"call-x","status":"ZQXon"}`,
		`{"type":"sdp","call":"call-x","kind":"ZQXkind","sdp":"v=0"}`,
		`{"type":"dial","number":"ZQX4242424242"}`,
		`{"type":"pay.start","call":"ZQXcall","pay":{"amount":1,"currency":"GBP"}}`,
		`{"type":"pay.status","session":"ZQXsession"}`,
		`{"type":"answer","call":4242424242424242}`,
		`{"type":"answer","call":"x","ZQXfield":`,
		`ZQX not JSON`,
	} {
		ann.sendRaw(raw)
		m, got := ann.expectRaw("error")
		for _, bad := range []string{"ZQX", "203.0.113.5", "192.0.2.44", "198.51.100.9", "4242"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s: the error repeats %q: %s", raw, bad, got)
			}
		}
		if m["message"] == "" {
			t.Errorf("%s: an error without a message: %s", raw, got)
		}
	}
}
