package node

import (
	"context"
	"testing"
	"time"

	"github.com/hushphone/hushphone/server/store"
)

// TestQueueMembersFollowTheCommandLine: an agent removed by the command
// line (another process, the same database) stops being rung as a queue's
// member. Before, the queues were reloaded only on the API's changes, and
// the router went on offering the queue's calls to the removed name, which
// a new user of that name would then have got.
func TestQueueMembersFollowTheCommandLine(t *testing.T) {
	cfg := testConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The queue and its member, as an admin made them before this start.
	st, err := store.Open(ctx, cfg.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(ctx, "bob", store.RoleAgent, "x"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddQueue(ctx, "sales", "2000"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetQueueMembers(ctx, "sales", []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	n, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	if !n.queues.Member("bob", "sales") {
		t.Fatal("bob is not in sales at the start")
	}
	// "hushphone-server user remove bob", from another process.
	if err := st.RemoveUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()
	deadline := time.Now().Add(5 * usersPoll)
	for n.queues.Member("bob", "sales") {
		if time.Now().After(deadline) {
			t.Fatalf("bob, removed on the command line, is still a member of sales after %v", 5*usersPoll)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
