package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"

	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/server/store"
)

// TestQueueRingsItsMember: an admin adds the queue "sales" for the number
// 2000 with bob as its member, over the API. ann, in no queue, has been
// idle longest; a call to 2000 still rings bob (real SIP, real agent
// engines answering on their own), and a call to the server's usual
// number goes to the default queue and rings ann, never bob. The call log
// knows each call's queue.
func TestQueueRingsItsMember(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddAgent(t, "bob", "bob-password")
	srv.AddUser(t, "root", store.RoleAdmin, "root-password")
	code, err := srv.Code(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	root := restSignIn(t, srv.URL, "root", "root-password", code)
	var q struct {
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	if status := root.do("POST", "/api/v1/queues", map[string]any{"name": "sales", "number": "2000", "members": []string{"bob"}}, &q); status != 201 || q.Name != "sales" {
		t.Fatalf("add the queue: %d %+v", status, q)
	}

	t.Cleanup(runAgent(ctx, t, srv, "ann"))
	srv.WaitAvailable(t, 1)
	time.Sleep(200 * time.Millisecond) // ann: idle longest
	t.Cleanup(runAgent(ctx, t, srv, "bob"))
	srv.WaitAvailable(t, 2)

	on := func(call string) string {
		t.Helper()
		for _, a := range srv.Agents() {
			if a.Call != "" && a.Call == call {
				return a.Name
			}
		}
		return ""
	}
	sales := sipptest.DialNumber(t, srv.SIPAddr, "2000", g711.ULaw, 15*time.Second)
	waitAudio(t, sales, "bob")
	if who := on(sales.CallID()); who != "bob" {
		t.Errorf("the call to 2000 went to %q, want bob (sales' member), though ann was idle longer", who)
	}
	other := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 15*time.Second)
	waitAudio(t, other, "ann")
	if who := on(other.CallID()); who != "ann" {
		t.Errorf("the call to the default queue went to %q, want ann (in no queue)", who)
	}
	for call, want := range map[string]string{sales.CallID(): "sales", other.CallID(): "default"} {
		c, err := srv.Store.LoggedCallByID(ctx, call)
		if err != nil || c.Queue != want {
			t.Errorf("call log for %s: %+v, %v; want queue %s", call, c, err, want)
		}
	}
	sales.Hangup(t)
	other.Hangup(t)
}

// runAgent runs the agent engine as name (password name-password),
// answering calls on its own, until the returned stop, which waits for it
// and fails the test if it failed.
func runAgent(ctx context.Context, t *testing.T, srv *stacktest.Stack, name string) (stop func()) {
	t.Helper()
	a, err := engine.New(engine.Config{Server: srv.URL, User: name, Password: name + "-password", AutoAnswer: true, Audio: &ears{}, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
}
