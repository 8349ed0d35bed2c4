package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// MFA is a user's second factor: a TOTP secret (base32; package totp
// makes and checks the codes) and the last time step a code was accepted
// for, and how many recovery codes are left unused.
type MFA struct {
	Secret        string
	LastStep      int64
	RecoveryCodes int
	Created       time.Time
}

// SetMFA enrols the user's second factor, replacing any before it: the
// secret, and the SHA-256 hashes of new recovery codes (the old ones stop
// working).
func (s *Store) SetMFA(ctx context.Context, userID int64, secret string, recoveryHashes [][]byte) error {
	if secret == "" {
		return errors.New("store: empty TOTP secret") //nolint:err113 // a programming error, never shown to users
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("enrol a second factor: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE id = ?", userID).Scan(&n); err != nil {
		return fmt.Errorf("enrol a second factor: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("enrol a second factor: %w (id %d)", ErrNoUser, userID)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM mfa_recovery WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("enrol a second factor: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO mfa (user_id, secret, last_step, created) VALUES (?, ?, 0, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = 0, created = excluded.created`,
		userID, secret, millis(s.now())); err != nil {
		return fmt.Errorf("enrol a second factor: %w", err)
	}
	for _, h := range recoveryHashes {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO mfa_recovery (user_id, code_hash) VALUES (?, ?)", userID, h); err != nil {
			return fmt.Errorf("enrol a second factor: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("enrol a second factor: %w", err)
	}
	return nil
}

// UserMFA returns the user's second factor, or ErrNoMFA.
func (s *Store) UserMFA(ctx context.Context, userID int64) (MFA, error) {
	var m MFA
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT secret, last_step, created,
		(SELECT count(*) FROM mfa_recovery r WHERE r.user_id = mfa.user_id)
		FROM mfa WHERE user_id = ?`, userID).Scan(&m.Secret, &m.LastStep, &created, &m.RecoveryCodes)
	if errors.Is(err, sql.ErrNoRows) {
		return MFA{}, ErrNoMFA
	}
	if err != nil {
		return MFA{}, fmt.Errorf("look up the second factor: %w", err)
	}
	m.Created = fromMillis(created)
	return m, nil
}

// UseTOTPStep records that a code for step was accepted, unless one for
// that step or a later one was already (ErrCodeUsed): of two sign-ins with
// the same code at once, only one gets in.
func (s *Store) UseTOTPStep(ctx context.Context, userID, step int64) error {
	res, err := s.db.ExecContext(ctx, "UPDATE mfa SET last_step = ? WHERE user_id = ? AND last_step < ?", step, userID, step)
	if err != nil {
		return fmt.Errorf("record the code's use: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("record the code's use: %w", err)
	}
	if n == 0 {
		return ErrCodeUsed
	}
	return nil
}

// UseRecoveryCode spends the recovery code with that hash, or returns
// ErrCodeUsed if the user has no such unused code.
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, codeHash []byte) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM mfa_recovery WHERE user_id = ? AND code_hash = ?", userID, codeHash)
	if err != nil {
		return fmt.Errorf("use a recovery code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("use a recovery code: %w", err)
	}
	if n == 0 {
		return ErrCodeUsed
	}
	return nil
}

// ResetMFA removes the user's second factor and recovery codes, or returns
// ErrNoMFA if there was none.
func (s *Store) ResetMFA(ctx context.Context, userID int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reset the second factor: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "DELETE FROM mfa_recovery WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("reset the second factor: %w", err)
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM mfa WHERE user_id = ?", userID)
	if err != nil {
		return fmt.Errorf("reset the second factor: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("reset the second factor: %w", err)
	}
	if n == 0 {
		return ErrNoMFA
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reset the second factor: %w", err)
	}
	return nil
}
