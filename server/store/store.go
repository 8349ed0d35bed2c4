// Package store keeps the server's persistent state in one SQLite file,
// hushphone.db, in the data directory: users, sign-in sessions, the
// payments audit and the index of call recordings with their masking proofs. It uses a pure-Go SQLite driver (no cgo), the
// write-ahead log (so readers never wait for a writer), foreign keys, and a
// busy timeout so that two processes on the same data directory (the server
// and a `user add`) wait for each other rather than fail.
//
// The schema is a versioned list of migrations, applied in order in one
// transaction each and recorded in SQLite's user_version: opening a
// database applies only those it has not seen, and opening it again
// changes nothing.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// DBName is the database's file name inside the data directory.
const DBName = "hushphone.db"

// DefaultDataDir is the data directory when none is given.
const DefaultDataDir = "data"

// busyTimeout is how long a statement waits for another connection's lock.
const busyTimeout = 5 * time.Second

// Sentinel errors, wrapped with %w; check them with errors.Is.
var (
	ErrUserExists = errors.New("a user of that name already exists")
	ErrNoUser     = errors.New("no such user")
	ErrBadRole    = errors.New("unknown role")
	ErrBadName    = errors.New("invalid user name")
	ErrNoSession  = errors.New("no such session, or it has expired")
	ErrNewer      = errors.New("the database was written by a newer hushphone-server")
	ErrNoMFA      = errors.New("no second factor enrolled")
	ErrCodeUsed   = errors.New("that code was used already, or a newer one was")
)

// Store is the open database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string
	now  func() time.Time
}

// Option changes how Open sets up a Store.
type Option func(*Store)

// WithClock sets the clock used for creation times and session expiry
// (tests use it to move time forward).
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Open opens (creating if needed) the data directory and its database and
// brings the schema up to date. dataDir "" means DefaultDataDir.
func Open(ctx context.Context, dataDir string, opts ...Option) (*Store, error) {
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	s := &Store{now: time.Now, path: filepath.Join(dataDir, DBName)}
	for _, o := range opts {
		o(s)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create the data directory (check the data directory setting and its permissions): %w", err)
	}
	// Create the file readable by its owner only: it holds password hashes.
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the database (check the data directory setting and its permissions): %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("open the database: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+s.path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open the database %s: %w", s.path, err)
	}
	s.db = db
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open the database %s (is it a SQLite file?): %w", s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close the database: %w", err)
	}
	return nil
}

// migrations is the schema, one step per version: migrations[i] takes the
// database from version i to i+1. Append only; never edit a step that has
// shipped.
var migrations = []string{
	// 1: users, their sign-in sessions, and the recordings index.
	`CREATE TABLE users (
		id            INTEGER PRIMARY KEY,
		name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
		role          TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
		password_hash TEXT NOT NULL,
		created       INTEGER NOT NULL -- Unix milliseconds
	);
	CREATE TABLE sessions (
		token_hash BLOB PRIMARY KEY, -- SHA-256 of the token; never the token
		user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		created    INTEGER NOT NULL, -- Unix milliseconds
		expires    INTEGER NOT NULL  -- Unix milliseconds
	) WITHOUT ROWID;
	CREATE INDEX sessions_user ON sessions (user_id);
	CREATE INDEX sessions_expires ON sessions (expires);
	CREATE TABLE recordings (
		id          INTEGER PRIMARY KEY,
		call_id     TEXT NOT NULL,
		agent       TEXT NOT NULL,   -- the agent's name when the call was recorded
		started     INTEGER NOT NULL, -- Unix milliseconds
		duration_ms INTEGER NOT NULL DEFAULT 0,
		path        TEXT NOT NULL UNIQUE -- relative to the data directory
	);
	CREATE INDEX recordings_started ON recordings (started);
	CREATE INDEX recordings_call ON recordings (call_id);`,
	// 2: the payments audit: one row per capture session. Never the card
	// number (only its brand and last four), the expiry or the code.
	`CREATE TABLE payments (
		id              TEXT PRIMARY KEY, -- the capture session's id
		call_id         TEXT NOT NULL,
		agent           TEXT NOT NULL,
		amount          INTEGER NOT NULL, -- minor units; 0 to tokenize
		currency        TEXT NOT NULL,
		method          TEXT NOT NULL CHECK (method IN ('card', 'bank')),
		gateway         TEXT NOT NULL,
		idempotency_key TEXT NOT NULL,
		brand           TEXT NOT NULL DEFAULT '',
		last4           TEXT NOT NULL DEFAULT '',
		outcome         TEXT NOT NULL DEFAULT '', -- '' while capturing
		reason          TEXT NOT NULL DEFAULT '',
		reference       TEXT NOT NULL DEFAULT '',
		token           TEXT NOT NULL DEFAULT '',
		started         INTEGER NOT NULL, -- Unix milliseconds
		ended           INTEGER NOT NULL DEFAULT 0
	) WITHOUT ROWID;
	CREATE INDEX payments_call ON payments (call_id);
	CREATE INDEX payments_started ON payments (started);`,
	// 3: stable user ids and live sessions (ids.go).
	migrationIDs,
	// 4: second sign-in factors: a user's TOTP secret and the last step a
	// code was accepted for (no code is taken twice), and the hashes of
	// their unused recovery codes. Both go with the user.
	`CREATE TABLE mfa (
		user_id   INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
		secret    TEXT NOT NULL,              -- base32 TOTP secret
		last_step INTEGER NOT NULL DEFAULT 0, -- Unix time / 30 s
		created   INTEGER NOT NULL            -- Unix milliseconds
	);
	CREATE TABLE mfa_recovery (
		user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		code_hash BLOB NOT NULL, -- SHA-256 of the code; never the code
		PRIMARY KEY (user_id, code_hash)
	) WITHOUT ROWID;`,
	// 5: each recording's masking proof (proofs.go).
	migrationProofs,
	// 6: the call log (calllog.go).
	migrationCallLog,
	// 7: the access log (accesslog.go).
	migrationAccessLog,
	// 8: the call queues and their members (queues.go).
	migrationQueues,
	// 9: the caller's number in the call log (caller.go).
	migrationCaller,
}

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate the database: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("%s is at schema version %d, this build knows %d: %w (run a newer build)", s.path, v, len(migrations), ErrNewer)
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migrate the database to version %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is an integer we made.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("record the schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate the database: %w", err)
	}
	return nil
}

// Version is the database's schema version.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read the schema version: %w", err)
	}
	return v, nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// unixMilliOrZero is t in Unix milliseconds, 0 for the zero time (a column
// for a moment that has not come: not answered, not ended, no bound).
func unixMilliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// timeOrZero is unixMilliOrZero the other way.
func timeOrZero(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// window is a listing's period and limit as its query takes them: the
// period's ends in Unix milliseconds, 0 for an open end, and the limit, -1
// (SQLite: none) for 0 or less.
func window(from, to time.Time, limit int) (fromMs, toMs int64, lim int) {
	if limit <= 0 {
		limit = -1
	}
	return unixMilliOrZero(from), unixMilliOrZero(to), limit
}
