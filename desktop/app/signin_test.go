package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/stacktest"
)

// TestSignInWithCode: an agent with a second factor, against a real
// server: the first sign-in (no code) is refused with ErrNeedCode and the
// state asks for the code; a wrong code gets ErrWrongCode and still asks;
// the right one signs in and the question goes away. The code is not
// remembered.
func TestSignInWithCode(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.EnrolMFA(t, "ann")
	a, _ := newApp(t)
	if err := a.SignIn(srv.URL, "ann", "ann-password"); !errors.Is(err, ErrNeedCode) || !errors.Is(err, ErrInput) {
		t.Fatalf("no code: %v, want ErrNeedCode", err)
	}
	if st := a.State(); !st.NeedCode || st.Connection != SignedOut {
		t.Errorf("after no code: %+v, want NeedCode", st)
	}
	if err := a.SignInWithCode(srv.URL, "ann", "ann-password", "000000"); !errors.Is(err, ErrWrongCode) {
		t.Errorf("wrong code: %v, want ErrWrongCode", err)
	}
	if st := a.State(); !st.NeedCode {
		t.Errorf("after a wrong code: %+v, want NeedCode", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := srv.Code(ctx, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SignInWithCode(srv.URL, "ann", "ann-password", code); err != nil {
		t.Fatalf("right code: %v", err)
	}
	st := wait(t, a, 5*time.Second, "available", func(s State) bool { return s.Presence == "available" })
	if st.NeedCode || st.Error != "" {
		t.Errorf("signed in: %+v", st)
	}
}
