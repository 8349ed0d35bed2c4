package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/totp"
)

// mfaSecret is the second factor newEnv gives sue and root.
const mfaSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// nextCode is a code for name's second factor that has not been used: the
// current step's, or a later one within the accepted skew (the clock moves
// on a step when even that was used).
func (e *env) nextCode(name string) string {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.store.UserByName(ctx, name)
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := e.store.UserMFA(ctx, u.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	step := max(totp.Step(e.clock.Now()), m.LastStep+1)
	if step > totp.Step(e.clock.Now())+totp.Skew {
		e.clock.Add(totp.Period)
	}
	c, err := totp.Code(m.Secret, step)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) code(step int64) string {
	e.t.Helper()
	c, err := totp.Code(mfaSecret, step)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestSignInMFA: supervisors and admins need their code; without it the
// answer says so (mfa_required) and it is no failure; a wrong code is (it
// counts against the limit like a wrong password); a right code is taken
// once (replay), and an older one after a newer one never; agents without
// a second factor sign in with the password alone.
func TestSignInMFA(t *testing.T) {
	e := newEnv(t, cheap)
	now := totp.Step(e.clock.Now())
	sue := func(extra string) reply {
		return e.do("POST", "/api/v1/session", "", `{"name":"sue","password":"sue-password"`+extra+`}`)
	}
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"no code", "", 401, "mfa_required"},
		{"empty code", `,"code":""`, 401, "mfa_required"},
		{"wrong code", `,"code":"000000"`, 401, "mfa_invalid"},
		{"too long", `,"code":"` + strings.Repeat("1", 100) + `"`, 401, "mfa_invalid"},
		{"unknown recovery code", `,"code":"abcd-efgh-ijkl-mnop"`, 401, "mfa_invalid"},
		{"right code", `,"code":"` + e.code(now) + `"`, 200, ""},
		{"the same code again", `,"code":"` + e.code(now) + `"`, 401, "mfa_invalid"},
		{"the previous step's", `,"code":"` + e.code(now-1) + `"`, 401, "mfa_invalid"},
		{"the next step's", `,"code":"` + e.code(now+1) + `"`, 200, ""},
	} {
		r := sue(tc.body)
		if got, _ := r.body["code"].(string); r.status != tc.status || got != tc.code {
			t.Errorf("%s: %d %s, want %d %q", tc.name, r.status, r.raw, tc.status, tc.code)
		}
		if tc.status == 200 {
			if tok, _ := r.body["token"].(string); tok == "" {
				t.Errorf("%s: no token: %s", tc.name, r.raw)
			}
		}
	}
	// A wrong password with a right code is just a wrong password.
	if r := e.do("POST", "/api/v1/session", "", `{"name":"root","password":"guess-guess","code":"`+e.code(now)+`"}`); r.status != 401 || r.body["code"] != nil {
		t.Errorf("wrong password, right code: %d %s", r.status, r.raw)
	}
	// The agent has none: the password alone will do.
	if r := e.do("POST", "/api/v1/session", "", `{"name":"ann","password":"ann-password"}`); r.status != 200 {
		t.Errorf("agent: %d %s", r.status, r.raw)
	}
}

// TestMFACodesCountAsFailures: guessing codes with the right password is
// held back by the same limit as guessing passwords; asking without a code
// is not counted.
func TestMFACodesCountAsFailures(t *testing.T) {
	e := newEnv(t, cheap)
	for range 2 * DefaultFailLimit {
		if r := e.do("POST", "/api/v1/session", "", `{"name":"sue","password":"sue-password"}`); r.status != 401 {
			t.Fatalf("no code: %d %s", r.status, r.raw)
		}
	}
	for i := range DefaultFailLimit {
		if r := e.do("POST", "/api/v1/session", "", `{"name":"sue","password":"sue-password","code":"00000`+string(rune('0'+i))+`"}`); r.status != 401 {
			t.Fatalf("guess %d: %d %s", i+1, r.status, r.raw)
		}
	}
	r := e.do("POST", "/api/v1/session", "", `{"name":"sue","password":"sue-password","code":"`+e.code(totp.Step(e.clock.Now()))+`"}`)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("after %d wrong codes: %d %s, want 429", DefaultFailLimit, r.status, r.raw)
	}
}

