package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"
)

// TestUserIDsNeverReused: a removed user's id is never given again, not
// even when it was the highest (SQLite's own choice would reuse it).
func TestUserIDsNeverReused(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	ann, err := s.AddUser(ctx, "ann", RoleAgent, "h")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.AddUser(ctx, "bob", RoleAgent, "h")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{ann.ID: true, bob.ID: true}
	for range 3 {
		if err := s.RemoveUser(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		if bob, err = s.AddUser(ctx, "bob", RoleAgent, "h"); err != nil {
			t.Fatal(err)
		}
		if seen[bob.ID] {
			t.Fatalf("id %d given twice", bob.ID)
		}
		seen[bob.ID] = true
	}
}

// TestDisableAndGeneration: disabling ends the user's sessions and hides
// the user from sign-in; every change that can end a session moves the
// users generation, also when another connection (another process) made
// it.
func TestDisableAndGeneration(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	other := open(t, dir) // as `hushphone-server user` in another process
	u, err := s.AddUser(ctx, "ann", RoleAgent, "h")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateSession(ctx, u.ID, hash("t1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	gen := func() int64 {
		n, err := s.UsersGeneration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	g0 := gen()
	if err := other.SetDisabled(ctx, "ANN", true); err != nil {
		t.Fatal(err)
	}
	g1 := gen()
	if g1 == g0 {
		t.Errorf("disabling in another connection left the generation at %d", g0)
	}
	if _, err := s.LookupSession(ctx, hash("t1")); !errors.Is(err, ErrNoSession) {
		t.Errorf("a disabled user's session: %v, want ErrNoSession", err)
	}
	if _, err := s.UserByName(ctx, "ann"); !errors.Is(err, ErrNoUser) {
		t.Errorf("a disabled user signs in: %v, want ErrNoUser", err)
	}
	if _, err := s.CreateSession(ctx, u.ID, hash("t2"), time.Hour); !errors.Is(err, ErrNoUser) {
		t.Errorf("a session for a disabled user: %v, want ErrNoUser", err)
	}
	if users, err := s.ListUsers(ctx); err != nil || len(users) != 1 || !users[0].Disabled {
		t.Errorf("list: %+v %v", users, err)
	}
	if err := other.SetDisabled(ctx, "ann", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByName(ctx, "ann"); err != nil {
		t.Errorf("enabled again: %v", err)
	}
	if _, err := s.CreateSession(ctx, u.ID, hash("t3"), time.Hour); err != nil {
		t.Fatal(err)
	}
	g2 := gen()
	if err := s.DeleteSession(ctx, hash("t3")); err != nil {
		t.Fatal(err)
	}
	if gen() == g2 {
		t.Error("signing out left the generation")
	}
	g3 := gen()
	if err := other.RemoveUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if gen() == g3 {
		t.Error("removing a user left the generation")
	}
	if err := s.SetDisabled(ctx, "nobody", true); !errors.Is(err, ErrNoUser) {
		t.Errorf("disable nobody: %v", err)
	}
}

// TestMigrateIDs: a database at version 2 (before ids) keeps its data; its
// payments are given the id of the user who has the agent's name now, and
// none when nobody has it; ids go on past the highest.
func TestMigrateIDs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, DBName)+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:2] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		"PRAGMA user_version = 2",
		"INSERT INTO users (id, name, role, password_hash, created) VALUES (1, 'ann', 'agent', 'h', 0), (7, 'bob', 'agent', 'h', 0)",
		`INSERT INTO payments (id, call_id, agent, amount, currency, method, gateway, idempotency_key, started)
			VALUES ('ps_a', 'c1', 'ANN', 100, 'GBP', 'card', 'sandbox', 'k1', 1), ('ps_g', 'c2', 'gone', 100, 'GBP', 'card', 'sandbox', 'k2', 2)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(fmt.Errorf("%s: %w", q, err))
		}
	}
	_ = db.Close()

	s := open(t, dir)
	if v, err := s.Version(ctx); err != nil || v != SchemaVersion {
		t.Fatalf("version %d %v", v, err)
	}
	for id, want := range map[string]int64{"ps_a": 1, "ps_g": 0} {
		p, err := s.PaymentByID(ctx, id)
		if err != nil || p.AgentID != want || p.Amount != 100 {
			t.Errorf("%s: %+v %v, want agent id %d", id, p, err, want)
		}
	}
	if ps, err := s.ListPaymentsBy(ctx, "", 1, 0); err != nil || len(ps) != 1 || ps[0].ID != "ps_a" {
		t.Errorf("ann's payments: %+v %v", ps, err)
	}
	if err := s.RemoveUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if u, err := s.AddUser(ctx, "carl", RoleAgent, "h"); err != nil || u.ID != 8 {
		t.Errorf("the next id: %+v %v, want 8", u, err)
	}
}
