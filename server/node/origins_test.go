package node_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/server/config"
)

// TestAllowedOrigins: a page from an origin the allowed-origins setting
// names opens the WebSocket and may call the API from a browser (CORS
// preflight and headers); a page from any other origin is refused the
// WebSocket (403) and the preflight, and gets no CORS headers. Clients
// that send no Origin (the desktop app, tools) are not affected.
func TestAllowedOrigins(t *testing.T) {
	const console = "http://127.0.0.3:5173"
	srv := stacktest.Start(t, stacktest.WithConfig(func(c *config.Config) { c.AllowedOrigins = []string{console} }))
	srv.AddAgent(t, "ann", "ann-password")
	token := signIn(t, srv, "ann", "ann-password")
	dial := func(origin string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h := http.Header{"Authorization": {"Bearer " + token}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ws, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: h})
		if res != nil && res.Body != nil {
			_ = res.Body.Close()
		}
		if err != nil {
			if res != nil {
				return res.StatusCode
			}
			t.Fatal(err)
		}
		_ = ws.CloseNow()
		return http.StatusSwitchingProtocols
	}
	for origin, want := range map[string]int{console: 101, "": 101, "http://evil.example": 403, "http://127.0.0.3:5174": 403} {
		if got := dial(origin); got != want {
			t.Errorf("WebSocket from origin %q: %d, want %d", origin, got, want)
		}
	}

	preflight := func(origin string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodOptions, srv.URL+"/api/v1/me", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode, res.Header
	}
	if status, h := preflight(console); status != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != console ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight from the console: %d %v", status, h)
	}
	if status, h := preflight("http://evil.example"); status != http.StatusForbidden || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from elsewhere: %d %v", status, h)
	}
	get := func(origin string) http.Header {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Origin", origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/me from %s: %d", origin, res.StatusCode)
		}
		return res.Header
	}
	if h := get(console); h.Get("Access-Control-Allow-Origin") != console || !strings.Contains(h.Get("Vary"), "Origin") {
		t.Errorf("GET from the console: %v", h)
	}
	if h := get("http://evil.example"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("GET from elsewhere carries CORS headers: %v", h)
	}
}
