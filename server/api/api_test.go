package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/totp"
)

// cheap keeps the tests quick; TestSignInWithDefaultHash covers the real
// parameters.
var cheap = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type env struct {
	t     *testing.T
	url   string
	clock *testkit.Clock
	store *store.Store
	srv   *Server
}

// newEnv starts the API on loopback over a real store in a temp dir, with
// users ann (agent), sue (supervisor) and root (admin), password
// "NAME-password"; sue and root have a second factor (mfaSecret), which
// signIn answers.
func newEnv(t *testing.T, hash auth.Params) *env {
	t.Helper()
	ctx := context.Background()
	c := testkit.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	st, err := store.Open(ctx, t.TempDir(), store.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, u := range []struct {
		name string
		role store.Role
	}{{"ann", store.RoleAgent}, {"sue", store.RoleSupervisor}, {"root", store.RoleAdmin}} {
		h, err := hash.Hash(u.name + "-password")
		if err != nil {
			t.Fatal(err)
		}
		nu, err := st.AddUser(ctx, u.name, u.role, h)
		if err != nil {
			t.Fatal(err)
		}
		if u.role != store.RoleAgent {
			if err := st.SetMFA(ctx, nu.ID, mfaSecret, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := New(Params{Store: st, SessionTTL: time.Hour, Now: c.Now, Hash: hash})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler()) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, clock: c, store: st, srv: s}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(method, path, token, body string) reply {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			e.t.Errorf("%s %s: Content-Type %q", method, path, resp.Header.Get("Content-Type"))
		}
		if err := json.Unmarshal(b, &r.body); err != nil && !strings.HasPrefix(string(b), "[") {
			e.t.Errorf("%s %s: body is not JSON: %q", method, path, b)
		}
	}
	return r
}

// get GETs path with token (and a Range header, if rng is not empty), for
// answers that are not JSON (files, CSV): the status, the headers, the body.
func (e *env) get(path, token, rng string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), "GET", e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func (e *env) signIn(name string) string {
	e.t.Helper()
	code := ""
	if name != "ann" {
		code = `,"code":"` + e.nextCode(name) + `"`
	}
	r := e.do("POST", "/api/v1/session", "", `{"name":"`+name+`","password":"`+name+`-password"`+code+`}`)
	tok, _ := r.body["token"].(string)
	if r.status != http.StatusOK || tok == "" {
		e.t.Fatalf("sign in %s: %d %s", name, r.status, r.raw)
	}
	return tok
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, cheap)
	if r := e.do("GET", "/healthz", "", ""); r.status != 200 || r.body["status"] != "ok" {
		t.Fatalf("healthz: %d %s", r.status, r.raw)
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, cheap)
	for _, tc := range []struct {
		name, body string
		status     int
		err        string // substring of the error; "" for success
		role       string
	}{
		{"good agent", `{"name":"ann","password":"ann-password"}`, 200, "", "agent"},
		{"good admin, name in other case", `{"name":"ROOT","password":"root-password","code":"` + e.code(totp.Step(e.clock.Now())) + `"}`, 200, "", "admin"},
		{"wrong password", `{"name":"ann","password":"sue-password"}`, 401, "wrong name or password", ""},
		{"unknown user", `{"name":"zed","password":"zed-password"}`, 401, "wrong name or password", ""},
		{"overlong name", `{"name":"` + strings.Repeat("z", 100) + `","password":"x"}`, 401, "wrong name or password", ""},
		{"missing password", `{"name":"ann"}`, 400, `send both "name" and "password"`, ""},
		{"empty body", ``, 400, "empty request body", ""},
		{"junk", `{"name":"ann",`, 400, "malformed JSON", ""},
		{"not JSON", `name=ann&password=x`, 400, "malformed JSON at byte 2: invalid character", ""},
		{"wrong type", `{"name":"ann","password":12345678}`, 400, `"password" must be a string`, ""},
		{"unknown field", `{"name":"ann","password":"ann-password","admin":true}`, 400, `unknown field; this request takes "name", "password" and "code"`, ""},
		{"two objects", `{"name":"ann","password":"ann-password"}{}`, 400, "one object and nothing after it", ""},
		{"oversized", `{"name":"ann","password":"` + strings.Repeat("x", MaxBody) + `"}`, 413, "too large", ""},
	} {
		r := e.do("POST", "/api/v1/session", "", tc.body)
		if r.status != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, r.status, tc.status, r.raw)
			continue
		}
		if tc.err != "" {
			if msg, _ := r.body["error"].(string); !strings.Contains(msg, tc.err) {
				t.Errorf("%s: error %q, want it to say %q", tc.name, msg, tc.err)
			}
			if _, ok := r.body["token"]; ok {
				t.Errorf("%s: a token on failure", tc.name)
			}
			continue
		}
		tok, _ := r.body["token"].(string)
		if len(tok) != 43 || r.body["role"] != tc.role {
			t.Errorf("%s: %s", tc.name, r.raw)
		}
		exp, err := time.Parse(time.RFC3339, r.body["expires"].(string))
		if err != nil || !exp.Equal(e.clock.Now().Add(time.Hour)) {
			t.Errorf("%s: expires %v (%v), want an hour from now", tc.name, r.body["expires"], err)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: a token response may be cached", tc.name)
		}
	}
}

