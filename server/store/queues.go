package store

// This file holds the call queues: a queue takes the calls to one dialled
// number (the INVITE's request user) and rings its members, agents. The
// default queue (DefaultQueue) is implicit: it takes every other call, and
// its members are the agents in no queue, and those made its members.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// migrationQueues is schema version 8.
const migrationQueues = `CREATE TABLE queues (
	name    TEXT PRIMARY KEY COLLATE NOCASE,
	number  TEXT NOT NULL UNIQUE, -- the dialled number whose calls it takes
	created INTEGER NOT NULL      -- Unix milliseconds
) WITHOUT ROWID;
CREATE TABLE queue_members (
	queue   TEXT NOT NULL COLLATE NOCASE, -- a queue's name, or 'default'
	user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (queue, user_id)
) WITHOUT ROWID;`

// DefaultQueue is the queue of calls to numbers no queue takes.
const DefaultQueue = "default"

var (
	// ErrBadQueue is returned for a queue name or number the store refuses.
	ErrBadQueue = errors.New("invalid queue")
	// ErrQueueExists: a queue of that name, or one for that number, exists.
	ErrQueueExists = errors.New("a queue of that name or for that number already exists")
	// ErrNoQueue: no queue of that name.
	ErrNoQueue = errors.New("no such queue")
)

var (
	queueNameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	queueNumberRe = regexp.MustCompile(`^[A-Za-z0-9+*#._-]{1,32}$`)
)

// Queue is a call queue and its members' names, by name.
type Queue struct {
	Name, Number string
	Members      []string
}

// CheckQueue checks a queue's name and number: a name of 1-64 letters,
// digits, '.', '_' or '-' (not "default"), a number of 1-32 digits,
// letters, '+', '*', '#', '.', '_' or '-' (a SIP request URI's user), and
// neither with 12 digits in a row.
func CheckQueue(name, number string) error {
	if !queueNameRe.MatchString(name) || strings.EqualFold(name, DefaultQueue) || !queueNumberRe.MatchString(number) ||
		panRe.MatchString(name) || panRe.MatchString(number) {
		return fmt.Errorf("%w: a name is 1-64 letters, digits, '.', '_' or '-' (not %q), a number 1-32 digits, letters or '+*#._-', neither with 12 digits in a row", ErrBadQueue, DefaultQueue)
	}
	return nil
}

// AddQueue adds a queue for the calls to number.
func (s *Store) AddQueue(ctx context.Context, name, number string) error {
	if err := CheckQueue(name, number); err != nil {
		return err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM queues WHERE name = ? OR number = ?", name, number).Scan(&n); err != nil {
		return fmt.Errorf("add queue: %w", err)
	}
	if n > 0 {
		return ErrQueueExists
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO queues (name, number, created) VALUES (?, ?, ?)", name, number, millis(s.now())); err != nil {
		return fmt.Errorf("add queue: %w", err)
	}
	return nil
}

// RemoveQueue removes a queue and its memberships; its number's calls go
// to the default queue.
func (s *Store) RemoveQueue(ctx context.Context, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove queue: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, "DELETE FROM queues WHERE name = ?", name)
	if err != nil {
		return fmt.Errorf("remove queue: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("remove queue: %w", err)
	} else if n == 0 {
		return ErrNoQueue
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM queue_members WHERE queue = ?", name); err != nil {
		return fmt.Errorf("remove queue: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove queue: %w", err)
	}
	return nil
}

// SetQueueMembers makes the agents named (and no others) the members of
// the queue (a queue's name, or DefaultQueue). Every name must be an
// agent's.
func (s *Store) SetQueueMembers(ctx context.Context, queue string, members []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set queue members: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if !strings.EqualFold(queue, DefaultQueue) {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM queues WHERE name = ?", queue).Scan(&n); err != nil {
			return fmt.Errorf("set queue members: %w", err)
		}
		if n == 0 {
			return ErrNoQueue
		}
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM queue_members WHERE queue = ?", queue); err != nil {
		return fmt.Errorf("set queue members: %w", err)
	}
	seen := map[string]bool{}
	for _, m := range members {
		if seen[strings.ToLower(m)] { // names are unique regardless of case
			continue
		}
		seen[strings.ToLower(m)] = true
		res, err := tx.ExecContext(ctx, `INSERT INTO queue_members (queue, user_id)
			SELECT ?, id FROM users WHERE name = ? AND role = 'agent'`, queue, m)
		if err != nil {
			return fmt.Errorf("set queue members: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set queue members: %w", err)
		} else if n == 0 {
			return fmt.Errorf("%w: every member must be an agent", ErrNoUser)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set queue members: %w", err)
	}
	return nil
}

// ListQueues returns every queue with its members, by name, the default
// queue first (number ""; its members those made so, not the agents in no
// queue, who take its calls too).
func (s *Store) ListQueues(ctx context.Context) ([]Queue, error) {
	qs, err := queryAll(ctx, s.db, "list queues", func(r scanner) (Queue, error) {
		var q Queue
		err := r.Scan(&q.Name, &q.Number)
		return q, err
	}, "SELECT name, number FROM queues ORDER BY name")
	if err != nil {
		return nil, err
	}
	out := append([]Queue{{Name: DefaultQueue}}, qs...)
	// Each membership as a queue with one member.
	ms, err := queryAll(ctx, s.db, "list queues", func(r scanner) (Queue, error) {
		var m Queue
		var name string
		err := r.Scan(&m.Name, &name)
		m.Members = []string{name}
		return m, err
	}, `SELECT queue, users.name FROM queue_members JOIN users ON users.id = user_id`)
	if err != nil {
		return nil, err
	}
	members := map[string][]string{}
	for _, m := range ms {
		q := strings.ToLower(m.Name)
		members[q] = append(members[q], m.Members...)
	}
	for i := range out {
		m := members[strings.ToLower(out[i].Name)]
		sort.Strings(m)
		out[i].Members = m
	}
	return out, nil
}
