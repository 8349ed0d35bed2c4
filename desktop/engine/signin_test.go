package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
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
