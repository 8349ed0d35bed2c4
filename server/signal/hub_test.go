package signal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/api"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/signal"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/totp"
)

// cheap keeps sign-ins quick.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// echoMedia stands in for the lead's agent leg: it records what the hub
// hands it and answers every SDP offer with an answer, through the hub.
type echoMedia struct {
	mu        sync.Mutex
	hub       *signal.Hub
	got       []string
	fail      bool
	listening map[string]bool // "user call"
}

func (m *echoMedia) SDP(_ context.Context, agent, call string, kind protocol.SDPKind, sdp string) error {
	m.mu.Lock()
	m.got = append(m.got, "sdp "+agent+" "+call+" "+string(kind)+" "+sdp)
	fail := m.fail
	m.mu.Unlock()
	if fail {
		return errors.New("bad sdp")
	}
	if kind == protocol.KindOffer {
		return m.hub.SDP(agent, call, protocol.KindAnswer, "answer to "+sdp)
	}
	return nil
}

func (m *echoMedia) Candidate(_ context.Context, agent, call, cand string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, "candidate "+agent+" "+call+" "+cand)
	return nil
}

// ListenMode refuses the calls named nope, ringing, full and (to whisper
// or barge) nomic as the real media side would; it records the rest, with
// the mode when it is not listen.
func (m *echoMedia) ListenMode(_ context.Context, user, call string, mode protocol.ListenMode) error {
	switch call {
	case "nomic":
		if mode.Heard() {
			return fmt.Errorf("media: %w", signal.ErrNoMicrophone)
		}
	case "nope":
		return fmt.Errorf("media: %w", signal.ErrNoSuchCall)
	case "ringing":
		return fmt.Errorf("media: %w", signal.ErrCallNotActive)
	case "full":
		return fmt.Errorf("media: %w", signal.ErrTooManyListeners)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := "listen " + user + " " + call
	if mode != protocol.ModeListen {
		rec += " " + string(mode)
	}
	m.got = append(m.got, rec)
	if m.listening == nil {
		m.listening = map[string]bool{}
	}
	m.listening[user+" "+call] = true
	return nil
}

func (m *echoMedia) Hold(_ context.Context, user, call string, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, fmt.Sprintf("hold %s %s %v", user, call, on))
	return nil
}

func (m *echoMedia) Unlisten(_ context.Context, user, call string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, "unlisten "+user+" "+call)
	found := false
	for k := range m.listening {
		if k == user+" "+call || call == "" && strings.HasPrefix(k, user+" ") {
			delete(m.listening, k)
			found = true
		}
	}
	if !found {
		return fmt.Errorf("media: %w", signal.ErrNotListening)
	}
	return nil
}

func (m *echoMedia) recorded() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.got...)
}

// env is the API and the hub on one loopback server over a real store, with
// agents ann and bob, supervisor sue and admin root (password NAME-password).
type env struct {
	t      *testing.T
	url    string
	clock  *testkit.Clock
	store  *store.Store
	router *route.Router
	hub    *signal.Hub
	media  *echoMedia
	srv    *httptest.Server
}

func newEnv(t *testing.T, ps ...func(*signal.Params)) *env {
	t.Helper()
	ctx := context.Background()
	c := testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	st, err := store.Open(ctx, t.TempDir(), store.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name string
		role store.Role
	}{{"ann", store.RoleAgent}, {"bob", store.RoleAgent}, {"sue", store.RoleSupervisor}, {"root", store.RoleAdmin}} {
		h, err := cheap.Hash(u.name + "-password")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddUser(ctx, u.name, u.role, h); err != nil {
			t.Fatal(err)
		}
	}
	a, err := api.New(api.Params{Store: st, SessionTTL: time.Hour, Hash: cheap})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: c, store: st, media: &echoMedia{}}
	e.router = route.New(route.WithEvents(func(ev route.Event) { e.hub.RouteEvent(ev) }))
	p := signal.Params{Sessions: st, Router: e.router, Media: e.media}
	for _, f := range ps {
		f(&p)
	}
	e.hub, err = signal.New(p)
	if err != nil {
		t.Fatal(err)
	}
	e.media.hub = e.hub
	mux := http.NewServeMux()
	mux.Handle("/api/v1/ws", e.hub)
	mux.Handle("/", a.Handler())
	e.srv = httptest.NewServer(mux) // loopback
	e.url = e.srv.URL
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	_ = e.hub.Close()
	e.srv.Close()
	_ = e.router.Close()
	_ = e.store.Close()
}