// TestMFAReplayRace: the same right code sent twice at once signs in once.
func TestMFAReplayRace(t *testing.T) {
	e := newEnv(t, cheap)
	code := e.code(totp.Step(e.clock.Now()))
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[int]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do("POST", "/api/v1/session", "", `{"name":"root","password":"root-password","code":"`+code+`"}`)
			mu.Lock()
			got[r.status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if got[200] != 1 || got[401] != 3 {
		t.Errorf("one code, four sign-ins at once: %v, want one 200 and three 401", got)
	}
}

// TestMFAEnrolmentRequired: a supervisor or admin without a second factor
// cannot sign in (mfa_enroll says what to do); an agent can, unless
// MFAAgents; an enrolled agent always needs the code.
func TestMFAEnrolmentRequired(t *testing.T) {
	for _, agents := range []bool{false, true} {
		e := newEnv(t, cheap)
		s, err := New(Params{Store: e.store, Now: e.clock.Now, Hash: cheap, MFAAgents: agents})
		if err != nil {
			t.Fatal(err)
		}
		e.url = startServer(t, s)
		ctx := context.Background()
		for _, u := range []struct {
			name string
			role store.Role
		}{{"sam", store.RoleSupervisor}, {"ada", store.RoleAdmin}, {"abe", store.RoleAgent}} {
			h, _ := cheap.Hash(u.name + "-password")
			if _, err := e.store.AddUser(ctx, u.name, u.role, h); err != nil {
				t.Fatal(err)
			}
			r := e.do("POST", "/api/v1/session", "", `{"name":"`+u.name+`","password":"`+u.name+`-password"}`)
			wantEnroll := u.role != store.RoleAgent || agents
			msg, _ := r.body["error"].(string)
			switch {
			case wantEnroll && (r.status != 403 || r.body["code"] != "mfa_enroll" || !strings.Contains(msg, "user mfa enroll")):
				t.Errorf("agents required %v, %s without a second factor: %d %s, want 403 mfa_enroll", agents, u.role, r.status, r.raw)
			case !wantEnroll && r.status != 200:
				t.Errorf("agents required %v, agent without a second factor: %d %s", agents, r.status, r.raw)
			}
			// A wrong password says nothing of the second factor.
			if r := e.do("POST", "/api/v1/session", "", `{"name":"`+u.name+`","password":"guess-guess"}`); r.status != 401 || r.body["code"] != nil {
				t.Errorf("%s, wrong password: %d %s", u.name, r.status, r.raw)
			}
		}
		// An enrolled agent needs the code.
		u, _ := e.store.UserByName(ctx, "ann")
		if err := e.store.SetMFA(ctx, u.ID, mfaSecret, nil); err != nil {
			t.Fatal(err)
		}
		if r := e.do("POST", "/api/v1/session", "", `{"name":"ann","password":"ann-password"}`); r.status != 401 || r.body["code"] != "mfa_required" {
			t.Errorf("enrolled agent without a code: %d %s", r.status, r.raw)
		}
	}
}

// TestMFARecoveryCodes: each recovery code signs in once, typed any way.
func TestMFARecoveryCodes(t *testing.T) {
	e := newEnv(t, cheap)
	ctx := context.Background()
	codes, hashes, err := totp.NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := e.store.UserByName(ctx, "sue")
	if err := e.store.SetMFA(ctx, u.ID, mfaSecret, hashes); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code   string
		status int
	}{
		{codes[0], 200},
		{codes[0], 401},
		{strings.ToUpper(strings.ReplaceAll(codes[1], "-", "")), 200},
		{codes[1], 401},
	} {
		if r := e.do("POST", "/api/v1/session", "", `{"name":"sue","password":"sue-password","code":"`+tc.code+`"}`); r.status != tc.status {
			t.Errorf("recovery code %q: %d %s, want %d", tc.code, r.status, r.raw, tc.status)
		}
		e.clock.Add(time.Second)
	}
}

// startServer serves s on loopback until the test ends.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}
