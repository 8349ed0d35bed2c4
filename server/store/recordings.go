package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// ErrNoRecording is returned for a recording id that is not in the index.
var ErrNoRecording = errors.New("no such recording")

// ErrBadRecording is returned for a recording the index cannot hold.
var ErrBadRecording = errors.New("invalid recording")

// Recording is one call recording's entry in the index. Path is relative
// to the data directory (e.g. recordings/2026/11/26/CALL.wav).
type Recording struct {
	ID     int64
	CallID string
	// Agent is the agent who answered the call; when it went to others
	// after (the first dropped and the call was requeued), their names
	// follow, comma-separated, in the order they took it.
	Agent    string
	Started  time.Time
	Duration time.Duration // 0 until the call ends
	Path     string
	// Verdict is the masking proof's (VerdictClean or VerdictSuspect),
	// "" until the recording has been checked (proofs.go). AddRecording
	// ignores it.
	Verdict string
	// Caller is the call's other party's number from the call log
	// (CallerNumber's form; "" when the log has none). AddRecording
	// ignores it.
	Caller string
}

// AddRecording indexes a recording when it starts; its ID is set on return.
func (s *Store) AddRecording(ctx context.Context, r Recording) (Recording, error) {
	if r.CallID == "" || r.Path == "" || !filepath.IsLocal(r.Path) {
		return Recording{}, fmt.Errorf("%w: it needs a call id and a path inside the data directory (got %q)", ErrBadRecording, r.Path)
	}
	if r.Started.IsZero() {
		r.Started = s.now()
	}
	r.Started = fromMillis(millis(r.Started))
	res, err := s.db.ExecContext(ctx,
		"INSERT INTO recordings (call_id, agent, started, duration_ms, path) VALUES (?, ?, ?, ?, ?)",
		r.CallID, r.Agent, millis(r.Started), r.Duration.Milliseconds(), filepath.ToSlash(r.Path))
	if err != nil {
		return Recording{}, fmt.Errorf("index recording %s: %w", r.Path, err)
	}
	if r.ID, err = res.LastInsertId(); err != nil {
		return Recording{}, fmt.Errorf("index recording %s: %w", r.Path, err)
	}
	return r, nil
}

// SetRecordingDuration records how long a recording turned out to be.
func (s *Store) SetRecordingDuration(ctx context.Context, id int64, d time.Duration) error {
	res, err := s.db.ExecContext(ctx, "UPDATE recordings SET duration_ms = ? WHERE id = ?", d.Milliseconds(), id)
	if err != nil {
		return fmt.Errorf("update recording %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update recording %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("%w: %d", ErrNoRecording, id)
	}
	return nil
}

// AddRecordingAgent adds an agent who took the call over to a recording's
// entry (nothing if they are already in it).
func (s *Store) AddRecordingAgent(ctx context.Context, id int64, agent string) error {
	if err := CheckName(agent); err != nil {
		return fmt.Errorf("recording %d: %w", id, err)
	}
	rec, err := s.RecordingByID(ctx, id)
	if err != nil {
		return err
	}
	if slices.Contains(strings.Split(rec.Agent, ","), agent) {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE recordings SET agent = agent || ',' || ? WHERE id = ?", agent, id); err != nil {
		return fmt.Errorf("update recording %d: %w", id, err)
	}
	return nil
}

// recordingColumns are a recording's, with its proof's verdict: select
// them FROM recordingsWithVerdict.
const (
	recordingColumns      = "r.id, r.call_id, r.agent, r.started, r.duration_ms, r.path, COALESCE(p.verdict, ''), COALESCE(l.caller, '')"
	recordingsWithVerdict = "recordings r LEFT JOIN recording_proofs p ON p.recording_id = r.id LEFT JOIN call_log l ON l.call_id = r.call_id"
)

func scanRecording(r scanner) (Recording, error) {
	var rec Recording
	var started, ms int64
	if err := r.Scan(&rec.ID, &rec.CallID, &rec.Agent, &started, &ms, &rec.Path, &rec.Verdict, &rec.Caller); err != nil {
		return Recording{}, err
	}
	rec.Started = fromMillis(started)
	rec.Duration = time.Duration(ms) * time.Millisecond
	rec.Path = filepath.FromSlash(rec.Path)
	return rec, nil
}

// RecordingByID returns one recording's entry, or ErrNoRecording.
func (s *Store) RecordingByID(ctx context.Context, id int64) (Recording, error) {
	rec, err := scanRecording(s.db.QueryRowContext(ctx, "SELECT "+recordingColumns+" FROM "+recordingsWithVerdict+" WHERE r.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Recording{}, fmt.Errorf("%w: %d", ErrNoRecording, id)
	}
	if err != nil {
		return Recording{}, fmt.Errorf("look up recording %d: %w", id, err)
	}
	return rec, nil
}

// ListRecordings returns up to limit recordings (all if limit <= 0),
// newest first.
func (s *Store) ListRecordings(ctx context.Context, limit int) ([]Recording, error) {
	return s.FindRecordings(ctx, RecordingFilter{Limit: limit})
}

// RecordingFilter says which recordings FindRecordings returns: each
// field that is set must match.
type RecordingFilter struct {
	Agent  string // an agent on the call (any case)
	CallID string
	// Caller: the call's other party's number (see CallerNumber): its
	// digits end the logged number's (leading zeros aside), or a name
	// matches whole, in any case.
	Caller string
	From   time.Time // started at or after
	To     time.Time // started before
	Limit  int       // at most this many, newest first (0: all)
}

// FindRecordings returns the recordings f matches, newest first.
func (s *Store) FindRecordings(ctx context.Context, f RecordingFilter) ([]Recording, error) {
	from, to, limit := window(f.From, f.To, f.Limit)
	digits, name := callerSearch(f.Caller)
	if f.Caller != "" && digits == "" && name == "" {
		return nil, nil // nothing a logged number could match
	}
	return queryAll(ctx, s.db, "list recordings", scanRecording, "SELECT "+recordingColumns+" FROM "+recordingsWithVerdict+`
		WHERE (? = '' OR r.call_id = ?) AND (? = 0 OR r.started >= ?) AND (? = 0 OR r.started < ?)
		AND (? = '' OR instr(',' || lower(r.agent) || ',', ',' || lower(?) || ',') > 0)
		AND (? = '' OR l.caller LIKE '%' || ?) AND (? = '' OR lower(l.caller) = lower(?))
		ORDER BY r.started DESC, r.id DESC LIMIT ?`,
		f.CallID, f.CallID, from, from, to, to, f.Agent, f.Agent, digits, digits, name, name, limit)
}
