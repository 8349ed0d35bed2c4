package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/hushphone/hushphone/server/totp"
)

// TestUserAdmin: an admin adds an agent and a supervisor, enrols the
// supervisor's second factor (who then signs in with a code from it),
// resets a password (the old one stops working, the user's sessions end),
// changes a role, disables and enables, resets the second factor and
// removes a user; a supervisor and an agent can do none of it, an admin
// cannot lock their own account, and bad input gets a clear 400 that
// never repeats it.
func TestUserAdmin(t *testing.T) {
	e := newEnv(t, cheap)
	ctx := context.Background()
	root, sue, ann := e.signIn("root"), e.signIn("sue"), e.signIn("ann")
	for _, tok := range []string{sue, ann} {
		if r := e.do("POST", "/api/v1/users", tok, `{"name":"bob","role":"agent","password":"bob-password"}`); r.status != http.StatusForbidden {
			t.Errorf("a non-admin adds a user: %d", r.status)
		}
		if r := e.do("DELETE", "/api/v1/users/ann", tok, ""); r.status != http.StatusForbidden {
			t.Errorf("a non-admin removes a user: %d", r.status)
		}
	}
	if r := e.do("POST", "/api/v1/users", root, `{"name":"bob","role":"agent","password":"bob-password"}`); r.status != http.StatusCreated || r.body["name"] != "bob" || r.body["mfa"] != false {
		t.Fatalf("add bob: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/api/v1/users", root, `{"name":"BOB","role":"agent","password":"bob-password"}`); r.status != http.StatusConflict {
		t.Errorf("add BOB again: %d %s", r.status, r.raw)
	}
	for _, bad := range []string{
		`{"name":"bad name!","role":"agent","password":"long-enough"}`,
		`{"name":"4242424242424242","role":"agent","password":"long-enough"}`,
		`{"name":"zed","role":"boss","password":"long-enough"}`,
		`{"name":"zed","role":"agent","password":"short"}`,
	} {
		r := e.do("POST", "/api/v1/users", root, bad)
		msg, _ := r.body["error"].(string)
		if r.status != http.StatusBadRequest || msg == "" || strings.Contains(msg, "bad name!") || strings.Contains(msg, "4242") || strings.Contains(msg, "boss") || strings.Contains(msg, "short") {
			t.Errorf("%s: %d %s, want 400 with an error that does not repeat it", bad, r.status, r.raw)
		}
	}
	if r := e.do("POST", "/api/v1/session", "", `{"name":"bob","password":"bob-password"}`); r.status != http.StatusOK {
		t.Fatalf("bob signs in: %d %s", r.status, r.raw)
	}

	// A supervisor, who needs a second factor before signing in.
	if r := e.do("POST", "/api/v1/users", root, `{"name":"sam","role":"supervisor","password":"sam-password"}`); r.status != http.StatusCreated {
		t.Fatalf("add sam: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/api/v1/session", "", `{"name":"sam","password":"sam-password"}`); r.status != http.StatusForbidden {
		t.Errorf("sam without a second factor: %d %s, want 403 (enrol first)", r.status, r.raw)
	}
	r := e.do("POST", "/api/v1/users/sam/mfa", root, "")
	secret, _ := r.body["secret"].(string)
	codes, _ := r.body["recovery_codes"].([]any)
	if r.status != http.StatusCreated || secret == "" || len(codes) != totp.RecoveryCount || r.header.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(r.body["uri"].(string), "otpauth://totp/") {
		t.Fatalf("enrol sam: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/api/v1/users/sam/mfa", root, ""); r.status != http.StatusConflict {
		t.Errorf("enrol sam twice: %d", r.status)
	}
	code, err := totp.Code(secret, totp.Step(e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if r := e.do("POST", "/api/v1/session", "", `{"name":"sam","password":"sam-password","code":"`+code+`"}`); r.status != http.StatusOK {
		t.Fatalf("sam signs in with the code: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/api/v1/users", sue, ""); r.status != http.StatusOK || !strings.Contains(r.raw, `{"name":"sam","role":"supervisor"`) || !strings.Contains(r.raw, `"disabled":false,"mfa":true}`) {
		t.Errorf("the list: %d %s", r.status, r.raw)
	}
	if r := e.do("DELETE", "/api/v1/users/sam/mfa", root, ""); r.status != http.StatusNoContent {
		t.Errorf("reset sam's second factor: %d", r.status)
	}
	if r := e.do("DELETE", "/api/v1/users/sam/mfa", root, ""); r.status != http.StatusNotFound {
		t.Errorf("reset it again: %d", r.status)
	}

	// Password reset, role change, disable and enable, for ann.
	if r := e.do("PATCH", "/api/v1/users/ann", root, `{"password":"ann-new-password"}`); r.status != http.StatusOK {
		t.Fatalf("reset ann's password: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/api/v1/me", ann, ""); r.status != http.StatusUnauthorized {
		t.Errorf("ann's session after the reset: %d, want 401", r.status)
	}
	if r := e.do("POST", "/api/v1/session", "", `{"name":"ann","password":"ann-password"}`); r.status != http.StatusUnauthorized {
		t.Errorf("ann's old password: %d", r.status)
	}
	if r := e.do("PATCH", "/api/v1/users/ann", root, `{"role":"supervisor","disabled":true}`); r.status != http.StatusOK || r.body["role"] != "supervisor" || r.body["disabled"] != true {
		t.Fatalf("ann to supervisor, disabled: %d %s", r.status, r.raw)
	}
	if r := e.do("PATCH", "/api/v1/users/ann", root, `{"role":"agent","disabled":false}`); r.status != http.StatusOK || r.body["role"] != "agent" || r.body["disabled"] != false {
		t.Fatalf("ann back: %d %s", r.status, r.raw)
	}
	if r := e.do("POST", "/api/v1/session", "", `{"name":"ann","password":"ann-new-password"}`); r.status != http.StatusOK {
		t.Errorf("ann's new password: %d %s", r.status, r.raw)
	}
	for _, bad := range []string{`{}`, `{"role":"boss"}`, `{"password":"short"}`} {
		if r := e.do("PATCH", "/api/v1/users/ann", root, bad); r.status != http.StatusBadRequest {
			t.Errorf("PATCH %s: %d", bad, r.status)
		}
	}
	if r := e.do("PATCH", "/api/v1/users/nobody", root, `{"disabled":true}`); r.status != http.StatusNotFound {
		t.Errorf("PATCH nobody: %d", r.status)
	}

	// No locking yourself out.
	for _, req := range []struct{ method, body string }{{"PATCH", `{"role":"agent"}`}, {"PATCH", `{"disabled":true}`}, {"DELETE", ""}} {
		if r := e.do(req.method, "/api/v1/users/root", root, req.body); r.status != http.StatusConflict {
			t.Errorf("root %s itself %s: %d, want 409", req.method, req.body, r.status)
		}
	}
	if r := e.do("PATCH", "/api/v1/users/root", root, `{"password":"root-new-password"}`); r.status != http.StatusOK {
		t.Errorf("root resets its own password: %d", r.status)
	}

	if r := e.do("DELETE", "/api/v1/users/bob", e.signIn2(t, "root", "root-new-password"), ""); r.status != http.StatusNoContent {
		t.Errorf("remove bob: %d", r.status)
	}
	if _, err := e.store.UserByName(ctx, "bob"); err == nil {
		t.Error("bob is still there")
	}
}

// signIn2 signs name in with password and the next code.
func (e *env) signIn2(t *testing.T, name, password string) string {
	t.Helper()
	r := e.do("POST", "/api/v1/session", "", `{"name":"`+name+`","password":"`+password+`","code":"`+e.nextCode(name)+`"}`)
	tok, _ := r.body["token"].(string)
	if r.status != http.StatusOK || tok == "" {
		t.Fatalf("sign in %s: %d %s", name, r.status, r.raw)
	}
	return tok
}
