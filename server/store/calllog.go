package store

// This file holds the call log: one row per call, as the router saw it
// (the queue it waited in, when it was offered, answered and ended, the
// agent who had it, how it ended), from which the wallboard's figures come.
// It keeps the caller's number only in CallerNumber's form (caller.go),
// and nothing the caller typed.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// migrationCallLog is schema version 6.
const migrationCallLog = `CREATE TABLE call_log (
	call_id   TEXT PRIMARY KEY,
	queue     TEXT NOT NULL,
	direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
	offered   INTEGER NOT NULL,           -- Unix milliseconds: queued (in) or placed (out)
	answered  INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds; 0: never answered
	ended     INTEGER NOT NULL DEFAULT 0, -- Unix milliseconds; 0: still going
	agent     TEXT NOT NULL DEFAULT '',   -- the agent who answered or placed it
	outcome   TEXT NOT NULL DEFAULT ''    -- protocol.EndReason, or server_restart
) WITHOUT ROWID;
CREATE INDEX call_log_offered ON call_log (offered);`

// The directions of a logged call.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// OutcomeServerRestart is the outcome of a call the server stopped during:
// it was still going when the server last ran.
const OutcomeServerRestart = "server_restart"

// maxLogText bounds a call log text (the call's id, queue, agent, outcome).
const maxLogText = 256

// ErrBadCall is returned for a call log row the store refuses.
var ErrBadCall = errors.New("invalid call log entry")

// ErrNoCall is returned for a call the log does not hold.
var ErrNoCall = errors.New("no such call in the call log")

// LoggedCall is one call in the call log.
type LoggedCall struct {
	CallID    string
	Queue     string
	Direction string
	Offered   time.Time
	Answered  time.Time // zero: never answered
	Ended     time.Time // zero: still going
	Agent     string
	Outcome   string
	// Caller is the other party's number: the caller's (in) or the one
	// the agent dialled (out), as CallerNumber keeps it.
	Caller string
}

func checkLogTexts(texts ...string) error {
	for _, v := range texts {
		if len(v) > maxLogText {
			return fmt.Errorf("%w: a text is longer than %d bytes", ErrBadCall, maxLogText)
		}
		if panRe.MatchString(v) {
			return fmt.Errorf("%w: a text holds 12 or more digits in a row, which could be a card number", ErrBadCall)
		}
	}
	return nil
}

