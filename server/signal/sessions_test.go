package signal_test

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/signal"
	"github.com/hushphone/hushphone/server/store"
)

// TestRemovedAgentsCallNotInherited: an agent on a call is removed and a
// new account takes the name. The removed agent's WebSocket closes (4001)
// and its call goes back to the queue at once, for another agent; the new
// account is not handed the call to rejoin. Both ways: the hub noticing
// the removal first (its users poll), or the new account connecting first.
func TestRemovedAgentsCallNotInherited(t *testing.T) {
	for _, c := range []struct {
		name    string
		noticed bool // the hub's poll sees the removal before the new account connects
	}{{"removal noticed first", true}, {"new account first", false}} {
		t.Run(c.name, func(t *testing.T) {
			poll := time.Hour
			if c.noticed {
				poll = 20 * time.Millisecond
			}
			e := newEnv(t, func(p *signal.Params) {
				p.Users = p.Sessions.(signal.UsersWatch) // the store
				p.UsersPoll = poll
			})
			ctx := context.Background()
			ann := e.connect("ann")
			ann.available()
			_ = e.router.Inbound("call-x", "")
			ann.expect("call.offered")
			ann.send(map[string]any{"type": "answer", "call": "call-x"})
			ann.expect("call.started")

			if err := e.store.RemoveUser(ctx, "ann"); err != nil {
				t.Fatal(err)
			}
			if c.noticed {
				if s := ann.expectClose(); s != websocket.StatusCode(protocol.CloseSessionEnded) {
					t.Fatalf("ann closed with %d, want %d", s, protocol.CloseSessionEnded)
				}
				eventually(t, "the call back in the queue, not held for ann", func() bool {
					cs := e.router.Calls()
					return len(cs) == 1 && cs[0].State == route.CallStateQueued
				})
			}
			h, err := cheap.Hash("ann-password")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.store.AddUser(ctx, "ann", store.RoleAgent, h); err != nil {
				t.Fatal(err)
			}
			again := e.connect("ann")
			if !c.noticed {
				if s := ann.expectClose(); s != websocket.StatusCode(protocol.CloseSessionEnded) {
					t.Fatalf("the removed ann closed with %d, want %d", s, protocol.CloseSessionEnded)
				}
			}
			m := again.expect("presence")
			if m["status"] != "away" {
				t.Fatalf("the new ann: %v, want away and no call", m)
			}
			if cs := e.router.Calls(); len(cs) != 1 || cs[0].State != route.CallStateQueued {
				t.Fatalf("calls %+v, want call-x queued", cs)
			}
			bob := e.connect("bob")
			bob.available()
			if m := bob.expect("call.offered"); m["call"] != "call-x" {
				t.Fatalf("bob: %v", m)
			}
		})
	}
}
