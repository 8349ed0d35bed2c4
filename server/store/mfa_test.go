package store

import (
	"context"
	"errors"
	"testing"
)

func TestMFA(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	u, err := s.AddUser(ctx, "sue", RoleSupervisor, "hash")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserMFA(ctx, u.ID); !errors.Is(err, ErrNoMFA) {
		t.Fatalf("before enrolment: %v", err)
	}
	if err := s.SetMFA(ctx, u.ID+1, "SECRET", nil); !errors.Is(err, ErrNoUser) {
		t.Errorf("unknown user: %v", err)
	}
	if err := s.SetMFA(ctx, u.ID, "SECRET", [][]byte{[]byte("h1"), []byte("h2")}); err != nil {
		t.Fatal(err)
	}
	m, err := s.UserMFA(ctx, u.ID)
	if err != nil || m.Secret != "SECRET" || m.LastStep != 0 || m.RecoveryCodes != 2 {
		t.Fatalf("after enrolment: %+v %v", m, err)
	}
	// A step is taken once; older steps never again.
	for _, tc := range []struct {
		step int64
		err  error
	}{{100, nil}, {100, ErrCodeUsed}, {99, ErrCodeUsed}, {101, nil}} {
		if err := s.UseTOTPStep(ctx, u.ID, tc.step); !errors.Is(err, tc.err) {
			t.Errorf("step %d: %v, want %v", tc.step, err, tc.err)
		}
	}
	// A recovery code is spent once.
	if err := s.UseRecoveryCode(ctx, u.ID, []byte("h1")); err != nil {
		t.Error(err)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, []byte("h1")); !errors.Is(err, ErrCodeUsed) {
		t.Errorf("h1 again: %v", err)
	}
	// Enrolling again replaces the secret and the codes, and the step.
	if err := s.SetMFA(ctx, u.ID, "OTHER", [][]byte{[]byte("h3")}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.UserMFA(ctx, u.ID); err != nil || m.Secret != "OTHER" || m.LastStep != 0 || m.RecoveryCodes != 1 {
		t.Errorf("after enrolling again: %+v %v", m, err)
	}
	if err := s.UseRecoveryCode(ctx, u.ID, []byte("h2")); !errors.Is(err, ErrCodeUsed) {
		t.Errorf("an old code after enrolling again: %v", err)
	}
	if err := s.ResetMFA(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetMFA(ctx, u.ID); !errors.Is(err, ErrNoMFA) {
		t.Errorf("reset twice: %v", err)
	}
	// Removing the user removes the factor with it.
	if err := s.SetMFA(ctx, u.ID, "SECRET", [][]byte{[]byte("h4")}); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveUser(ctx, "sue"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM mfa) + (SELECT count(*) FROM mfa_recovery)").Scan(&n); err != nil || n != 0 {
		t.Errorf("after removing the user: %d rows left, %v", n, err)
	}
}
