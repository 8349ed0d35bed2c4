package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/store"
)

// TestSignInErrors: each way a sign-in fails returns the sentinel that
// names it, so the app words it without reading the error's text, and no
// error holds the password.
func TestSignInErrors(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	if _, err := New(Config{User: "ann"}); !errors.Is(err, ErrConfig) || errors.Is(err, ErrSignIn) {
		t.Errorf("no server address: %v, want ErrConfig (a setting, not a refusal)", err)
	}
	run := func(server, password string) error {
		a, err := New(Config{Server: server, User: "ann", Password: password, Loopback: true})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return a.Run(ctx)
	}
	for _, c := range []struct {
		name, server, password string
		want                   error
	}{
		{"wrong password", srv.URL, "not-the-password", ErrCredentials},
		{"nobody there", "http://127.0.0.1:1", "ann-password", ErrUnreachable},
	} {
		err := run(c.server, c.password)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.password) {
			t.Errorf("%s: the error holds the password: %v", c.name, err)
		}
	}
	// The server's limit on failed sign-ins (5 a minute for a name).
	var err error
	for range 6 {
		if err = run(srv.URL, "not-the-password"); errors.Is(err, ErrTooManyTries) {
			break
		}
	}
	if !errors.Is(err, ErrTooManyTries) || !errors.Is(err, ErrSignIn) {
		t.Errorf("after the limit: %v, want ErrTooManyTries (an ErrSignIn)", err)
	}
}

// TestSignInMFA: an account with a second factor signs in only with its
// code, which Config.OTP is asked for when the server says so; without
// OTP the error is ErrMFARequired, with a wrong code ErrMFAInvalid, and a
// supervisor with none enrolled gets ErrMFAEnroll. Each is an ErrSignIn.
func TestSignInMFA(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password") // enrolled
	srv.AddAgent(t, "sam", "sam-password")
	if _, err := srv.Store.AddUser(context.Background(), "sid", store.RoleSupervisor, mustHash(t, "sid-password")); err != nil {
		t.Fatal(err)
	}
	asked := 0
	for _, c := range []struct {
		name, user string
		otp        func(context.Context) (string, error)
		want       error
	}{
		{"no OTP", "sue", nil, ErrMFARequired},
		{"wrong code", "sue", func(context.Context) (string, error) { asked++; return "000000", nil }, ErrMFAInvalid},
		{"not enrolled", "sid", nil, ErrMFAEnroll},
		{"right code", "sue", func(ctx context.Context) (string, error) { asked++; return srv.Code(ctx, "sue") }, nil},
		{"agent without one: never asked", "sam", func(context.Context) (string, error) { asked += 100; return "", nil }, nil},
	} {
		a, err := New(Config{Server: srv.URL, User: c.user, Password: c.user + "-password", OTP: c.otp, Loopback: true})
		if err != nil {
			t.Fatal(err)
		}
		// A sign-in that succeeds runs until the deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = a.Run(ctx)
		cancel()
		switch {
		case c.want == nil:
			if errors.Is(err, ErrSignIn) {
				t.Errorf("%s: %v, want signed in", c.name, err)
			}
		case !errors.Is(err, c.want) || !errors.Is(err, ErrSignIn):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if asked != 2 {
		t.Errorf("OTP asked %d times, want twice (never for the agent)", asked)
	}
}

func mustHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := auth.Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 16, SaltLen: 8}.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestReconnectKeepsSession: Run again (a dropped connection) reconnects
// with the session it has, without asking for a new one-time code; once
// the session has ended, it signs in again, and asks.
func TestReconnectKeepsSession(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.EnrolMFA(t, "ann")
	asked := 0
	a, err := New(Config{Server: srv.URL, User: "ann", Password: "ann-password", Loopback: true,
		OTP: func(ctx context.Context) (string, error) { asked++; return srv.Code(ctx, "ann") }})
	if err != nil {
		t.Fatal(err)
	}
	runOnce := func() {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		srv.WaitAvailable(t, 1)
		cancel()
		if err := <-done; errors.Is(err, ErrSignIn) {
			t.Fatal(err)
		}
		// The server notices the agent gone.
		deadline := time.Now().Add(5 * time.Second)
		for srv.Available() > 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	runOnce()
	runOnce()
	if asked != 1 {
		t.Errorf("code asked %d times for two connections, want once", asked)
	}
	// The session ends (signed out elsewhere): the next Run signs in again.
	a.mu.Lock()
	tok := a.token
	a.mu.Unlock()
	if err := srv.Store.DeleteSession(context.Background(), auth.TokenHash(tok)); err != nil {
		t.Fatal(err)
	}
	runOnce()
	if asked != 2 {
		t.Errorf("code asked %d times after the session ended, want twice", asked)
	}
}
