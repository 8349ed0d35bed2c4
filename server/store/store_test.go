package store

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/internal/testing/testkit"
)

func open(t *testing.T, dir string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func TestOpenCreatesAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	s := open(t, dir)
	if v, err := s.Version(ctx); err != nil || v != SchemaVersion {
		t.Fatalf("version %d, %v; want %d", v, err, SchemaVersion)
	}
	fi, err := os.Stat(filepath.Join(dir, DBName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("database mode %v, want 0600", fi.Mode().Perm())
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys %d, %v; want 1", fk, err)
	}
	if _, err := s.AddUser(ctx, "ann", RoleAgent, "h"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again applies nothing and keeps the data.
	s2 := open(t, dir)
	if v, err := s2.Version(ctx); err != nil || v != SchemaVersion {
		t.Fatalf("reopened: version %d, %v", v, err)
	}
	if _, err := s2.UserByName(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	if _, err := s.db.ExecContext(ctx, "PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_, err := Open(ctx, dir)
	if !errors.Is(err, ErrNewer) {
		t.Fatalf("got %v, want ErrNewer", err)
	}
}

func TestOpenRefusesNonDatabase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, DBName), []byte("this is not a database, it is a text file of some length"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), dir); err == nil {
		t.Fatal("opened a text file as a database")
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for _, tc := range []struct {
		name string
		role Role
		want error
	}{
		{"ann", RoleAgent, nil},
		{"bob.s", RoleSupervisor, nil},
		{"root", RoleAdmin, nil},
		{"ANN", RoleAgent, ErrUserExists},
		{"carl", Role("boss"), ErrBadRole},
		{"", RoleAgent, ErrBadName},
		{"-x", RoleAgent, ErrBadName},
		{"a b", RoleAgent, ErrBadName},
		{string(make([]byte, MaxNameLen+1)), RoleAgent, ErrBadName},
	} {
		_, err := s.AddUser(ctx, tc.name, tc.role, "hash-"+tc.name)
		if !errors.Is(err, tc.want) {
			t.Errorf("AddUser(%q, %q) = %v, want %v", tc.name, tc.role, err, tc.want)
		}
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name+":"+string(u.Role))
	}
	if got, want := names, []string{"ann:agent", "bob.s:supervisor", "root:admin"}; !slices.Equal(got, want) {
		t.Errorf("ListUsers = %v, want %v", got, want)
	}
	u, err := s.UserByName(ctx, "Ann")
	if err != nil || u.Name != "ann" || u.PasswordHash != "hash-ann" || u.Created.IsZero() {
		t.Errorf("UserByName(Ann) = %+v, %v", u, err)
	}
	if _, err := s.UserByName(ctx, "zed"); !errors.Is(err, ErrNoUser) {
		t.Errorf("UserByName(zed) = %v, want ErrNoUser", err)
	}
	if err := s.RemoveUser(ctx, "zed"); !errors.Is(err, ErrNoUser) {
		t.Errorf("RemoveUser(zed) = %v, want ErrNoUser", err)
	}
	if err := s.RemoveUser(ctx, "bob.s"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByName(ctx, "bob.s"); !errors.Is(err, ErrNoUser) {
		t.Errorf("removed user still there: %v", err)
	}
}

func TestSessions(t *testing.T) {
	ctx := context.Background()
	c := testkit.NewClock(time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC))
	s := open(t, t.TempDir(), WithClock(c.Now))
	ann, err := s.AddUser(ctx, "ann", RoleAgent, "h")
	if err != nil {
		t.Fatal(err)
	}
	se, err := s.CreateSession(ctx, ann.ID, hash("t1"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !se.Expires.Equal(c.Now().Add(time.Hour)) || se.User.Name != "ann" {
		t.Errorf("session %+v", se)
	}
	got, err := s.LookupSession(ctx, hash("t1"))
	if err != nil || got.User.ID != ann.ID || got.User.Role != RoleAgent || !got.Expires.Equal(se.Expires) {
		t.Fatalf("LookupSession = %+v, %v", got, err)
	}
	if _, err := s.LookupSession(ctx, hash("t2")); !errors.Is(err, ErrNoSession) {
		t.Errorf("unknown token: %v, want ErrNoSession", err)
	}
	if _, err := s.CreateSession(ctx, ann.ID+100, hash("t9"), time.Hour); !errors.Is(err, ErrNoUser) {
		t.Errorf("session for nobody: %v, want ErrNoUser", err)
	}

	// Expiry is enforced.
	c.Add(time.Hour - time.Millisecond)
	if _, err := s.LookupSession(ctx, hash("t1")); err != nil {
		t.Errorf("a millisecond before expiry: %v", err)
	}
	c.Add(time.Millisecond)
	if _, err := s.LookupSession(ctx, hash("t1")); !errors.Is(err, ErrNoSession) {
		t.Errorf("at expiry: %v, want ErrNoSession", err)
	}

	// Sign out.
	if _, err := s.CreateSession(ctx, ann.ID, hash("t2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, hash("t2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupSession(ctx, hash("t2")); !errors.Is(err, ErrNoSession) {
		t.Errorf("after sign-out: %v", err)
	}
	if err := s.DeleteSession(ctx, hash("t2")); !errors.Is(err, ErrNoSession) {
		t.Errorf("second sign-out: %v", err)
	}

	// Removing a user ends its sessions.
	for _, tok := range []string{"t3", "t4"} {
		if _, err := s.CreateSession(ctx, ann.ID, hash(tok), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.CountSessions(ctx, ann.ID); err != nil || n != 2 {
		t.Fatalf("CountSessions = %d, %v", n, err)
	}
	if err := s.RemoveUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sessions").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d sessions left after removing their user (%v)", n, err)
	}
}

// Two Stores on one file (the server and a `user add`) both work.
func TestTwoProcessesShareTheFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			_, err := s.AddUser(ctx, "user"+string(rune('a'+i)), RoleAgent, "h")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	users, err := b.ListUsers(ctx)
	if err != nil || len(users) != 20 {
		t.Errorf("%d users, %v", len(users), err)
	}
}

// TestSetPasswordAndRole: both change the user and end its sessions; an
// unknown user or role is refused.
func TestSetPasswordAndRole(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	u, err := s.AddUser(ctx, "ann", RoleAgent, "hash-1")
	if err != nil {
		t.Fatal(err)
	}
	session := func() {
		t.Helper()
		if _, err := s.CreateSession(ctx, u.ID, hash("tok"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(what string) {
		t.Helper()
		if _, err := s.LookupSession(ctx, hash("tok")); err == nil {
			t.Errorf("the session outlived %s", what)
		}
	}
	session()
	if err := s.SetPassword(ctx, "ANN", "hash-2"); err != nil {
		t.Fatal(err)
	}
	gone("a password reset")
	session()
	if err := s.SetRole(ctx, "ann", RoleSupervisor); err != nil {
		t.Fatal(err)
	}
	gone("a role change")
	got, err := s.UserByName(ctx, "ann")
	if err != nil || got.PasswordHash != "hash-2" || got.Role != RoleSupervisor {
		t.Fatalf("ann: %+v, %v", got, err)
	}
	if err := s.SetRole(ctx, "ann", "boss"); !errors.Is(err, ErrBadRole) {
		t.Errorf("unknown role: %v", err)
	}
	if err := s.SetPassword(ctx, "bob", "h"); !errors.Is(err, ErrNoUser) {
		t.Errorf("unknown user: %v", err)
	}
	if err := s.SetRole(ctx, "bob", RoleAgent); !errors.Is(err, ErrNoUser) {
		t.Errorf("unknown user: %v", err)
	}
}
