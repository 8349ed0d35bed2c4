package calllog

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a test clock moved by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestLogFollowsTheQueue feeds the queue's events for an inbound call
// answered, taken up again after its agent dropped and ended, one placed
// by an agent, and one still going, into a log on a real SQLite file; it
// reopens the file as a restarted server would and finds each call as it
// went, the open one ended by the restart. Events after Close are not
// logged, and do not panic.
func TestLogFollowsTheQueue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	l, err := New(ctx, st, c.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	step := func(d time.Duration, e route.Event) {
		c.t = c.t.Add(d)
		l.RouteEvent(e)
	}
	step(0, route.CallQueued{Call: "in1", From: "+441234", Queue: route.DefaultQueue})
	step(4*time.Second, route.OfferCall{Agent: "a1", Call: "in1"}) // not logged
	step(2*time.Second, route.CallAssigned{Agent: "ann", Call: "in1"})
	step(time.Minute, route.CallHeld{Agent: "ann", Call: "in1"})
	step(5*time.Second, route.CallAssigned{Agent: "ann", Call: "in1", Rejoined: true})
	step(time.Minute, route.CallEnded{Call: "in1", Agent: "ann", Reason: protocol.EndAgent})
	step(time.Second, route.CallAssigned{Agent: "bob", Call: "out1", From: "+331234", Outbound: true})
	step(time.Second, route.CallQueued{Call: "in2", Queue: route.DefaultQueue})
	step(time.Second, route.CallAssigned{Agent: "bob", Call: "in2"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.RouteEvent(route.CallEnded{Call: "in2", Agent: "bob", Reason: protocol.EndAgent}) // after Close: dropped
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The next start.
	st, err = store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c.t = c.t.Add(time.Hour)
	l, err = New(ctx, st, c.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	for _, want := range []store.LoggedCall{
		{CallID: "in1", Queue: route.DefaultQueue, Direction: store.DirectionIn, Offered: start,
			Answered: start.Add(6 * time.Second), Ended: start.Add(6*time.Second + 2*time.Minute + 5*time.Second), Agent: "ann", Outcome: "agent"},
		{CallID: "out1", Queue: route.DefaultQueue, Direction: store.DirectionOut, Offered: start.Add(2*time.Minute + 12*time.Second),
			Answered: start.Add(2*time.Minute + 12*time.Second), Ended: c.t, Agent: "bob", Outcome: store.OutcomeServerRestart},
		{CallID: "in2", Queue: route.DefaultQueue, Direction: store.DirectionIn, Offered: start.Add(2*time.Minute + 13*time.Second),
			Answered: start.Add(2*time.Minute + 14*time.Second), Ended: c.t, Agent: "bob", Outcome: store.OutcomeServerRestart},
	} {
		got, err := st.LoggedCallByID(ctx, want.CallID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Offered.Equal(want.Offered) || !got.Answered.Equal(want.Answered) || !got.Ended.Equal(want.Ended) ||
			got.Queue != want.Queue || got.Direction != want.Direction || got.Agent != want.Agent || got.Outcome != want.Outcome {
			t.Errorf("%s:\n got %+v\nwant %+v", want.CallID, got, want)
		}
	}
}
