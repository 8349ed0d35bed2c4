package store

import (
	"context"
	"fmt"
)

// Users are referred to by a stable id: a user's id is never given to
// another user, even one who later takes a removed user's name, and the
// payments audit records who took each payment by id as well as by name,
// so a new account with an old name never sees the old one's payments.
//
// Whatever can end a signed-in user's sessions (removing or disabling the
// user, a role change, a session deleted) counts one more on the users
// generation, by triggers, whichever process did it (the server, or
// `hushphone-server user ...` on the same file): a server that watches
// UsersGeneration re-checks its live connections when it moves.
const migrationIDs = `
	ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

	-- The highest user id ever given: ids are never reused (SQLite would
	-- give a removed user's id again when it was the highest).
	CREATE TABLE user_ids (last INTEGER NOT NULL);
	INSERT INTO user_ids (last) SELECT coalesce(max(id), 0) FROM users;
	CREATE TRIGGER users_id_given AFTER INSERT ON users
	BEGIN UPDATE user_ids SET last = max(last, NEW.id); END;

	-- Who took each payment, by id. Payments taken before ids belong to
	-- the user who has the name now, if any (NULL: nobody's, so only
	-- supervisors and admins see them).
	ALTER TABLE payments ADD COLUMN agent_id INTEGER;
	UPDATE payments SET agent_id = (SELECT id FROM users WHERE users.name = payments.agent);
	CREATE INDEX payments_agent_id ON payments (agent_id);

	CREATE TABLE users_generation (n INTEGER NOT NULL);
	INSERT INTO users_generation (n) VALUES (0);
	CREATE TRIGGER users_changed AFTER UPDATE OF name, role, disabled, password_hash ON users
	BEGIN UPDATE users_generation SET n = n + 1; END;
	CREATE TRIGGER users_removed AFTER DELETE ON users
	BEGIN UPDATE users_generation SET n = n + 1; END;
	CREATE TRIGGER sessions_ended AFTER DELETE ON sessions
	BEGIN UPDATE users_generation SET n = n + 1; END;`

// UsersGeneration is a number that changes whenever a user is removed,
// disabled or changed, or a session ends, in this process or another on
// the same database: poll it to know when to check live sessions again.
func (s *Store) UsersGeneration(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT n FROM users_generation").Scan(&n); err != nil {
		return 0, fmt.Errorf("read the users generation: %w", err)
	}
	return n, nil
}

// SetDisabled disables the user of that name (any case), ending all its
// sessions (it can no longer sign in, and its live connections close), or
// enables it again; ErrNoUser if there is none.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("disable user %q: %w", name, err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, "UPDATE users SET disabled = ? WHERE name = ?", disabled, name)
	if err != nil {
		return fmt.Errorf("disable user %q: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("disable user %q: %w", name, err)
	} else if n == 0 {
		return fmt.Errorf("%w: %q (see '%s user list')", ErrNoUser, name, "hushphone-server")
	}
	if disabled {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", name); err != nil {
			return fmt.Errorf("disable user %q: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("disable user %q: %w", name, err)
	}
	return nil
}
