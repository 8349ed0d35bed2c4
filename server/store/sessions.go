package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a signed-in user's session. The store knows only the SHA-256
// of its token (package auth makes both); whoever holds the token is the
// user until Expires.
type Session struct {
	TokenHash []byte
	User      User
	Created   time.Time
	Expires   time.Time
}

// CreateSession records a session for the user, valid for ttl from now.
func (s *Store) CreateSession(ctx context.Context, userID int64, tokenHash []byte, ttl time.Duration) (Session, error) {
	if len(tokenHash) == 0 || ttl <= 0 {
		return Session{}, errors.New("store: a session needs a token hash and a positive lifetime") //nolint:err113 // a programming error, never shown to users
	}
	now := fromMillis(millis(s.now()))
	se := Session{TokenHash: tokenHash, Created: now, Expires: now.Add(ttl)}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	se.User, err = scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ? AND NOT disabled", userID))
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("create session: %w (id %d)", ErrNoUser, userID)
	}
	if err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	// Sweep expired sessions while we hold the write lock anyway.
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE expires <= ?", millis(now)); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO sessions (token_hash, user_id, created, expires) VALUES (?, ?, ?, ?)",
		tokenHash, userID, millis(se.Created), millis(se.Expires)); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	return se, nil
}

// LookupSession returns the unexpired session with that token hash, and its
// user, or ErrNoSession (also when the user is disabled).
func (s *Store) LookupSession(ctx context.Context, tokenHash []byte) (Session, error) {
	se := Session{TokenHash: tokenHash}
	var role string
	var uc, created, expires int64
	err := s.db.QueryRowContext(ctx, `
		SELECT u.id, u.name, u.role, u.password_hash, u.created, s.created, s.expires
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = ? AND s.expires > ? AND NOT u.disabled`,
		tokenHash, millis(s.now())).Scan(&se.User.ID, &se.User.Name, &role, &se.User.PasswordHash, &uc, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("%w: sign in again", ErrNoSession)
	}
	if err != nil {
		return Session{}, fmt.Errorf("look up session: %w", err)
	}
	se.User.Role = Role(role)
	se.User.Created = fromMillis(uc)
	se.Created = fromMillis(created)
	se.Expires = fromMillis(expires)
	return se, nil
}

// DeleteSession ends the session with that token hash, or returns
// ErrNoSession if there is none.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = ?", tokenHash)
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	if n == 0 {
		return ErrNoSession
	}
	return nil
}

// CountSessions returns how many unexpired sessions the user has.
func (s *Store) CountSessions(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM sessions WHERE user_id = ? AND expires > ?",
		userID, millis(s.now())).Scan(&n); err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n, nil
}
