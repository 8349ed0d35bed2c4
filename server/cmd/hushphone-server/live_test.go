package main

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
)

// TestUserCommandDisconnectsLiveAgent: `user remove` and `user disable`,
// run against the data directory of a running server (another connection
// to its database, as another process is), close the agent's WebSocket
// with 4001 within about a second and take the agent out of the queue, so
// it is offered no more calls; before, it stayed connected and available
// for up to a minute. A disabled user cannot sign in until enabled.
func TestUserCommandDisconnectsLiveAgent(t *testing.T) {
	for _, action := range []string{"remove", "disable"} {
		t.Run(action, func(t *testing.T) {
			srv := stacktest.Start(t)
			srv.AddAgent(t, "ann", "ann-password")
			srv.AddAgent(t, "bob", "bob-password")
			ann := liveAgent(t, srv, "ann", "ann-password")
			liveAgent(t, srv, "bob", "bob-password")
			srv.WaitAvailable(t, 2)

			if code, out, errOut := runCLI(t, "user", action, "--name", "ann", "--data", srv.DataDir); code != 0 {
				t.Fatalf("user %s: exit %d %s %s", action, code, out, errOut)
			}
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var err error
			for err == nil {
				_, _, err = ann.Read(ctx)
			}
			if code, took := websocket.CloseStatus(err), time.Since(start); code != websocket.StatusCode(protocol.CloseSessionEnded) || took > 2*time.Second {
				t.Fatalf("ann's WebSocket: closed with %d after %v (%v), want %d within 2 s", code, took, err, protocol.CloseSessionEnded)
			}
			// Out of the queue; bob is untouched.
			deadline := time.Now().Add(2 * time.Second)
			for {
				var annState, bobState route.State
				for _, a := range srv.Agents() {
					switch a.ID {
					case "ann":
						annState = a.State
					case "bob":
						bobState = a.State
					}
				}
				if (annState == "" || annState == route.StateOffline) && bobState == route.StateAvailable {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("queue after %s: %+v", action, srv.Agents())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if code := signInCode(t, srv.URL, "ann", "ann-password"); code != http.StatusUnauthorized {
				t.Errorf("ann signs in after %s: %d, want 401", action, code)
			}
			if action == "disable" {
				if code, out, errOut := runCLI(t, "user", "enable", "--name", "ann", "--data", srv.DataDir); code != 0 {
					t.Fatalf("user enable: exit %d %s %s", code, out, errOut)
				}
				if code := signInCode(t, srv.URL, "ann", "ann-password"); code != http.StatusOK {
					t.Errorf("ann signs in after enable: %d, want 200", code)
				}
			}
		})
	}
}

func signInCode(t *testing.T, server, name, password string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	res, err := http.Post(server+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	return res.StatusCode
}

// liveAgent signs in, opens the agent's WebSocket and becomes available.
func liveAgent(t *testing.T, srv *stacktest.Stack, name, password string) *websocket.Conn {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	res, err := http.Post(srv.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Token string }
	err = json.NewDecoder(res.Body).Decode(&out)
	_ = res.Body.Close()
	if err != nil || out.Token == "" {
		t.Fatalf("sign in %s: %d %v", name, res.StatusCode, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, wres, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + out.Token}}})
	if wres != nil && wres.Body != nil {
		_ = wres.Body.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	b, _ := json.Marshal(protocol.Message{Type: protocol.TypePresence, Status: string(protocol.AgentAvailable)})
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	return ws
}