func TestWrongPasswordAndUnknownUserLookAlike(t *testing.T) {
	e := newEnv(t, cheap)
	a := e.do("POST", "/api/v1/session", "", `{"name":"ann","password":"nope-nope"}`)
	b := e.do("POST", "/api/v1/session", "", `{"name":"nobody","password":"nope-nope"}`)
	if a.status != b.status || a.raw != b.raw {
		t.Errorf("wrong password %d %q, unknown user %d %q: they differ", a.status, a.raw, b.status, b.raw)
	}
}

func TestSessionLifecycle(t *testing.T) {
	e := newEnv(t, cheap)
	tok := e.signIn("ann")
	tok2 := e.signIn("ann") // a second device

	r := e.do("GET", "/api/v1/me", tok, "")
	if r.status != 200 || r.body["name"] != "ann" || r.body["role"] != "agent" || r.body["token"] != nil {
		t.Fatalf("me: %d %s", r.status, r.raw)
	}
	for _, tc := range []struct {
		name, token string
		header      string
		status      int
		err         string
	}{
		{"no header", "", "", 401, "sign in first"},
		{"not bearer", "", "Basic YW5uOmFubi1wYXNzd29yZA==", 401, "sign in first"},
		{"unknown token", other(tok[0]) + tok[1:], "", 401, "sign in again"},
		{"lowercase scheme", "", "bearer " + tok, 200, ""},
	} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", e.url+"/api/v1/me", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if msg, _ := body["error"].(string); tc.err != "" && !strings.Contains(msg, tc.err) {
			t.Errorf("%s: error %q, want %q", tc.name, msg, tc.err)
		}
		if tc.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
		}
	}

	// Sign out: that token stops working, the other device's does not.
	if r := e.do("DELETE", "/api/v1/session", tok, ""); r.status != 204 {
		t.Fatalf("sign out: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/api/v1/me", tok, ""); r.status != 401 {
		t.Errorf("after sign-out: %d", r.status)
	}
	if r := e.do("DELETE", "/api/v1/session", tok, ""); r.status != 401 {
		t.Errorf("second sign-out: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/me", tok2, ""); r.status != 200 {
		t.Errorf("other session after sign-out: %d", r.status)
	}

	// Expiry.
	e.clock.Add(time.Hour - time.Second)
	if r := e.do("GET", "/api/v1/me", tok2, ""); r.status != 200 {
		t.Errorf("a second before expiry: %d", r.status)
	}
	e.clock.Add(time.Second)
	r = e.do("GET", "/api/v1/me", tok2, "")
	if msg, _ := r.body["error"].(string); r.status != 401 || !strings.Contains(msg, "expired") {
		t.Errorf("expired token: %d %s", r.status, r.raw)
	}

	// Removing a user ends its sessions at once.
	tok3 := e.signIn("ann")
	if err := e.store.RemoveUser(context.Background(), "ann"); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/v1/me", tok3, ""); r.status != 401 {
		t.Errorf("removed user's token: %d", r.status)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t, cheap)
	tokens := map[string]string{"ann": e.signIn("ann"), "sue": e.signIn("sue"), "root": e.signIn("root")}
	for _, tc := range []struct {
		user   string
		status int
	}{{"ann", 403}, {"sue", 200}, {"root", 200}, {"", 401}} {
		r := e.do("GET", "/api/v1/users", tokens[tc.user], "")
		if r.status != tc.status {
			t.Errorf("%q GET /api/v1/users: %d, want %d (%s)", tc.user, r.status, tc.status, r.raw)
		}
		if tc.status == 403 {
			if msg, _ := r.body["error"].(string); msg != "this needs the supervisor or admin role" {
				t.Errorf("403 says %q", msg)
			}
		}
		if tc.status == 200 {
			var users []map[string]any
			if err := json.Unmarshal([]byte(r.raw), &users); err != nil || len(users) != 3 || users[0]["name"] != "ann" {
				t.Errorf("users: %s", r.raw)
			}
			if strings.Contains(r.raw, "argon2") || strings.Contains(r.raw, "password") {
				t.Errorf("users response leaks hashes: %s", r.raw)
			}
		}
	}
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, cheap)
	bad := `{"name":"ann","password":"guess-guess"}`
	good := `{"name":"ann","password":"ann-password"}`
	for i := range DefaultFailLimit {
		if r := e.do("POST", "/api/v1/session", "", bad); r.status != 401 {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
		e.clock.Add(time.Second)
	}
	// The next attempt, even with the right password, waits.
	r := e.do("POST", "/api/v1/session", "", good)
	if r.status != 429 {
		t.Fatalf("after %d failures: %d %s", DefaultFailLimit, r.status, r.raw)
	}
	if ra := r.header.Get("Retry-After"); ra != "55" {
		t.Errorf("Retry-After %q, want 55 (the oldest failure leaves the minute then)", ra)
	}
	if msg, _ := r.body["error"].(string); !strings.Contains(msg, "try again in 55 s") {
		t.Errorf("429 says %q", msg)
	}
	// Other names are not affected; case does not dodge the limit.
	if r := e.do("POST", "/api/v1/session", "", `{"name":"sue","password":"sue-password","code":"`+e.nextCode("sue")+`"}`); r.status != 200 {
		t.Errorf("other user: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/session", "", `{"name":"ANN","password":"ann-password"}`); r.status != 429 {
		t.Errorf("same name in capitals: %d", r.status)
	}
	// Once the oldest failure leaves the window, one attempt is allowed.
	e.clock.Add(55 * time.Second)
	if r := e.do("POST", "/api/v1/session", "", good); r.status != 200 {
		t.Errorf("after the window: %d %s", r.status, r.raw)
	}
	// A good sign-in clears the count.
	for range DefaultFailLimit - 1 {
		e.do("POST", "/api/v1/session", "", bad)
	}
	if r := e.do("POST", "/api/v1/session", "", good); r.status != 200 {
		t.Errorf("after a reset and %d failures: %d", DefaultFailLimit-1, r.status)
	}
	// Unknown names are limited too (and look the same).
	for range DefaultFailLimit {
		e.do("POST", "/api/v1/session", "", `{"name":"zed","password":"guess-guess"}`)
	}
	if r := e.do("POST", "/api/v1/session", "", `{"name":"zed","password":"guess-guess"}`); r.status != 429 {
		t.Errorf("unknown name after %d failures: %d", DefaultFailLimit, r.status)
	}
}

func TestJSONErrorsEverywhere(t *testing.T) {
	e := newEnv(t, cheap)
	for _, tc := range []struct {
		method, path, body, ctype string
		status                    int
	}{
		{"GET", "/nope", "", "", 404},
		{"GET", "/api/v1/session", "", "", 405},
		{"PUT", "/healthz", "", "", 405},
		{"POST", "/api/v1/session", "name=ann", "application/x-www-form-urlencoded", 415},
	} {
		req, _ := http.NewRequestWithContext(context.Background(), tc.method, e.url+tc.path, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		derr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || derr != nil || body["error"] == "" {
			t.Errorf("%s %s: %d %v %v", tc.method, tc.path, resp.StatusCode, body, derr)
		}
	}
}

// The real hash parameters, end to end, once.
func TestSignInWithDefaultHash(t *testing.T) {
	if testing.Short() {
		t.Skip("argon2id at 64 MiB")
	}
	e := newEnv(t, auth.DefaultParams)
	start := time.Now()
	tok := e.signIn("sue")
	t.Logf("sign-in with the default hash: %v", time.Since(start))
	if r := e.do("GET", "/api/v1/me", tok, ""); r.status != 200 || r.body["role"] != "supervisor" {
		t.Errorf("me: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/api/v1/session", "", `{"name":"nobody","password":"whatever1"}`); r.status != 401 {
		t.Errorf("unknown: %d", r.status)
	}
}

// annOnly is a store in a new folder holding one user: ann, an agent,
// with "ann-password" (a cheap hash).
func annOnly(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h, err := cheap.Hash("ann-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, "ann", store.RoleAgent, h); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestSignInBurst: a burst of sign-ins runs at most MaxHashing password
// checks at once (each holds the hash's memory); sign-ins beyond the
// waiting room get 503 with Retry-After; every other one succeeds.
func TestSignInBurst(t *testing.T) {
	st := annOnly(t)
	// The sign-in limits count attempts in flight; they are not what is
	// measured here, so they let the whole burst through.
	s, err := New(Params{Store: st, Hash: cheap, MaxHashing: 2, MaxWaiting: 6, FailLimit: 12, SourceFailLimit: 12})
	if err != nil {
		t.Fatal(err)
	}
	var running, peak atomic.Int64
	release := make(chan struct{})
	s.verify = func(pw, enc string) error {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		defer running.Add(-1)
		return auth.Verify(pw, enc)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	const n = 12
	codes := make(chan int, n)
	for range n {
		go func() {
			res, err := http.Post(srv.URL+"/api/v1/session", "application/json", strings.NewReader(`{"name":"ann","password":"ann-password"}`))
			if err != nil {
				codes <- 0
				return
			}
			_ = res.Body.Close()
			if res.StatusCode == http.StatusServiceUnavailable && res.Header.Get("Retry-After") == "" {
				codes <- -1
				return
			}
			codes <- res.StatusCode
		}()
	}
	// 2 checking and 6 waiting: the other 4 are turned away at once.
	got := map[int]int{}
	for range n - 8 {
		got[<-codes]++
	}
	if got[http.StatusServiceUnavailable] != n-8 {
		t.Fatalf("before any check finished: %v, want %d refusals with Retry-After", got, n-8)
	}
	close(release)
	for range 8 {
		got[<-codes]++
	}
	if got[http.StatusOK] != 8 || peak.Load() != 2 {
		t.Fatalf("codes %v, at most %d checks at once; want 8 sign-ins, 2 at once", got, peak.Load())
	}
}

// other is a token character other than c (a token with its first
// character changed is an unknown one).
func other(c byte) string {
	if c == 'x' {
		return "y"
	}
	return "x"
}
