package store

// This file holds the access log: who played or downloaded which
// recording, exported the payments audit, or changed a user, and when,
// for admins and compliance to read. Rows are only ever added.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// migrationAccessLog is schema version 7.
const migrationAccessLog = `CREATE TABLE access_log (
	id        INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL, -- Unix milliseconds
	user_id   INTEGER NOT NULL, -- who (by id: names can be given again)
	user_name TEXT NOT NULL,    -- and their name then
	action    TEXT NOT NULL,    -- recording.play, recording.download, payments.export, user.add, ...
	object    TEXT NOT NULL DEFAULT '' -- what: a recording's id, a user's name, the export's filter
);
CREATE INDEX access_log_at ON access_log (at);`

// The actions the access log records.
const (
	AccessRecordingPlay     = "recording.play"
	AccessRecordingDownload = "recording.download"
	AccessPaymentsExport    = "payments.export"
	AccessUserAdd           = "user.add"
	AccessUserChange        = "user.change"
	AccessUserRemove        = "user.remove"
	AccessUserMFAEnrol      = "user.mfa_enrol"
	AccessUserMFAReset      = "user.mfa_reset"
	AccessQueueChange       = "queue.change"
)

// maxAccessObject bounds what an entry says of its object.
const maxAccessObject = 512

// ErrBadAccess is returned for an access log entry the store refuses.
var ErrBadAccess = errors.New("invalid access log entry")

// Access is one entry of the access log.
type Access struct {
	ID       int64
	At       time.Time
	UserID   int64
	UserName string
	Action   string
	Object   string
}

// AddAccess appends an entry (At: now when zero). An object that could
// hold card data (12 digits in a row) is refused.
func (s *Store) AddAccess(ctx context.Context, a Access) error {
	if a.UserName == "" || a.Action == "" || len(a.Action) > maxLogText || len(a.Object) > maxAccessObject {
		return fmt.Errorf("%w: it needs a user and an action, and at most %d bytes of object", ErrBadAccess, maxAccessObject)
	}
	if panRe.MatchString(a.Object) || panRe.MatchString(a.UserName) {
		return fmt.Errorf("%w: 12 or more digits in a row, which could be a card number", ErrBadAccess)
	}
	if a.At.IsZero() {
		a.At = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO access_log (at, user_id, user_name, action, object) VALUES (?, ?, ?, ?, ?)`,
		millis(a.At), a.UserID, a.UserName, a.Action, a.Object)
	if err != nil {
		return fmt.Errorf("write the access log: %w", err)
	}
	return nil
}

// AccessFilter says which entries ListAccess returns: each field that is
// set must match.
type AccessFilter struct {
	User   string // the user's name then (any case)
	Action string
	From   time.Time // at or after
	To     time.Time // before
	Limit  int       // at most this many, newest first (0: all)
}

// ListAccess returns the entries f matches, newest first.
func (s *Store) ListAccess(ctx context.Context, f AccessFilter) ([]Access, error) {
	from, to, limit := window(f.From, f.To, f.Limit)
	return queryAll(ctx, s.db, "read the access log", func(r scanner) (Access, error) {
		var a Access
		var at int64
		err := r.Scan(&a.ID, &at, &a.UserID, &a.UserName, &a.Action, &a.Object)
		a.At = fromMillis(at)
		return a, err
	}, `SELECT id, at, user_id, user_name, action, object FROM access_log
		WHERE (? = '' OR user_name = ? COLLATE NOCASE) AND (? = '' OR action = ?) AND (? = 0 OR at >= ?) AND (? = 0 OR at < ?)
		ORDER BY at DESC, id DESC LIMIT ?`, f.User, f.User, f.Action, f.Action, from, from, to, to, limit)
}

// RecordingAccessedSince reports whether the user (by id) has a play or
// download of the recording logged at or after since: a player's later
// range requests belong to a play already logged.
func (s *Store) RecordingAccessedSince(ctx context.Context, userID, recording int64, since time.Time) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM access_log WHERE user_id = ? AND object = ? AND action IN (?, ?) AND at >= ?`,
		userID, strconv.FormatInt(recording, 10), AccessRecordingPlay, AccessRecordingDownload, millis(since)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("read the access log: %w", err)
	}
	return n > 0, nil
}
