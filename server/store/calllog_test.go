package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestCallLogFigures logs a morning of one queue's calls in a real SQLite
// file and checks the wallboard's figures against them, counted by hand:
// answered within the threshold and after it, abandoned by the caller and
// by the queue's longest wait, still waiting, one ended by a restart, and
// one placed by an agent (not an inbound call). Reopening the file keeps
// them.
func TestCallLogFigures(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	at := func(h, m, sec int) time.Time {
		return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second)
	}
	in := func(id string, offered time.Time) {
		t.Helper()
		if err := s.CallOffered(ctx, LoggedCall{CallID: id, Queue: "sales", Direction: DirectionIn, Offered: offered}); err != nil {
			t.Fatal(err)
		}
	}
	answer := func(id, agent string, tm time.Time) {
		t.Helper()
		if err := s.CallAnswered(ctx, id, agent, tm); err != nil {
			t.Fatal(err)
		}
	}
	end := func(id, agent, outcome string, tm time.Time) {
		t.Helper()
		if err := s.CallEnded(ctx, id, agent, outcome, tm); err != nil {
			t.Fatal(err)
		}
	}
	// a: answered after 10 s, talked 5 min.
	in("a", at(9, 0, 0))
	answer("a", "alice", at(9, 0, 10))
	end("a", "alice", "agent", at(9, 5, 10))
	// b: answered after 30 s (past the 20 s threshold), talked 1 min.
	in("b", at(9, 1, 0))
	answer("b", "bob", at(9, 1, 30))
	answer("b", "alice", at(9, 2, 0)) // taken up again: the first answer stands
	end("b", "bob", "caller_gone", at(9, 2, 30))
	// c: the caller gave up after 40 s.
	in("c", at(9, 3, 0))
	end("c", "", "caller_gone", at(9, 3, 40))
	// d: the queue's longest wait ended it.
	in("d", at(9, 4, 0))
	end("d", "", "queue_timeout", at(9, 14, 0))
	// e: still waiting.
	in("e", at(9, 20, 0))
	// f: answered after 5 s, still talking when the server stopped.
	in("f", at(9, 21, 0))
	answer("f", "bob", at(9, 21, 5))
	// g: placed by an agent.
	if err := s.CallOffered(ctx, LoggedCall{CallID: "g", Queue: "sales", Direction: DirectionOut, Offered: at(9, 30, 0), Answered: at(9, 30, 0), Agent: "alice"}); err != nil {
		t.Fatal(err)
	}
	// h: yesterday's, outside the period.
	in("h", at(-1, 0, 0))

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	restart := at(9, 40, 0)
	// Still going when the server last ran: e, f, g and h.
	if n, err := s.CloseOpenCalls(ctx, restart); err != nil || n != 4 {
		t.Fatalf("CloseOpenCalls: %d, %v; want 4 (e, f, g, h)", n, err)
	}
	if n, err := s.CloseOpenCalls(ctx, restart); err != nil || n != 0 {
		t.Fatalf("CloseOpenCalls again: %d, %v; want 0", n, err)
	}
	f, err := s.LoggedCallByID(ctx, "f")
	if err != nil || !f.Ended.Equal(restart) || f.Outcome != OutcomeServerRestart || f.Agent != "bob" {
		t.Fatalf("f: %+v, %v; want ended at the restart by %s, agent bob", f, err, OutcomeServerRestart)
	}

	qs, err := s.QueueFiguresBetween(ctx, day, day.Add(24*time.Hour), 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 {
		t.Fatalf("%d queues, want 1: %+v", len(qs), qs)
	}
	q := qs[0]
	want := QueueFigures{Queue: "sales", Offered: 6, Answered: 3, Abandoned: 2, WithinThreshold: 2,
		TotalWait: 45 * time.Second, TotalHandle: 6 * time.Minute, Handled: 2} // f's end is not known
	if q != want {
		t.Fatalf("figures\n got %+v\nwant %+v", q, want)
	}
	if sl := q.ServiceLevel(); sl != 0.4 {
		t.Errorf("service level %v, want 0.4 (2 within 20 s of 3 answered and 2 abandoned)", sl)
	}
	if w := q.AverageWait(); w != 15*time.Second {
		t.Errorf("average wait %v, want 15s", w)
	}
	if h := q.AverageHandle(); h != 3*time.Minute {
		t.Errorf("average handle %v, want 3m (a and b)", h)
	}

	handled, err := s.CallsHandledBetween(ctx, day, day.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if handled["alice"] != 2 || handled["bob"] != 2 || len(handled) != 2 {
		t.Errorf("calls handled %v, want alice 2 (a, g) and bob 2 (b, f)", handled)
	}
}

// TestCallLogRefuses: no row without its call, queue and direction, none
// with a text that could hold a card number, none longer than a text may
// be; a call not in the log is ErrNoCall.
func TestCallLogRefuses(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	for _, c := range []LoggedCall{
		{Queue: "q", Direction: DirectionIn},
		{CallID: "c", Direction: DirectionIn},
		{CallID: "c", Queue: "q", Direction: "sideways"},
		{CallID: "c4242424242424242", Queue: "q", Direction: DirectionIn},
		{CallID: "c", Queue: string(make([]byte, 300)), Direction: DirectionIn},
	} {
		if err := s.CallOffered(ctx, c); !errors.Is(err, ErrBadCall) {
			t.Errorf("CallOffered(%.40q...): %v, want ErrBadCall", c.CallID+"/"+c.Queue+"/"+c.Direction, err)
		}
	}
	if err := s.CallEnded(ctx, "c", "4242424242424242", "agent", time.Now()); !errors.Is(err, ErrBadCall) {
		t.Errorf("CallEnded with a card-like agent: %v, want ErrBadCall", err)
	}
	if _, err := s.LoggedCallByID(ctx, "nope"); !errors.Is(err, ErrNoCall) {
		t.Errorf("LoggedCallByID: %v, want ErrNoCall", err)
	}
}
