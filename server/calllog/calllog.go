// Package calllog keeps the call log: it hears the call queue's events
// (server/route) and writes one row per call to the store (queue, when
// offered, answered and ended, the agent, how it ended), off the queue's
// goroutine. The wallboard's figures are sums over that log, so they
// survive a restart: a call the server stopped during is closed, at the
// next start, as ended by the restart.
package calllog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

// QueueLen bounds the entries waiting to be written. The queue's events
// wait for room rather than be lost: a full queue means the disk is far
// behind, and the log would be wrong without them.
const QueueLen = 4096

// writeTimeout bounds one write to the store.
const writeTimeout = 10 * time.Second

// Store is what the log writes to (*store.Store).
type Store interface {
	CallOffered(ctx context.Context, c store.LoggedCall) error
	CallAnswered(ctx context.Context, callID, agent string, t time.Time) error
	CallEnded(ctx context.Context, callID, agent, outcome string, t time.Time) error
	CloseOpenCalls(ctx context.Context, t time.Time) (int64, error)
}

type entryKind uint8

const (
	offered entryKind = iota
	placed
	answered
	ended
)

type entry struct {
	kind                        entryKind
	call, agent, outcome, queue string
	number                      string // the caller's, or the one dialled
	at                          time.Time
}

// Log writes the call log.
type Log struct {
	st  Store
	now func() time.Time
	log *slog.Logger

	mu     sync.RWMutex // closed, and sends against Close
	closed bool
	ch     chan entry
	done   chan struct{}
}

// New ends the calls the log still has as going (the server stopped
// during them) and starts the writer. now is the clock (time.Now when
// nil).
func New(ctx context.Context, st Store, now func() time.Time, log *slog.Logger) (*Log, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n, err := st.CloseOpenCalls(ctx, now())
	if err != nil {
		return nil, err //nolint:wrapcheck // the store's error says what failed
	}
	if n > 0 {
		log.Info("call log: calls still going when the server last stopped are logged as ended now", "calls", n)
	}
	l := &Log{st: st, now: now, log: log, ch: make(chan entry, QueueLen), done: make(chan struct{})}
	go l.run() //nolint:contextcheck // the writer outlives New's context; each write has a timeout of its own
	return l, nil
}

// RouteEvent logs what the call queue did (route.WithEvents).
func (l *Log) RouteEvent(e route.Event) {
	now := l.now()
	switch e := e.(type) {
	case route.CallQueued:
		l.put(entry{kind: offered, call: e.Call, queue: e.Queue, number: e.From, at: now})
	case route.CallAssigned:
		switch {
		case e.Outbound:
			l.put(entry{kind: placed, call: e.Call, agent: e.Agent, number: e.From, at: now})
		case !e.Rejoined:
			l.put(entry{kind: answered, call: e.Call, agent: e.Agent, at: now})
		}
	case route.CallEnded:
		l.put(entry{kind: ended, call: e.Call, agent: e.Agent, outcome: string(e.Reason), at: now})
	}
}

// put queues e, waiting for room; after Close it drops e.
func (l *Log) put(e entry) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return
	}
	l.ch <- e
}

func (l *Log) run() {
	defer close(l.done)
	for e := range l.ch {
		l.write(e)
	}
}

func (l *Log) write(e entry) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	var err error
	switch e.kind {
	case offered:
		err = l.st.CallOffered(ctx, store.LoggedCall{CallID: e.call, Queue: e.queue, Direction: store.DirectionIn, Offered: e.at, Caller: e.number})
	case placed: // placed calls wait in no queue: logged in the default one
		err = l.st.CallOffered(ctx, store.LoggedCall{CallID: e.call, Queue: route.DefaultQueue, Direction: store.DirectionOut, Offered: e.at, Answered: e.at, Agent: e.agent, Caller: e.number})
	case answered:
		err = l.st.CallAnswered(ctx, e.call, e.agent, e.at)
	case ended:
		err = l.st.CallEnded(ctx, e.call, e.agent, e.outcome, e.at)
	}
	switch {
	case errors.Is(err, store.ErrBadCall):
		// Never the texts: the store refused them as possibly card data.
		l.log.Error("call log: the store refused an entry", "err", err)
	case err != nil:
		l.log.Error("call log: could not write", "call", e.call, "err", err)
	}
}

// Close writes what is queued and stops the writer. Events after it are
// not logged.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.ch)
	l.mu.Unlock()
	<-l.done
	return nil
}
