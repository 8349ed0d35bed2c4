// Package queues is the call queues as the call path needs them, in
// memory: which queue takes a dialled number, and who may take a queue's
// calls. It loads them from the store, and again whenever an admin
// changes them (Reload); the call queue (server/route) asks it with its
// lock held, so it answers from memory.
package queues

import (
	"context"
	"strings"
	"sync"

	"github.com/hushphone/hushphone/server/store"
)

// Store is where the queues live (*store.Store).
type Store interface {
	ListQueues(ctx context.Context) ([]store.Queue, error)
}

// Directory is the queues, in memory. The zero value has none but the
// default queue, whose members are every agent.
type Directory struct {
	mu       sync.RWMutex
	byNumber map[string]string          // dialled number -> queue
	members  map[string]map[string]bool // queue (lower case) -> agent names (lower case)
	inSome   map[string]bool            // agents (lower case) in at least one queue
}

// New returns a Directory loaded from st.
func New(ctx context.Context, st Store) (*Directory, error) {
	d := &Directory{}
	if err := d.Reload(ctx, st); err != nil {
		return nil, err
	}
	return d, nil
}

// Reload reads the queues from st again.
func (d *Directory) Reload(ctx context.Context, st Store) error {
	qs, err := st.ListQueues(ctx)
	if err != nil {
		return err //nolint:wrapcheck // the store's error says what failed
	}
	byNumber := map[string]string{}
	members := map[string]map[string]bool{}
	inSome := map[string]bool{}
	for _, q := range qs {
		if q.Number != "" {
			byNumber[q.Number] = q.Name
		}
		set := map[string]bool{}
		for _, m := range q.Members {
			set[strings.ToLower(m)] = true
			inSome[strings.ToLower(m)] = true
		}
		members[strings.ToLower(q.Name)] = set
	}
	d.mu.Lock()
	d.byNumber, d.members, d.inSome = byNumber, members, inSome
	d.mu.Unlock()
	return nil
}

// QueueFor is the queue that takes calls to number: the queue for that
// number, or the default queue.
func (d *Directory) QueueFor(number string) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if q, ok := d.byNumber[number]; ok {
		return q
	}
	return store.DefaultQueue
}

// Member reports whether the agent of that name takes queue's calls: a
// member of it, or, for the default queue, an agent in no queue.
func (d *Directory) Member(agentName, queue string) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	name := strings.ToLower(agentName)
	if d.members[strings.ToLower(queue)][name] {
		return true
	}
	return strings.EqualFold(queue, store.DefaultQueue) && !d.inSome[name]
}
