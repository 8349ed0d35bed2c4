package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Role is what a user may do.
type Role string

// The roles.
const (
	RoleAgent      Role = "agent"      // takes calls
	RoleSupervisor Role = "supervisor" // listens in, sees calls, agents and recordings
	RoleAdmin      Role = "admin"      // everything a supervisor can, and user admin
)

// Roles lists the roles, least privileged first.
var Roles = []Role{RoleAgent, RoleSupervisor, RoleAdmin}

// ParseRole returns the role named s, or ErrBadRole.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w %q: use agent, supervisor or admin", ErrBadRole, s)
}

// MaxNameLen is the longest user name.
const MaxNameLen = 64

// CheckName reports whether s is a valid user name: 1 to 64 ASCII letters,
// digits, '.', '_', '-' or '@', starting with a letter or digit.
func CheckName(s string) error {
	if s == "" {
		return fmt.Errorf("%w: the name is empty", ErrBadName)
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("%w: %d characters, at most %d", ErrBadName, len(s), MaxNameLen)
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !ok && i > 0 {
			ok = strings.ContainsRune("._-@", c)
		}
		if !ok {
			return fmt.Errorf("%w %q: use letters, digits, '.', '_', '-' and '@', starting with a letter or digit", ErrBadName, s)
		}
	}
	return nil
}

// User is one account. PasswordHash is the encoded hash (see package auth).
type User struct {
	ID           int64
	Name         string
	Role         Role
	PasswordHash string
	Created      time.Time
	// Disabled users cannot sign in and have no sessions (SetDisabled).
	Disabled bool
}

// AddUser adds a user with an already hashed password. Names are unique
// regardless of case.
func (s *Store) AddUser(ctx context.Context, name string, role Role, passwordHash string) (User, error) {
	if err := CheckName(name); err != nil {
		return User{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return User{}, err
	}
	if passwordHash == "" {
		return User{}, errors.New("store: empty password hash") //nolint:err113 // a programming error, never shown to users
	}
	u := User{Name: name, Role: role, PasswordHash: passwordHash, Created: fromMillis(millis(s.now()))}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE name = ?", name).Scan(&n); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	if n > 0 {
		return User{}, fmt.Errorf("%w: %q (choose another name, or remove it first)", ErrUserExists, name)
	}
	// The id is one past the highest ever given (ids.go): never a removed
	// user's.
	res, err := tx.ExecContext(ctx,
		`INSERT INTO users (id, name, role, password_hash, created)
		VALUES ((SELECT max(last, coalesce((SELECT max(id) FROM users), 0)) + 1 FROM user_ids), ?, ?, ?, ?)`,
		name, string(role), passwordHash, millis(u.Created))
	if err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	if u.ID, err = res.LastInsertId(); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", name, err)
	}
	return u, nil
}

const userColumns = "id, name, role, password_hash, created, disabled"

type scanner interface{ Scan(dest ...any) error }

// queryAll runs the query q and returns its rows as scan makes them;
// what says, in its errors, what was being done ("list users").
func queryAll[T any](ctx context.Context, db *sql.DB, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer func() { _ = rows.Close() }()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func scanUser(r scanner) (User, error) {
	var u User
	var role string
	var created int64
	if err := r.Scan(&u.ID, &u.Name, &role, &u.PasswordHash, &created, &u.Disabled); err != nil {
		return User{}, err
	}
	u.Role = Role(role)
	u.Created = fromMillis(created)
	return u, nil
}

// ListUsers returns every user, by name.
func (s *Store) ListUsers(ctx context.Context) ([]User, error) {
	return queryAll(ctx, s.db, "list users", scanUser, "SELECT "+userColumns+" FROM users ORDER BY name")
}

// UserByName returns the user of that name (any case), or ErrNoUser; a
// disabled user is none (it cannot sign in).
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	return s.userByName(ctx, name, " AND NOT disabled")
}

// UserByNameForAdmin returns the user of that name (any case), disabled
// or not, or ErrNoUser: for user administration, which enables them.
func (s *Store) UserByNameForAdmin(ctx context.Context, name string) (User, error) {
	return s.userByName(ctx, name, "")
}

// userByName looks the user up with the extra condition cond (this
// file's constants only).
func (s *Store) userByName(ctx context.Context, name, cond string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE name = ?"+cond, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("%w: %q", ErrNoUser, name)
	}
	if err != nil {
		return User{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	return u, nil
}

// RemoveUser removes the user of that name and ends all its sessions, or
// returns ErrNoUser.
func (s *Store) RemoveUser(ctx context.Context, name string) error {
	// Sessions go with the user: ON DELETE CASCADE.
	res, err := s.db.ExecContext(ctx, "DELETE FROM users WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("remove user %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("remove user %q: %w", name, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %q (see '%s user list')", ErrNoUser, name, "hushphone-server")
	}
	return nil
}

// SetPassword replaces the password hash of the user of that name (any
// case) and ends all its sessions: a reset password signs the user out
// everywhere. ErrNoUser if there is none.
func (s *Store) SetPassword(ctx context.Context, name, passwordHash string) error {
	if passwordHash == "" {
		return errors.New("store: empty password hash") //nolint:err113 // a programming error, never shown to users
	}
	return s.changeUser(ctx, name, "reset the password of", "password_hash = ?", passwordHash)
}

// SetRole changes the role of the user of that name (any case) and ends
// all its sessions (it signs in again with its new role). ErrNoUser if
// there is none, ErrBadRole for an unknown role.
func (s *Store) SetRole(ctx context.Context, name string, role Role) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	return s.changeUser(ctx, name, "change the role of", "role = ?", string(role))
}

// changeUser sets one column of the user of that name and ends its
// sessions, in one transaction.
func (s *Store) changeUser(ctx context.Context, name, doing, set string, value any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s user %q: %w", doing, name, err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, "UPDATE users SET "+set+" WHERE name = ?", value, name) //nolint:gosec // set is one of this file's constants
	if err != nil {
		return fmt.Errorf("%s user %q: %w", doing, name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s user %q: %w", doing, name, err)
	} else if n == 0 {
		return fmt.Errorf("%w: %q", ErrNoUser, name)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)", name); err != nil {
		return fmt.Errorf("%s user %q: %w", doing, name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s user %q: %w", doing, name, err)
	}
	return nil
}
