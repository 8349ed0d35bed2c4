package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/config"
	"github.com/hushphone/hushphone/server/store"
)

// boardWatcher is a supervisor (the engine, as hushphone-agent --listen
// runs it) and what it sees: its board of calls, the largest message the
// server sent it, and whether it is still connected.
type boardWatcher struct {
	mu      sync.Mutex
	calls   int
	largest int
	done    chan error
}

func watchBoard(ctx context.Context, t *testing.T, srv *stacktest.Stack, user string) *boardWatcher {
	t.Helper()
	w := &boardWatcher{calls: -1, done: make(chan error, 1)}
	a, err := engine.New(engine.Config{Server: srv.URL, User: user, Password: user + "-password", OTP: srv.OTP(user), Loopback: true,
		OnMessage: func(b []byte) {
			w.mu.Lock()
			w.largest = max(w.largest, len(b))
			w.mu.Unlock()
		},
		OnEvent: func(e engine.Event) {
			if e.Type == protocol.TypeCalls {
				w.mu.Lock()
				w.calls = len(e.Calls)
				w.mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- a.Run(ctx) }()
	return w
}

// waitCalls waits until the supervisor's board holds n calls, failing if
// its connection ends first.
func (w *boardWatcher) waitCalls(t *testing.T, who string, n int, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		w.mu.Lock()
		got := w.calls
		w.mu.Unlock()
		if got == n {
			return
		}
		select {
		case err := <-w.done:
			t.Fatalf("%s was disconnected with %d calls on the board: %v", who, got, err)
		case <-deadline:
			t.Fatalf("%s's board holds %d calls, want %d", who, got, n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestSupervisorFollows500Calls: 500 callers wait in the queue; a
// supervisor connected before them follows each arrival, and one who
// connects once they are all up gets the whole board, and both stay
// connected. Before, every change sent every supervisor the whole calls
// snapshot, which passed the client's 32 KiB read limit at about 240 calls
// and dropped the connection.
func TestSupervisorFollows500Calls(t *testing.T) {
	const n = 500
	srv := stacktest.Start(t, stacktest.WithoutRingback(), stacktest.WithConfig(func(c *config.Config) {
		c.MaxCalls, c.InviteRate = n, 0 // the defaults bound one trunk address well below 500 calls
	}))
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password")
	srv.AddUser(t, "root", store.RoleAdmin, "root-password")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sue := watchBoard(ctx, t, srv, "sue")
	sue.waitCalls(t, "sue", 0, 10*time.Second)

	// n callers over bare UDP: each INVITE waits in the queue (no agent).
	q := newQueuedCallers(t, srv)
	for i := range n {
		q.invite(t, i)
		if i%50 == 49 {
			time.Sleep(20 * time.Millisecond) // a trunk's pace, not a flood
		}
	}
	sue.waitCalls(t, "sue", n, 60*time.Second)
	root := watchBoard(ctx, t, srv, "root")
	root.waitCalls(t, "root", n, 20*time.Second)
	for _, w := range []*boardWatcher{sue, root} {
		w.mu.Lock()
		largest := w.largest
		w.mu.Unlock()
		if largest > protocol.MaxMessage {
			t.Errorf("the server sent a supervisor a %d-byte message: snapshots are paged under %d", largest, protocol.MaxMessage)
		}
		select {
		case err := <-w.done:
			t.Fatalf("a supervisor was disconnected: %v", err)
		default:
		}
	}
	if got := q.answers.Load(); got < n {
		t.Errorf("the trunk answered %d of %d INVITEs", got, n)
	}
}