// mfaSecret is the second factor signIn gives supervisors and admins, who
// cannot sign in without one.
const mfaSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func (e *env) signIn(name string) string {
	e.t.Helper()
	code := ""
	ctx := context.Background()
	if u, err := e.store.UserByName(ctx, name); err == nil && u.Role != store.RoleAgent {
		// Enrolled afresh each time, so that the current code is never one
		// used already.
		if err := e.store.SetMFA(ctx, u.ID, mfaSecret, nil); err != nil {
			e.t.Fatal(err)
		}
		c, err := totp.Code(mfaSecret, totp.Step(time.Now()))
		if err != nil {
			e.t.Fatal(err)
		}
		code = `,"code":"` + c + `"`
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/api/v1/session",
		strings.NewReader(`{"name":"`+name+`","password":"`+name+`-password"`+code+`}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Token == "" {
		e.t.Fatalf("sign in %s: %d %v", name, resp.StatusCode, err)
	}
	return body.Token
}

func (e *env) wsURL() string { return "ws" + strings.TrimPrefix(e.url, "http") + "/api/v1/ws" }

// client is a real WebSocket client.
type client struct {
	t    *testing.T
	name string
	ws   *websocket.Conn
}

// dial connects with the token in the header or the query; when the
// upgrade is refused it returns the status and the error message.
func (e *env) dial(name, token string, query bool) (*client, int, string, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u := e.wsURL()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if query {
		u += "?token=" + url.QueryEscape(token)
	} else if token != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.Dial(ctx, u, opts)
	if err != nil {
		status, msg := 0, ""
		if resp != nil {
			status = resp.StatusCode
			if resp.Body != nil {
				var body map[string]string
				_ = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				msg = body["error"]
			}
		}
		return nil, status, msg, err
	}
	ws.SetReadLimit(1 << 20)
	return &client{t: e.t, name: name, ws: ws}, 0, "", nil
}

// connect signs in and connects, and reads hello.
func (e *env) connect(name string) *client {
	e.t.Helper()
	c, _, _, err := e.dial(name, e.signIn(name), false)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.ws.CloseNow() })
	h := c.expect("hello")
	if h["user"] != name {
		e.t.Fatalf("hello %v", h)
	}
	return c
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

func (c *client) send(m map[string]any) {
	c.t.Helper()
	b, _ := json.Marshal(m)
	c.sendRaw(string(b))
}

// next reads one message, raw and decoded.
func (c *client) next() (map[string]any, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.name, err)
	}
	if typ != websocket.MessageText {
		c.t.Fatalf("%s: binary message", c.name)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("%s: not JSON: %q", c.name, b)
	}
	return m, string(b)
}

// expect reads until a message of that type, skipping agents and calls
// snapshots (and presence, unless asked for).
func (c *client) expect(typ string) map[string]any {
	c.t.Helper()
	m, _ := c.expectRaw(typ)
	return m
}

func (c *client) expectRaw(typ string) (map[string]any, string) {
	c.t.Helper()
	for {
		m, raw := c.next()
		if m["type"] == typ {
			return m, raw
		}
		switch m["type"] {
		case "agents", "calls", "presence", "agent.changed", "call.changed", "call.removed":
			continue
		}
		c.t.Fatalf("%s: got %s, want a %s message", c.name, raw, typ)
	}
}

// expectStatus reads until a presence message and checks its status.
func (c *client) expectStatus(status string) {
	c.t.Helper()
	if m := c.expect("presence"); m["status"] != status {
		c.t.Fatalf("%s: presence %v, want %s", c.name, m, status)
	}
}

// available reads the agent's first presence (away) and sets them
// available.
func (c *client) available() {
	c.t.Helper()
	c.expectStatus("away")
	c.send(map[string]any{"type": "presence", "status": "available"})
	c.expectStatus("available")
}

// expectClose reads until the connection closes and returns the status.
func (c *client) expectClose() websocket.StatusCode {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				c.t.Fatalf("%s: not closed", c.name)
			}
			return websocket.CloseStatus(err)
		}
	}
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	good := e.signIn("ann")
	expiring := e.signIn("bob")
	signedOut := e.signIn("sue")
	req, _ := http.NewRequestWithContext(context.Background(), "DELETE", e.url+"/api/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+signedOut)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sign out: %v %v", resp, err)
	}
	resp.Body.Close()

	cases := []struct {
		name   string
		token  string
		query  bool
		status int // 0: connected
		user   string
	}{
		{"bearer header", good, false, 0, "ann"},
		{"token query parameter", good, true, 0, "ann"},
		{"no token", "", false, http.StatusUnauthorized, ""},
		{"wrong token", "not-a-token", false, http.StatusUnauthorized, ""},
		{"wrong token in the query", "not-a-token", true, http.StatusUnauthorized, ""},
		{"signed out", signedOut, false, http.StatusUnauthorized, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, status, msg, err := e.dial("x", tc.token, tc.query)
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				defer c.ws.CloseNow()
				c.t = t
				h := c.expect("hello")
				if h["user"] != tc.user || h["role"] != "agent" {
					t.Errorf("hello %v", h)
				}
				_ = c.ws.Close(websocket.StatusNormalClosure, "")
				return
			}
			if err == nil {
				c.ws.CloseNow()
				t.Fatal("connected")
			}
			if status != tc.status || msg == "" {
				t.Fatalf("got %d %q, want %d and a message", status, msg, tc.status)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.clock.Add(2 * time.Hour)
		_, status, msg, err := e.dial("bob", expiring, false)
		if err == nil || status != http.StatusUnauthorized || !strings.Contains(msg, "expired") {
			t.Fatalf("expired session: %d %q %v", status, msg, err)
		}
	})
}

func TestHelloRoles(t *testing.T) {
	e := newEnv(t)
	for name, role := range map[string]string{"ann": "agent", "sue": "supervisor", "root": "admin"} {
		c, _, _, err := e.dial(name, e.signIn(name), false)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := c.next()
		if m["type"] != "hello" || m["user"] != name || m["role"] != role {
			t.Errorf("%s: first message %v", name, m)
		}
		c.ws.CloseNow()
	}
}

func TestAgentCall(t *testing.T) {
	e := newEnv(t)
	ann := e.connect("ann")
	ann.expectStatus("away")
	ann.send(map[string]any{"type": "presence", "status": "available"})
	ann.expectStatus("available")
	if a, _ := e.router.Agent("ann"); a.State != route.StateAvailable {
		t.Fatalf("route has ann %v", a)
	}

	if err := e.router.Inbound("call-x", "+441632960001"); err != nil {
		t.Fatal(err)
	}
	m := ann.expect("call.offered")
	if m["call"] != "call-x" || m["from"] != "+441632960001" {
		t.Fatalf("offered %v", m)
	}
	ann.expectStatus("ringing")
	ann.send(map[string]any{"type": "answer", "call": "call-x"})
	if m := ann.expect("call.started"); m["call"] != "call-x" {
		t.Fatalf("started %v", m)
	}
	ann.expectStatus("busy")

	ann.send(map[string]any{"type": "sdp", "call": "call-x", "kind": "offer", "sdp": "v=0 ann"})
	if m := ann.expect("sdp"); m["kind"] != "answer" || m["sdp"] != "answer to v=0 ann" || m["call"] != "call-x" {
		t.Fatalf("sdp %v", m)
	}
	ann.send(map[string]any{"type": "candidate", "call": "call-x", "candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host"})
	ann.send(map[string]any{"type": "ping", "id": "p1"})
	if m := ann.expect("pong"); m["id"] != "p1" {
		t.Fatalf("pong %v", m)
	}
	want := []string{"sdp ann call-x offer v=0 ann", "candidate ann call-x candidate:1 1 udp 1 127.0.0.1 5000 typ host"}
	if got := e.media.recorded(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("media got %q", got)
	}
	// sdp for a call that is not hers
	ann.send(map[string]any{"type": "sdp", "id": "s2", "call": "call-y", "kind": "offer", "sdp": "v=0"})
	if m := ann.expect("error"); m["code"] != "not_your_call" || m["id"] != "s2" {
		t.Fatalf("error %v", m)
	}
	mid, mline := "0", uint16(0)
	if err := e.hub.Candidate("ann", "call-x", "candidate:2", &mid, &mline); err != nil {
		t.Fatal(err)
	}
	// With its media section as WebRTC names it: a browser's
	// addIceCandidate takes the message as it is.
	if m := ann.expect("candidate"); m["candidate"] != "candidate:2" || m["sdpMid"] != "0" || m["sdpMLineIndex"] != float64(0) || m["end"] != nil {
		t.Fatalf("candidate %v", m)
	}
	if err := e.hub.Candidate("ann", "call-x", "", &mid, &mline); err != nil {
		t.Fatal(err)
	}
	if m := ann.expect("candidate"); m["end"] != true || m["candidate"] != nil || m["sdpMid"] != nil {
		t.Fatalf("end-of-candidates %v", m)
	}

	ann.send(map[string]any{"type": "hangup", "call": "call-x"})
	if m := ann.expect("call.ended"); m["call"] != "call-x" || m["reason"] != "agent" {
		t.Fatalf("ended %v", m)
	}
	ann.expectStatus("available")
	if len(e.router.Calls()) != 0 {
		t.Errorf("calls left: %v", e.router.Calls())
	}
}

func TestDeclineAndWithdraw(t *testing.T) {
	e := newEnv(t)
	ann := e.connect("ann")
	ann.available()
	_ = e.router.Inbound("call-x", "")
	ann.expect("call.offered")
	ann.send(map[string]any{"type": "decline", "call": "call-x"})
	if m := ann.expect("call.withdrawn"); m["reason"] != "declined" {
		t.Fatalf("withdrawn %v", m)
	}
	ann.expect("call.offered") // the only agent: offered again
	ann.send(map[string]any{"type": "answer", "id": "a1", "call": "call-nope"})
	if m := ann.expect("error"); m["code"] != "no_call" || m["id"] != "a1" {
		t.Fatalf("error %v", m)
	}
	_ = e.router.Hangup("call-x", "")
	if m := ann.expect("call.withdrawn"); m["reason"] != "caller_gone" {
		t.Fatalf("withdrawn %v", m)
	}
}

func TestJunkKeepsTheConnection(t *testing.T) {
	e := newEnv(t)
	ann := e.connect("ann")
	cases := []struct {
		send string
		code string
		id   string
	}{
		{`not json`, "bad_json", ""},
		{`[1,2,3]`, "bad_json", ""},
		{`{"type":`, "bad_json", ""},
		{`{}`, "bad_request", ""},
		{`{"type":"launch","id":"j1"}`, "unknown_type", "j1"},
		{`{"type":"answer","id":"j2"}`, "bad_request", "j2"},
		{`{"type":"answer","call":5,"id":"j3"}`, "bad_json", ""},
		{`{"type":"presence","status":"busy","id":"j4"}`, "bad_request", "j4"},
		{`{"type":"sdp","call":"c","kind":"pranswer","sdp":"v=0"}`, "bad_request", ""},
		{`{"type":"candidate","call":"c"}`, "bad_request", ""},
		{`{"type":"answer","call":"c","id":"j5"}`, "no_call", "j5"},
		{`{"type":"hangup","call":"c"}`, "no_call", ""},
		{`{"type":"ping","id":"` + strings.Repeat("x", 65) + `"}`, "bad_request", ""},
	}
	for _, tc := range cases {
		ann.sendRaw(tc.send)
		m := ann.expect("error")
		id, _ := m["id"].(string)
		if m["code"] != tc.code || id != tc.id || m["message"] == "" {
			t.Errorf("%s: got %v, want code %s id %q", tc.send, m, tc.code, tc.id)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ann.ws.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := ann.expect("error"); m["code"] != "bad_message" {
		t.Errorf("binary: %v", m)
	}
	ann.send(map[string]any{"type": "ping", "id": "still-there"})
	if m := ann.expect("pong"); m["id"] != "still-there" {
		t.Fatalf("pong %v", m)
	}
}

func TestOversizedMessageCloses(t *testing.T) {
	e := newEnv(t)
	ann := e.connect("ann")
	// Exactly the limit is fine.
	pad := protocol.MaxMessage - len(`{"type":"ping","x":""}`)
	ann.sendRaw(`{"type":"ping","x":"` + strings.Repeat("a", pad) + `"}`)
	ann.expect("pong")
	ann.sendRaw(`{"type":"ping","x":"` + strings.Repeat("a", pad+1) + `"}`)
	if s := ann.expectClose(); s != websocket.StatusMessageTooBig {
		t.Fatalf("close status %v, want %v", s, websocket.StatusMessageTooBig)
	}
	eventually(t, "ann disconnected", func() bool { return !e.hub.Connected("ann") })
}

// TestCloseCodesAreWebSockets: the protocol's standard close codes are
// the WebSocket library's (the Hub converts one to the other).
func TestCloseCodesAreWebSockets(t *testing.T) {
	for _, c := range []struct {
		proto protocol.CloseCode
		ws    websocket.StatusCode
	}{
		{protocol.CloseNormal, websocket.StatusNormalClosure},
		{protocol.CloseGoingAway, websocket.StatusGoingAway},
		{protocol.CloseTooSlow, websocket.StatusPolicyViolation},
		{protocol.CloseTooBig, websocket.StatusMessageTooBig},
	} {
		if websocket.StatusCode(c.proto) != c.ws {
			t.Errorf("protocol close code %d is not %v", c.proto, c.ws)
		}
	}
}

// digits finds any digit in a message.
var digits = regexp.MustCompile(`[0-9]`)

func TestSupervisor(t *testing.T) {
	e := newEnv(t)
	sue := e.connect("sue")
	if m := sue.expect("agents"); len(m["agents"].([]any)) != 0 {
		t.Fatalf("agents %v", m)
	}
	if m := sue.expect("calls"); len(m["calls"].([]any)) != 0 {
		t.Fatalf("calls %v", m)
	}
	ann := e.connect("ann")
	m := sue.expect("agent.changed")
	as := m["agents"].([]any)
	if len(as) != 1 || as[0].(map[string]any)["user"] != "ann" || as[0].(map[string]any)["status"] != "away" {
		t.Fatalf("agents %v", m)
	}
	ann.send(map[string]any{"type": "presence", "status": "available"})
	if m := sue.expect("agent.changed"); m["agents"].([]any)[0].(map[string]any)["status"] != "available" {
		t.Fatalf("agents %v", m)
	}
	_ = e.router.InboundTo("call-abc", "+441632960001", "sales")
	ann.expect("call.offered")
	ann.send(map[string]any{"type": "answer", "call": "call-abc"})
	ann.expect("call.started")
	// The call's changes show it live, with its queue.
	for {
		m := sue.expect("call.changed")
		cs := m["calls"].([]any)
		if len(cs) == 1 && cs[0].(map[string]any)["state"] == "active" {
			c := cs[0].(map[string]any)
			if c["agent"] != "ann" || c["call"] != "call-abc" || c["from"] != "+441632960001" || c["queue"] != "sales" {
				t.Fatalf("calls %v", m)
			}
			break
		}
	}
	// A late supervisor gets the state at once.
	root := e.connect("root")
	if m := root.expect("agents"); m["agents"].([]any)[0].(map[string]any)["status"] != "busy" {
		t.Fatalf("root agents %v", m)
	}
	if m := root.expect("calls"); len(m["calls"].([]any)) != 1 {
		t.Fatalf("root calls %v", m)
	}

	e.hub.KeyPressed("call-abc", "ann")
	for _, c := range []*client{ann, sue, root} {
		m, raw := c.expectRaw("key.pressed")
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if strings.Join(keys, ",") != "call,type" || m["call"] != "call-abc" || digits.MatchString(raw) {
			t.Errorf("%s: key.pressed %s", c.name, raw)
		}
	}
	// Supervisors do not take calls.
	sue.send(map[string]any{"type": "presence", "status": "available", "id": "s1"})
	if m := sue.expect("error"); m["code"] != "forbidden" || m["id"] != "s1" {
		t.Fatalf("error %v", m)
	}
	if _, ok := e.router.Agent("sue"); ok {
		t.Error("sue is in the call queue")
	}
}

func TestDisconnectAndRejoin(t *testing.T) {
	e := newEnv(t)
	ann := e.connect("ann")
	ann.available()
	_ = e.router.Inbound("call-x", "")
	ann.expect("call.offered")
	ann.send(map[string]any{"type": "answer", "call": "call-x"})
	ann.expect("call.started")
	_ = ann.ws.Close(websocket.StatusNormalClosure, "")
	eventually(t, "the call held", func() bool {
		cs := e.router.Calls()
		return len(cs) == 1 && cs[0].State == route.CallStateHeld
	})
	if a, _ := e.router.Agent("ann"); a.State != route.StateOffline {
		t.Fatalf("ann %v", a)
	}
	again := e.connect("ann")
	m := again.expect("call.started")
	if m["call"] != "call-x" || m["rejoined"] != true {
		t.Fatalf("started %v", m)
	}
	again.expectStatus("busy")

	// An idle agent who disconnects leaves the queue.
	bob := e.connect("bob")
	bob.expectStatus("away")
	_ = bob.ws.Close(websocket.StatusNormalClosure, "")
	eventually(t, "bob gone from the queue", func() bool { _, ok := e.router.Agent("bob"); return !ok })
}

func TestConnectingAgainReplaces(t *testing.T) {
	e := newEnv(t)
	ann := e.connect("ann")
	ann.available()
	_ = e.router.Inbound("call-x", "")
	ann.expect("call.offered")
	second := e.connect("ann")
	if s := ann.expectClose(); s != websocket.StatusCode(protocol.CloseReplaced) {
		t.Fatalf("first connection closed with %v", s)
	}
	second.expectStatus("ringing")
	second.expect("call.offered")
	second.send(map[string]any{"type": "answer", "call": "call-x"})
	second.expect("call.started")
	if a, _ := e.router.Agent("ann"); a.State != route.StateBusy {
		t.Fatalf("ann %v", a)
	}
}

func TestSessionEndsMidConnection(t *testing.T) {
	e := newEnv(t, func(p *signal.Params) { p.SessionCheck = 20 * time.Millisecond })
	tok := e.signIn("sue")
	sue, _, _, err := e.dial("sue", tok, false)
	if err != nil {
		t.Fatal(err)
	}
	defer sue.ws.CloseNow()
	sue.expect("hello")
	req, _ := http.NewRequestWithContext(context.Background(), "DELETE", e.url+"/api/v1/session", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if s := sue.expectClose(); s != websocket.StatusCode(protocol.CloseSessionEnded) {
		t.Fatalf("closed with %v", s)
	}
}

func TestSlowClientIsClosed(t *testing.T) {
	e := newEnv(t, func(p *signal.Params) { p.SendQueue = 4 })
	ann := e.connect("ann")
	// The client reads nothing while the socket's buffers and then the
	// hub's queue fill.
	big := "candidate:" + strings.Repeat("x", 16000)
	for range 4000 {
		if err := e.hub.Candidate("ann", "call-x", big, nil, nil); err != nil {
			break
		}
	}
	if s := ann.expectClose(); s != websocket.StatusPolicyViolation {
		t.Fatalf("closed with %v", s)
	}
}

func TestSendToNobody(t *testing.T) {
	e := newEnv(t)
	if err := e.hub.Send("nobody", protocol.Message{Type: protocol.TypePresence}); !errors.Is(err, signal.ErrNotConnected) {
		t.Fatalf("got %v", err)
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		e := newEnv(t)
		ann := e.connect("ann")
		sue := e.connect("sue")
		ann.available()
		_ = e.router.Inbound("call-x", "")
		ann.expect("call.offered")
		// The clients read (and so answer the close handshake) while the
		// hub closes.
		var wg sync.WaitGroup
		for _, c := range []*client{ann, sue} {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				for {
					if _, _, err := c.ws.Read(ctx); err != nil {
						if s := websocket.CloseStatus(err); s != websocket.StatusGoingAway {
							t.Errorf("%s closed with %v (%v)", c.name, s, err)
						}
						return
					}
				}
			})
		}
		start := time.Now()
		if err := e.hub.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Close took %v", d)
		}
		_, status, _, err := e.dial("bob", e.signIn("bob"), false)
		if err == nil || status != http.StatusServiceUnavailable {
			t.Errorf("after Close: %d %v", status, err)
		}
		e.close()
		_ = ann.ws.CloseNow()
		_ = sue.ws.CloseNow()
	}()
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

// TestSilentPeerIsDropped: a peer that stops answering pings (here: never
// reads again, so never sends a pong) is disconnected, and the queue hears.
func TestSilentPeerIsDropped(t *testing.T) {
	e := newEnv(t, func(p *signal.Params) { p.PingInterval = 30 * time.Millisecond })
	ann := e.connect("ann")
	ann.available()
	eventually(t, "ann dropped", func() bool { return !e.hub.Connected("ann") })
	eventually(t, "ann gone from the queue", func() bool { _, ok := e.router.Agent("ann"); return !ok })
}

// TestPingsKeepAReadingPeer: a peer that reads answers pings and stays.
func TestPingsKeepAReadingPeer(t *testing.T) {
	e := newEnv(t, func(p *signal.Params) { p.PingInterval = 100 * time.Millisecond })
	ann := e.connect("ann")
	ann.available()
	for start := time.Now(); time.Since(start) < 600*time.Millisecond; {
		ann.send(map[string]any{"type": "ping", "id": "p"})
		ann.expect("pong")
	}
	if !e.hub.Connected("ann") {
		t.Fatal("dropped while answering pings")
	}
}

// TestQueueRefusesAgent: with the call queue closed, an agent is told and
// closed (4002); a supervisor still connects.
func TestQueueRefusesAgent(t *testing.T) {
	e := newEnv(t)
	_ = e.router.Close()
	ann := e.connect("ann")
	if m := ann.expect("error"); m["code"] != "unavailable" {
		t.Fatalf("error %v", m)
	}
	if s := ann.expectClose(); s != websocket.StatusCode(protocol.CloseNotRegistered) {
		t.Fatalf("closed with %v", s)
	}
	sue := e.connect("sue")
	sue.send(map[string]any{"type": "ping"})
	sue.expect("pong")
}

// supervisorAndAnsweredCall connects sue (a supervisor) and ann (an
// agent), who answers call-abc.
func (e *env) supervisorAndAnsweredCall() (sue, ann *client) {
	sue = e.connect("sue")
	ann = e.connect("ann")
	ann.available()
	_ = e.router.Inbound("call-abc", "+441632960001")
	ann.expect("call.offered")
	ann.send(map[string]any{"type": "answer", "call": "call-abc"})
	ann.expect("call.started")
	return sue, ann
}

func TestSupervisorListens(t *testing.T) {
	e := newEnv(t)
	sue, ann := e.supervisorAndAnsweredCall()

	// Agents do not listen in.
	ann.send(map[string]any{"type": "listen", "call": "call-abc", "id": "a1"})
	if m := ann.expect("error"); m["code"] != "forbidden" || m["id"] != "a1" {
		t.Fatalf("agent listen: %v", m)
	}
	// Each refusal has its code.
	for call, code := range map[string]string{"nope": "no_call", "ringing": "not_active", "full": "limit"} {
		sue.send(map[string]any{"type": "listen", "call": call, "id": call})
		if m := sue.expect("error"); m["code"] != code || m["id"] != call {
			t.Errorf("listen %s: %v, want %s", call, m, code)
		}
	}
	sue.send(map[string]any{"type": "listen", "id": "x"})
	if m := sue.expect("error"); m["code"] != "bad_request" {
		t.Errorf("listen without a call: %v", m)
	}
	sue.send(map[string]any{"type": "unlisten", "call": "call-abc", "id": "u0"})
	if m := sue.expect("error"); m["code"] != "not_listening" || m["id"] != "u0" {
		t.Errorf("unlisten first: %v", m)
	}

	// Listen, then the WebRTC exchange as an agent does it.
	sue.send(map[string]any{"type": "listen", "call": "call-abc", "id": "l1"})
	if m := sue.expect("listen.started"); m["call"] != "call-abc" || m["id"] != "l1" {
		t.Fatalf("listen.started %v", m)
	}
	sue.send(map[string]any{"type": "sdp", "call": "call-abc", "kind": "offer", "sdp": "v=0 sue"})
	if m := sue.expect("sdp"); m["kind"] != "answer" || m["sdp"] != "answer to v=0 sue" {
		t.Fatalf("sdp %v", m)
	}
	sue.send(map[string]any{"type": "candidate", "call": "call-abc", "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host"})
	// Supervisors still take no calls.
	sue.send(map[string]any{"type": "answer", "call": "call-abc", "id": "s2"})
	if m := sue.expect("error"); m["code"] != "forbidden" {
		t.Fatalf("supervisor answer: %v", m)
	}
	sue.send(map[string]any{"type": "unlisten", "call": "call-abc", "id": "u1"})
	if m := sue.expect("listen.ended"); m["reason"] != "supervisor" || m["id"] != "u1" {
		t.Fatalf("listen.ended %v", m)
	}
	// The media side ends it when the call ends.
	e.hub.ListenEnded("sue", "call-abc", protocol.ListenEndCallEnded)
	if m := sue.expect("listen.ended"); m["reason"] != "call_ended" || m["call"] != "call-abc" {
		t.Fatalf("listen.ended %v", m)
	}
	// The agent heard nothing of it.
	ann.send(map[string]any{"type": "ping", "id": "p"})
	ann.expect("pong")

	// A supervisor who leaves stops listening everywhere.
	sue.send(map[string]any{"type": "listen", "call": "call-abc", "id": "l2"})
	sue.expect("listen.started")
	_ = sue.ws.Close(websocket.StatusNormalClosure, "")
	eventually(t, "unlisten on disconnect", func() bool {
		r := e.media.recorded()
		return r[len(r)-1] == "unlisten sue "
	})
	want := []string{
		"unlisten sue call-abc", // refused: not listening yet
		"listen sue call-abc",
		"sdp sue call-abc offer v=0 sue",
		"candidate sue call-abc candidate:1 1 udp 1 127.0.0.1 9 typ host",
		"unlisten sue call-abc",
		"listen sue call-abc",
		"unlisten sue ",
	}
	if got := e.media.recorded(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("media got\n%q\nwant\n%q", got, want)
	}
}

// routerDialer places calls as the calls manager does, minus the trunk:
// the call becomes the agent's at once.
type routerDialer struct {
	r    *route.Router
	n    int
	none bool // as if no outbound trunk were configured
}

func (d *routerDialer) Dial(_ context.Context, agent, number string) error {
	if d.none {
		return fmt.Errorf("dial: %w", signal.ErrNoOutbound)
	}
	d.n++
	return d.r.Outbound(agent, fmt.Sprintf("out-%d", d.n), number)
}

func TestAgentDials(t *testing.T) {
	d := &routerDialer{}
	e := newEnv(t, func(p *signal.Params) { p.Dialer = d })
	d.r = e.router
	ann := e.connect("ann")
	sue := e.connect("sue")
	ann.expectStatus("away")

	for _, bad := range []string{"", "12a4", "+", "++44", strings.Repeat("1", 33), "0800 123"} {
		ann.send(map[string]any{"type": "dial", "number": bad, "id": "b"})
		if m := ann.expect("error"); m["code"] != "bad_request" || m["id"] != "b" {
			t.Errorf("dial %q: %v", bad, m)
		}
	}
	sue.send(map[string]any{"type": "dial", "number": "123", "id": "s"})
	if m := sue.expect("error"); m["code"] != "forbidden" {
		t.Errorf("supervisor dial: %v", m)
	}

	// An away agent may dial; the call is theirs at once.
	ann.send(map[string]any{"type": "dial", "number": "+441632960123"})
	m := ann.expect("call.started")
	if m["call"] != "out-1" || m["from"] != "+441632960123" || m["outbound"] != true {
		t.Fatalf("call.started %v", m)
	}
	ann.expectStatus("busy")
	for {
		m := sue.expect("call.changed")
		if cs := m["calls"].([]any); len(cs) == 1 {
			c := cs[0].(map[string]any)
			if c["outbound"] != true || c["agent"] != "ann" || c["state"] != "active" {
				t.Fatalf("calls %v", m)
			}
			break
		}
	}
	e.hub.Progress("ann", "out-1", protocol.ProgressRinging)
	if m := ann.expect("call.progress"); m["status"] != "ringing" || m["call"] != "out-1" {
		t.Fatalf("call.progress %v", m)
	}
	// One call at a time.
	ann.send(map[string]any{"type": "dial", "number": "123", "id": "2"})
	if m := ann.expect("error"); m["code"] != "busy" || m["id"] != "2" {
		t.Errorf("second dial: %v", m)
	}
	ann.send(map[string]any{"type": "hangup", "call": "out-1"})
	if m := ann.expect("call.ended"); m["reason"] != "agent" {
		t.Fatalf("call.ended %v", m)
	}
	ann.expectStatus("away")

	d.none = true
	ann.send(map[string]any{"type": "dial", "number": "123", "id": "3"})
	if m := ann.expect("error"); m["code"] != "unavailable" {
		t.Errorf("dial with no trunk: %v", m)
	}
}

func TestDialWithoutDialer(t *testing.T) {
	e := newEnv(t)
	ann := e.connect("ann")
	ann.send(map[string]any{"type": "dial", "number": "123", "id": "x"})
	if m := ann.expect("error"); m["code"] != "unavailable" || m["id"] != "x" {
		t.Errorf("dial: %v", m)
	}
}

// TestSupervisorSnapshotPaged: a supervisor connecting while 250 calls
// wait gets the calls in pages of at most protocol.SnapshotPage, every
// page but the last with more; then each change is one message about one
// call, and a call that ends is removed.
func TestSupervisorSnapshotPaged(t *testing.T) {
	e := newEnv(t)
	const n = 250
	for i := range n {
		if err := e.router.Inbound(fmt.Sprintf("call-%03d", i), "+441632960001"); err != nil {
			t.Fatal(err)
		}
	}
	sue := e.connect("sue")
	if m := sue.expect("agents"); m["more"] != nil || len(m["agents"].([]any)) != 0 {
		t.Fatalf("agents %v", m)
	}
	got, pages := 0, 0
	for {
		m, raw := sue.expectRaw("calls")
		pages++
		cs := m["calls"].([]any)
		got += len(cs)
		if len(cs) > protocol.SnapshotPage || len(raw) > protocol.MaxMessage {
			t.Fatalf("page %d: %d calls in %d bytes", pages, len(cs), len(raw))
		}
		if cs[0].(map[string]any)["call"] != fmt.Sprintf("call-%03d", (pages-1)*protocol.SnapshotPage) {
			t.Fatalf("page %d starts with %v: not in queue order", pages, cs[0])
		}
		if m["more"] != true {
			break
		}
	}
	if got != n || pages != 3 {
		t.Fatalf("%d calls in %d pages, want %d in 3", got, pages, n)
	}
	_ = e.router.Inbound("call-new", "+441632960002")
	if m := sue.expect("call.changed"); len(m["calls"].([]any)) != 1 || m["calls"].([]any)[0].(map[string]any)["call"] != "call-new" {
		t.Fatalf("call.changed %v", m)
	}
	_ = e.router.Hangup("call-007", "")
	if m := sue.expect("call.removed"); m["call"] != "call-007" || m["calls"] != nil {
		t.Fatalf("call.removed %v", m)
	}
}

// TestSupervisorWhispers: listen takes a mode (listen when left out), and
// listen.started says it; an unknown mode is a bad request, whisper on a
// leg with no microphone is no_microphone; the agent is told of a
// supervisor heard (Hub.Supervisor, which the calls drive).
func TestSupervisorWhispers(t *testing.T) {
	e := newEnv(t)
	sue, ann := e.supervisorAndAnsweredCall()

	ann.send(map[string]any{"type": "listen", "call": "call-abc", "mode": "whisper", "id": "a1"})
	if m := ann.expect("error"); m["code"] != "forbidden" {
		t.Fatalf("agent whisper: %v", m)
	}
	for _, c := range []struct{ mode, want string }{{"", "listen"}, {"whisper", "whisper"}, {"barge", "barge"}, {"listen", "listen"}} {
		msg := map[string]any{"type": "listen", "call": "call-abc", "id": "l-" + c.mode}
		if c.mode != "" {
			msg["mode"] = c.mode
		}
		sue.send(msg)
		if m := sue.expect("listen.started"); m["mode"] != c.want || m["id"] != "l-"+c.mode || m["call"] != "call-abc" {
			t.Errorf("listen with mode %q: %v, want mode %s", c.mode, m, c.want)
		}
	}
	sue.send(map[string]any{"type": "listen", "call": "call-abc", "mode": "shout", "id": "bad"})
	if m := sue.expect("error"); m["code"] != "bad_request" || m["id"] != "bad" {
		t.Errorf("an unknown mode: %v", m)
	}
	sue.send(map[string]any{"type": "listen", "call": "nomic", "mode": "barge", "id": "nm"})
	if m := sue.expect("error"); m["code"] != "no_microphone" || m["id"] != "nm" {
		t.Errorf("barge with no microphone: %v", m)
	}
	want := []string{"listen sue call-abc", "listen sue call-abc whisper", "listen sue call-abc barge", "listen sue call-abc"}
	if got := e.media.recorded(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("media got\n%q\nwant\n%q", got, want)
	}

	e.hub.Supervisor("ann", "call-abc", "sue", protocol.ModeWhisper)
	if m := ann.expect("supervisor"); m["call"] != "call-abc" || m["user"] != "sue" || m["mode"] != "whisper" {
		t.Errorf("supervisor %v", m)
	}
	e.hub.Supervisor("ann", "call-abc", "sue", "")
	if m := ann.expect("supervisor"); m["user"] != "sue" || m["mode"] != nil {
		t.Errorf("supervisor stopped: %v", m)
	}
}