// CallOffered logs a call as it reaches the router: queued (in) or placed
// by an agent (out, answered and with its agent at once). A call already
// logged is left as it is.
func (s *Store) CallOffered(ctx context.Context, c LoggedCall) error {
	if c.CallID == "" || c.Queue == "" || (c.Direction != DirectionIn && c.Direction != DirectionOut) {
		return fmt.Errorf("%w: it needs a call, a queue and a direction (in or out)", ErrBadCall)
	}
	if err := checkLogTexts(c.CallID, c.Queue, c.Agent); err != nil {
		return err
	}
	if c.Offered.IsZero() {
		c.Offered = s.now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO call_log (call_id, queue, direction, offered, answered, agent, caller)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (call_id) DO NOTHING`,
		c.CallID, c.Queue, c.Direction, c.Offered.UnixMilli(), unixMilliOrZero(c.Answered), c.Agent, CallerNumber(c.Caller))
	if err != nil {
		return fmt.Errorf("log the call: %w", err)
	}
	return nil
}

// CallAnswered logs the first answer of a call by agent at t (a call
// taken up again after its agent rejoined keeps its first answer).
func (s *Store) CallAnswered(ctx context.Context, callID, agent string, t time.Time) error {
	if err := checkLogTexts(callID, agent); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `UPDATE call_log SET answered = ?, agent = ? WHERE call_id = ? AND answered = 0`,
		t.UnixMilli(), agent, callID)
	if err != nil {
		return fmt.Errorf("log the answer: %w", err)
	}
	return nil
}

// CallEnded logs the end of a call at t and why (agent: the agent who had
// it then, if the log has none yet).
func (s *Store) CallEnded(ctx context.Context, callID, agent, outcome string, t time.Time) error {
	if err := checkLogTexts(callID, agent, outcome); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `UPDATE call_log SET ended = ?, outcome = ?, agent = CASE WHEN agent = '' THEN ? ELSE agent END
		WHERE call_id = ? AND ended = 0`, t.UnixMilli(), outcome, agent, callID)
	if err != nil {
		return fmt.Errorf("log the end of the call: %w", err)
	}
	return nil
}

// CloseOpenCalls ends, at t, every call the log has as still going: the
// server stopped while they went on (their outcome is
// OutcomeServerRestart). It returns how many it ended.
func (s *Store) CloseOpenCalls(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE call_log SET ended = max(?, offered, answered), outcome = ? WHERE ended = 0`,
		t.UnixMilli(), OutcomeServerRestart)
	if err != nil {
		return 0, fmt.Errorf("end the calls left open: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("end the calls left open: %w", err)
	}
	return n, nil
}

// LoggedCallByID is one call from the log.
func (s *Store) LoggedCallByID(ctx context.Context, callID string) (LoggedCall, error) {
	var c LoggedCall
	var offered, answered, ended int64
	err := s.db.QueryRowContext(ctx, `SELECT call_id, queue, direction, offered, answered, ended, agent, outcome, caller
		FROM call_log WHERE call_id = ?`, callID).Scan(&c.CallID, &c.Queue, &c.Direction, &offered, &answered, &ended, &c.Agent, &c.Outcome, &c.Caller)
	if errors.Is(err, sql.ErrNoRows) {
		return LoggedCall{}, ErrNoCall
	}
	if err != nil {
		return LoggedCall{}, fmt.Errorf("read the call log: %w", err)
	}
	c.Offered, c.Answered, c.Ended = time.UnixMilli(offered), timeOrZero(answered), timeOrZero(ended)
	return c, nil
}

// LoggedCallIDs are the ids of every call in the log, oldest first (for
// tests and tools; the log's figures come from QueueFiguresBetween).
func (s *Store) LoggedCallIDs(ctx context.Context) ([]string, error) {
	return queryAll(ctx, s.db, "read the call log", func(r scanner) (string, error) {
		var id string
		err := r.Scan(&id)
		return id, err
	}, `SELECT call_id FROM call_log ORDER BY offered, call_id`)
}

// QueueFigures are one queue's inbound calls offered in a period.
type QueueFigures struct {
	Queue    string
	Offered  int // calls that came in
	Answered int // of them, answered by an agent
	// Abandoned: ended without an answer, the caller hanging up or giving
	// up (queue_timeout); calls still waiting and calls the server
	// stopped during are neither answered nor abandoned.
	Abandoned int
	// WithinThreshold: answered within the service level's threshold.
	WithinThreshold int
	// TotalWait is the wait of the answered calls, offered to answered;
	// TotalHandle the handle time of those that ended, answered to ended
	// (not those a restart ended: when they ended is not known).
	TotalWait, TotalHandle time.Duration
	Handled                int // TotalHandle's calls
}

// ServiceLevel is the share of the calls offered answered within the
// threshold, counting abandoned calls against it (0 with none offered).
func (q QueueFigures) ServiceLevel() float64 {
	if q.Answered+q.Abandoned == 0 {
		return 0
	}
	return float64(q.WithinThreshold) / float64(q.Answered+q.Abandoned)
}

// AverageWait is the mean wait of the answered calls.
func (q QueueFigures) AverageWait() time.Duration {
	if q.Answered == 0 {
		return 0
	}
	return q.TotalWait / time.Duration(q.Answered)
}

// AverageHandle is the mean handle time of the answered calls that ended.
func (q QueueFigures) AverageHandle() time.Duration {
	if q.Handled == 0 {
		return 0
	}
	return q.TotalHandle / time.Duration(q.Handled)
}

// abandonedOutcomes are the outcomes of an unanswered inbound call that
// count as abandoned.
const abandonedOutcomes = `('caller_gone', 'queue_timeout')`

// QueueFiguresBetween sums the inbound calls offered in [from, to) per
// queue, by queue name; threshold is the service level's.
func (s *Store) QueueFiguresBetween(ctx context.Context, from, to time.Time, threshold time.Duration) ([]QueueFigures, error) {
	return queryAll(ctx, s.db, "sum the call log", func(r scanner) (QueueFigures, error) {
		var q QueueFigures
		var wait, handle int64
		err := r.Scan(&q.Queue, &q.Offered, &q.Answered, &q.Abandoned, &q.WithinThreshold, &wait, &handle, &q.Handled)
		q.TotalWait, q.TotalHandle = time.Duration(wait)*time.Millisecond, time.Duration(handle)*time.Millisecond
		return q, err
	}, `SELECT queue,
			count(*),
			count(*) FILTER (WHERE answered > 0),
			count(*) FILTER (WHERE answered = 0 AND ended > 0 AND outcome IN `+abandonedOutcomes+`),
			count(*) FILTER (WHERE answered > 0 AND answered - offered <= ?),
			coalesce(sum(answered - offered) FILTER (WHERE answered > 0), 0),
			coalesce(sum(ended - answered) FILTER (WHERE answered > 0 AND ended > 0 AND outcome != ?), 0),
			count(*) FILTER (WHERE answered > 0 AND ended > 0 AND outcome != ?)
		FROM call_log WHERE direction = 'in' AND offered >= ? AND offered < ?
		GROUP BY queue ORDER BY queue`, threshold.Milliseconds(), OutcomeServerRestart, OutcomeServerRestart, from.UnixMilli(), to.UnixMilli())
}

// CallsHandledBetween counts, per agent, the calls answered or placed in
// [from, to).
func (s *Store) CallsHandledBetween(ctx context.Context, from, to time.Time) (map[string]int, error) {
	type handled struct {
		agent string
		n     int
	}
	rows, err := queryAll(ctx, s.db, "count the calls handled", func(r scanner) (handled, error) {
		var h handled
		err := r.Scan(&h.agent, &h.n)
		return h, err
	}, `SELECT agent, count(*) FROM call_log
		WHERE agent != '' AND answered >= ? AND answered < ? GROUP BY agent`, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(rows))
	for _, h := range rows {
		out[h.agent] = h.n
	}
	return out, nil
}
