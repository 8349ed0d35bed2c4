package node

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/server/auth"
	"github.com/hushphone/hushphone/server/calls"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

// TestCallsKnowTheAgentBeforeTheHubTellsThem is the race the dispatcher's
// order closes, with a real caller (SIP) and a real agent (the engine):
// when the hub hears that a call was assigned (and tells the agent, whose
// offer may come at once), the calls must already know whose call it is.
// A probe in the hub's place asks the calls then (a supervisor's listen
// needs the call's agent). With the calls subscribed after the hub, the
// probe finds the call without its agent, which is how the test fails
// without the order.
func TestCallsKnowTheAgentBeforeTheHubTellsThem(t *testing.T) {
	for _, c := range []struct {
		name      string
		callsLast bool
		want      error
	}{
		{"as built", false, nil},
		{"calls after the hub", true, calls.ErrNotActive},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each runs its own node, caller and agent
			got := assignedProbe(t, c.callsLast)
			if !errors.Is(got, c.want) {
				t.Errorf("the calls, asked as the hub hears the call assigned: %v, want %v", got, c.want)
			}
		})
	}
}

// assignedProbe runs one call to an agent and returns what the calls said
// when the probe, in the hub's place, asked to listen to the call as it
// was assigned.
func assignedProbe(t *testing.T, callsLast bool) error {
	t.Helper()
	cfg := testConfig(t)
	cheap := auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	n, err := New(cfg, nil, WithSignInHash(cheap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	h, err := cheap.Hash("ann-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Store().AddUser(context.Background(), "ann", store.RoleAgent, h); err != nil {
		t.Fatal(err)
	}

	probed := make(chan error, 1)
	subs := n.events.route.subs
	i := slices.IndexFunc(subs, func(s subscriber[route.Event]) bool { return s.name == "hub" })
	hub := subs[i].fn
	subs[i].fn = func(e route.Event) {
		if a, ok := e.(route.CallAssigned); ok {
			err := n.calls.Listen(context.Background(), "probe", a.Call)
			if err == nil {
				_ = n.calls.Unlisten(context.Background(), "probe", a.Call)
			}
			select {
			case probed <- err:
			default:
			}
		}
		hub(e)
	}
	if callsLast {
		j := slices.IndexFunc(subs, func(s subscriber[route.Event]) bool { return s.name == "calls" })
		cs := subs[j]
		subs = append(slices.Delete(subs, j, j+1), cs)
		n.events.route.subs = subs
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { _ = n.Run(ctx) })
	agent, err := engine.New(engine.Config{Server: n.URL(), User: "ann", Password: "ann-password", AutoAnswer: true, Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = agent.Run(ctx) })
	for !slices.ContainsFunc(n.Agents(), func(a route.AgentInfo) bool { return a.State == route.StateAvailable }) {
		if ctx.Err() != nil {
			t.Fatal("the agent did not become available")
		}
		time.Sleep(20 * time.Millisecond)
	}
	caller := sipptest.Dial(t, n.SIPAddr(), g711.ULaw, 10*time.Second)
	defer caller.Close()
	select {
	case err := <-probed:
		return err
	case <-ctx.Done():
		t.Fatal("the call was never assigned")
		return nil
	}
}
