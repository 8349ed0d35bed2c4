package route

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the Router's time source under test: time moves only when
// the test advances it, and due timers run synchronously, earliest first.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	seq     int
	f       func()
	stopped bool
	fired   bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.stopped || t.fired {
		return false
	}
	t.stopped = true
	return true
}

// Advance moves time forward by d, running every timer that falls due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		var next *fakeTimer
		for _, t := range c.timers {
			if t.stopped || t.fired || t.at.After(end) {
				continue
			}
			if next == nil || t.at.Before(next.at) || (t.at.Equal(next.at) && t.seq < next.seq) {
				next = t
			}
		}
		if next == nil {
			break
		}
		next.fired = true
		c.now = next.at
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
	c.now = end
	live := c.timers[:0]
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			live = append(live, t)
		}
	}
	c.timers = live
	c.mu.Unlock()
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped && !t.fired {
			n++
		}
	}
	return n
}

// describe writes an event as the tables below spell it.
func describe(e Event) string {
	switch e := e.(type) {
	case OfferCall:
		return "offer " + e.Agent + " " + e.Call
	case WithdrawOffer:
		return "withdraw " + e.Agent + " " + e.Call + " " + string(e.Reason)
	case CallAssigned:
		if e.Rejoined {
			return "rejoined " + e.Agent + " " + e.Call
		}
		if e.Outbound {
			return "outbound " + e.Agent + " " + e.Call + " to " + e.From
		}
		return "assigned " + e.Agent + " " + e.Call
	case CallQueued:
		return "queued " + e.Call
	case CallHeld:
		return "held " + e.Agent + " " + e.Call
	case CallRequeued:
		return "requeued " + e.Call + " " + e.Agent
	case CallEnded:
		return strings.TrimSpace("ended " + e.Call + " " + string(e.Reason) + " " + e.Agent)
	case AgentState:
		return "state " + e.Agent + " " + string(e.State)
	}
	return fmt.Sprintf("unknown %T", e)
}

var errNames = map[string]error{
	"ErrNoAgent": ErrNoAgent, "ErrNoCall": ErrNoCall, "ErrCallExists": ErrCallExists,
	"ErrBadID": ErrBadID, "ErrBadPresence": ErrBadPresence, "ErrNotOffered": ErrNotOffered,
	"ErrNotYourCall": ErrNotYourCall, "ErrClosed": ErrClosed, "ErrAgentBusy": ErrAgentBusy,
}

type harness struct {
	t      *testing.T
	clk    *fakeClock
	r      *Router
	events []Event
}

func newHarness(t *testing.T, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, clk: newFakeClock()}
	opts = append([]Option{WithClock(h.clk), WithEvents(func(e Event) { h.events = append(h.events, e) })}, opts...)
	h.r = New(opts...)
	return h
}

// run does one step: "reg a", "avail a", "away a", "drop a", "forget a", "in c1",
// "inq c1 sales" (a call to a queue), "answer a c1", "decline a c1",
// "hangup c1", "bye a c1" (agent hangs up),
// "tick 20s", "close"; "-" is an empty id; a last word "!ErrX" expects that error.
func (h *harness) run(step string) {
	h.t.Helper()
	f := strings.Fields(step)
	var want error
	if last := f[len(f)-1]; strings.HasPrefix(last, "!") {
		want = errNames[last[1:]]
		if want == nil {
			h.t.Fatalf("%q: unknown error %s", step, last)
		}
		f = f[:len(f)-1]
	}
	for i := range f {
		if f[i] == "-" {
			f[i] = "" // an empty id
		}
	}
	var err error
	switch f[0] {
	case "reg":
		err = h.r.Register(f[1], strings.ToUpper(f[1]))
	case "avail":
		err = h.r.SetPresence(f[1], StateAvailable)
	case "away":
		err = h.r.SetPresence(f[1], StateAway)
	case "busy":
		err = h.r.SetPresence(f[1], StateBusy)
	case "drop":
		err = h.r.Disconnect(f[1])
	case "forget":
		err = h.r.Forget(f[1])
	case "inq": // "inq c1 sales": a call to the queue sales
		err = h.r.InboundTo(f[1], "", f[2])
	case "in":
		err = h.r.Inbound(f[1], "+441632960"+f[1])
	case "answer":
		err = h.r.Answer(f[1], f[2])
	case "decline":
		err = h.r.Decline(f[1], f[2])
	case "hangup":
		err = h.r.Hangup(f[1], "")
	case "bye":
		err = h.r.AgentHangup(f[1], f[2])
	case "dial":
		err = h.r.Outbound(f[1], f[2], "+441632960999")
	case "tick":
		d, perr := time.ParseDuration(f[1])
		if perr != nil {
			h.t.Fatal(perr)
		}
		h.clk.Advance(d)
	case "close":
		err = h.r.Close()
	default:
		h.t.Fatalf("unknown step %q", step)
	}
	if want == nil && err != nil {
		h.t.Fatalf("%q: %v", step, err)
	}
	if want != nil && !errors.Is(err, want) {
		h.t.Fatalf("%q: got error %v, want %v", step, err, want)
	}
}

// take returns the events since the last take, without agent states unless
// states is set.
func (h *harness) take(states bool) []string {
	var out []string
	for _, e := range h.events {
		if _, ok := e.(AgentState); ok && !states {
			continue
		}
		out = append(out, describe(e))
	}
	h.events = nil
	return out
}

func TestRules(t *testing.T) {
	cases := []struct {
		name  string
		opts  []Option
		setup []string // events from these are not checked
		steps []string
		want  []string // every event but agent states, in order
		agent map[string]State
	}{
		{
			name:  "offered to the longest-idle available agent",
			setup: []string{"reg a", "reg b", "reg c", "avail b", "tick 1s", "avail a", "tick 1s", "avail c"},
			steps: []string{"in c1"},
			want:  []string{"queued c1", "offer b c1"},
			agent: map[string]State{"a": StateAvailable, "b": StateRinging, "c": StateAvailable},
		},
		{
			name:  "a caller waits at most the longest wait",
			opts:  []Option{WithMaxWait(10 * time.Minute)},
			steps: []string{"in c1", "tick 5m", "in c2", "tick 5m"},
			want:  []string{"queued c1", "queued c2", "ended c1 queue_timeout"},
		},
		{
			name:  "the longest wait counts ringing too, and stops when answered",
			opts:  []Option{WithMaxWait(time.Minute), WithRingTimeout(50 * time.Second)},
			setup: []string{"reg a", "avail a"},
			steps: []string{"in c1", "tick 50s", "tick 10s", "in c2", "answer a c2", "tick 5m"},
			want: []string{
				"queued c1", "offer a c1", "withdraw a c1 timeout", "offer a c1", "withdraw a c1 caller_gone",
				"ended c1 queue_timeout", "queued c2", "offer a c2", "assigned a c2",
			},
		},
		{
			name:  "a call back in the queue waits the longest wait again",
			opts:  []Option{WithMaxWait(time.Minute), WithRejoinTimeout(10 * time.Second)},
			setup: []string{"reg a", "avail a", "in c1", "tick 50s", "answer a c1"},
			steps: []string{"drop a", "tick 10s", "tick 59s", "tick 1s"},
			want:  []string{"held a c1", "requeued c1 a", "ended c1 queue_timeout"},
		},
		{
			name:  "without a longest wait callers wait as long as it takes",
			steps: []string{"in c1", "tick 24h"},
			want:  []string{"queued c1"},
		},
		{
			name:  "registration order breaks ties",
			setup: []string{"reg b", "reg a", "avail a", "avail b"},
			steps: []string{"in c1"},
			want:  []string{"queued c1", "offer b c1"},
		},
		{
			name:  "calls wait in order",
			setup: []string{"reg a", "avail a"},
			steps: []string{"in c1", "in c2", "in c3", "answer a c1", "bye a c1", "answer a c2", "hangup c2"},
			want: []string{
				"queued c1", "offer a c1", "queued c2", "queued c3", "assigned a c1",
				"ended c1 agent a", "offer a c2", "assigned a c2", "ended c2 caller_gone a", "offer a c3",
			},
		},
		{
			name:  "two agents ring two calls at once",
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b"},
			steps: []string{"in c1", "in c2", "in c3"},
			want:  []string{"queued c1", "offer a c1", "queued c2", "offer b c2", "queued c3"},
		},
		{
			name:  "no offer to an away agent",
			setup: []string{"reg a"},
			steps: []string{"in c1", "tick 1m", "avail a"},
			want:  []string{"queued c1", "offer a c1"},
		},
		{
			name:  "no offer to a busy agent",
			setup: []string{"reg a", "avail a", "in c1", "answer a c1"},
			steps: []string{"in c2", "tick 1m", "reg b", "avail b"},
			want:  []string{"queued c2", "offer b c2"},
			agent: map[string]State{"a": StateBusy, "b": StateRinging},
		},
		{
			name:  "unanswered within the ring timeout: withdrawn, offered to the next",
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b", "in c1"},
			steps: []string{"tick 19999ms", "tick 1ms"},
			want:  []string{"withdraw a c1 timeout", "offer b c1"},
			agent: map[string]State{"a": StateAvailable, "b": StateRinging},
		},
		{
			name:  "ring timeout is configurable",
			opts:  []Option{WithRingTimeout(5 * time.Second)},
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b", "in c1"},
			steps: []string{"tick 4s", "tick 1s"},
			want:  []string{"withdraw a c1 timeout", "offer b c1"},
		},
		{
			name:  "not the same agent again until the others were tried",
			setup: []string{"reg a", "reg b", "reg c", "avail a", "tick 1s", "avail b", "tick 1s", "avail c", "in c1"},
			steps: []string{"tick 20s", "tick 20s", "tick 20s"},
			want: []string{
				"withdraw a c1 timeout", "offer b c1", "withdraw b c1 timeout", "offer c c1",
				"withdraw c c1 timeout", "offer a c1",
			},
		},
		{
			name:  "a decline is treated like a timeout",
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b", "in c1"},
			steps: []string{"decline a c1", "decline b c1"},
			want:  []string{"withdraw a c1 declined", "offer b c1", "withdraw b c1 declined", "offer a c1"},
		},
		{
			name:  "a lone agent who declines is offered the call again",
			setup: []string{"reg a", "avail a", "in c1"},
			steps: []string{"decline a c1"},
			want:  []string{"withdraw a c1 declined", "offer a c1"},
		},
		{
			name:  "a declined agent still takes the next call",
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b", "in c1"},
			steps: []string{"decline a c1", "in c2"},
			want:  []string{"withdraw a c1 declined", "offer b c1", "queued c2", "offer a c2"},
		},
		{
			name:  "going away while ringing withdraws the offer",
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b", "in c1"},
			steps: []string{"away a"},
			want:  []string{"withdraw a c1 away", "offer b c1"},
			agent: map[string]State{"a": StateAway, "b": StateRinging},
		},
		{
			name:  "back to available after a call, idle from then",
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b", "in c1", "answer a c1", "tick 1m"},
			steps: []string{"hangup c1", "in c2"},
			want:  []string{"ended c1 caller_gone a", "queued c2", "offer b c2"},
			agent: map[string]State{"a": StateAvailable, "b": StateRinging},
		},
		{
			name:  "away during a call applies when it ends",
			setup: []string{"reg a", "avail a", "in c1", "answer a c1"},
			steps: []string{"away a", "bye a c1", "in c2"},
			want:  []string{"ended c1 agent a", "queued c2"},
			agent: map[string]State{"a": StateAway},
		},
		{
			name:  "dropped mid-call: held, and the agent rejoins",
			setup: []string{"reg a", "avail a", "in c1", "answer a c1"},
			steps: []string{"drop a", "tick 29s", "reg a", "tick 1m"},
			want:  []string{"held a c1", "rejoined a c1"},
			agent: map[string]State{"a": StateBusy},
		},
		{
			name:  "dropped mid-call: not back in 30 s, the call goes to the front of the queue",
			setup: []string{"reg a", "avail a", "in c1", "answer a c1", "in c2"},
			steps: []string{"drop a", "tick 29999ms", "tick 1ms", "reg b", "avail b", "reg a"},
			want:  []string{"held a c1", "requeued c1 a", "offer b c1"},
			agent: map[string]State{"a": StateAway, "b": StateRinging},
		},
		{
			name:  "rejoin timeout is configurable",
			opts:  []Option{WithRejoinTimeout(10 * time.Second)},
			setup: []string{"reg a", "reg b", "avail a", "in c1", "answer a c1", "avail b"},
			steps: []string{"drop a", "tick 10s"},
			want:  []string{"held a c1", "requeued c1 a", "offer b c1"},
		},
		{
			name:  "a held call the caller hangs up ends, and the agent is gone",
			setup: []string{"reg a", "avail a", "in c1", "answer a c1", "drop a"},
			steps: []string{"hangup c1", "tick 1m", "reg a"},
			want:  []string{"ended c1 caller_gone a"},
			agent: map[string]State{"a": StateAway},
		},
		{
			name:  "hung up while queued: leaves the queue",
			setup: []string{"reg a", "in c1", "in c2"},
			steps: []string{"hangup c1", "avail a"},
			want:  []string{"ended c1 caller_gone", "offer a c2"},
		},
		{
			name:  "hung up while ringing: withdrawn, the agent is free",
			setup: []string{"reg a", "avail a", "in c1", "in c2"},
			steps: []string{"hangup c1"},
			want:  []string{"withdraw a c1 caller_gone", "ended c1 caller_gone", "offer a c2"},
		},
		{
			name:  "dropped while ringing: offered to the next agent",
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b", "in c1"},
			steps: []string{"drop a"},
			want:  []string{"withdraw a c1 agent_gone", "offer b c1"},
			agent: map[string]State{"b": StateRinging},
		},
		{
			name:  "dropped while idle: gone",
			setup: []string{"reg a", "avail a"},
			steps: []string{"drop a", "in c1", "drop a !ErrNoAgent"},
			want:  []string{"queued c1"},
		},
		{
			name:  "registering again while connected changes nothing",
			setup: []string{"reg a", "avail a", "in c1"},
			steps: []string{"reg a"},
			agent: map[string]State{"a": StateRinging},
		},
		{
			name:  "errors",
			setup: []string{"reg a", "reg b", "avail a", "in c1"},
			steps: []string{
				"answer b c1 !ErrNotOffered", "decline b c1 !ErrNotOffered", "answer a c9 !ErrNoCall",
				"answer z c1 !ErrNoAgent", "in c1 !ErrCallExists", "in - !ErrBadID", "busy a !ErrBadPresence",
				"avail z !ErrNoAgent", "bye a c1 !ErrNotYourCall", "hangup c9 !ErrNoCall", "reg - !ErrBadID",
			},
		},
		{
			name:  "an agent places a call, then is available again",
			setup: []string{"reg a", "avail a"},
			steps: []string{"dial a o1", "in c1", "bye a o1"},
			want:  []string{"outbound a o1 to +441632960999", "queued c1", "ended o1 agent a", "offer a c1"},
			agent: map[string]State{"a": StateRinging},
		},
		{
			name:  "an away agent may dial, and is away after",
			setup: []string{"reg a"},
			steps: []string{"dial a o1", "hangup o1"},
			want:  []string{"outbound a o1 to +441632960999", "ended o1 caller_gone a"},
			agent: map[string]State{"a": StateAway},
		},
		{
			name:  "no dialling with a call ringing or in progress, or when not connected",
			setup: []string{"reg a", "reg b", "avail a", "in c1", "reg c", "avail c", "dial c o2", "drop b"},
			steps: []string{"dial a o1 !ErrAgentBusy", "dial c o3 !ErrAgentBusy", "dial b o4 !ErrNoAgent", "dial z o5 !ErrNoAgent", "dial a - !ErrBadID"},
			agent: map[string]State{"a": StateRinging, "c": StateBusy},
		},
		{
			name:  "a placed call whose agent does not rejoin ends instead of queueing",
			setup: []string{"reg a", "reg b", "avail a", "avail b", "dial a o1"},
			steps: []string{"drop a", "tick 30s"},
			want:  []string{"held a o1", "ended o1 agent_gone a"},
			agent: map[string]State{"b": StateAvailable},
		},
		{
			name:  "a placed call comes back to its agent who rejoins",
			setup: []string{"reg a", "avail a", "dial a o1"},
			steps: []string{"drop a", "tick 10s", "reg a"},
			want:  []string{"held a o1", "rejoined a o1"},
			agent: map[string]State{"a": StateBusy},
		},
		{
			name:  "forgotten while ringing: the offer goes to the next agent",
			setup: []string{"reg a", "reg b", "avail a", "tick 1s", "avail b", "in c1"},
			steps: []string{"forget a", "reg a"},
			want:  []string{"withdraw a c1 agent_gone", "offer b c1"},
			agent: map[string]State{"a": StateAway, "b": StateRinging},
		},
		{
			name:  "forgotten mid-call: the call goes back to the front of the queue at once, no rejoin",
			setup: []string{"reg a", "reg b", "avail a", "in c1", "answer a c1", "in c2"},
			steps: []string{"forget a", "avail b", "reg a"},
			want:  []string{"requeued c1 a", "offer b c1"},
			agent: map[string]State{"a": StateAway, "b": StateRinging},
		},
		{
			name:  "forgotten while its call waits for a rejoin: requeued at once",
			setup: []string{"reg a", "reg b", "avail a", "in c1", "answer a c1", "drop a"},
			steps: []string{"forget a", "avail b", "reg a"},
			want:  []string{"requeued c1 a", "offer b c1"},
			agent: map[string]State{"a": StateAway, "b": StateRinging},
		},
		{
			name:  "forgotten with a call it placed: the call ends",
			setup: []string{"reg a", "avail a", "dial a o1"},
			steps: []string{"forget a", "reg a"},
			want:  []string{"ended o1 agent_gone a"},
			agent: map[string]State{"a": StateAway},
		},
		{
			name:  "forgotten when available or unknown",
			setup: []string{"reg a", "avail a"},
			steps: []string{"forget a", "forget a !ErrNoAgent", "in c1"},
			want:  []string{"queued c1"},
		},
		{
			name:  "closed",
			setup: []string{"reg a", "avail a", "in c1"},
			steps: []string{"close", "tick 1h", "in c2 !ErrClosed", "answer a c1 !ErrClosed", "close"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts...)
			for _, s := range tc.setup {
				h.run(s)
			}
			h.take(false)
			for _, s := range tc.steps {
				h.run(s)
			}
			got := h.take(false)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("events:\n got  %q\n want %q", got, tc.want)
			}
			for id, want := range tc.agent {
				a, ok := h.r.Agent(id)
				if !ok || a.State != want {
					t.Errorf("agent %s: %v %v, want %s", id, a, ok, want)
				}
			}
			checkInvariants(t, h.r)
			if err := h.r.Close(); err != nil {
				t.Fatal(err)
			}
			if n := h.clk.pending(); n != 0 {
				t.Errorf("%d timers left after Close", n)
			}
		})
	}
}

func TestAgentStateEvents(t *testing.T) {
	h := newHarness(t)
	for _, s := range []string{"reg a", "avail a", "in c1", "answer a c1", "drop a", "reg a", "bye a c1", "drop a"} {
		h.run(s)
	}
	want := []string{
		"state a away", "state a available", "queued c1", "offer a c1", "state a ringing",
		"assigned a c1", "state a busy", "held a c1", "state a offline", "rejoined a c1",
		"state a busy", "ended c1 agent a", "state a available", "state a offline",
	}
	if got := h.take(true); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n got  %q\n want %q", got, want)
	}
}

func TestSnapshots(t *testing.T) {
	h := newHarness(t)
	for _, s := range []string{"reg a", "reg b", "avail a", "in c1", "answer a c1", "in c2", "in c3", "avail b"} {
		h.run(s)
	}
	var got []string
	for _, c := range h.r.Calls() {
		got = append(got, c.ID+" "+string(c.State)+" "+c.Agent)
	}
	want := []string{"c2 ringing b", "c3 queued ", "c1 active a"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("calls %q, want %q", got, want)
	}
	got = nil
	for _, a := range h.r.Agents() {
		got = append(got, a.ID+" "+a.Name+" "+string(a.State)+" "+a.Call)
	}
	want = []string{"a A busy c1", "b B ringing c2"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("agents %q, want %q", got, want)
	}
}

// TestEventCallbackMayCallBack: the callback runs without the lock, so the
// hub can read snapshots and act on events; nested events come after.
func TestEventCallbackMayCallBack(t *testing.T) {
	clk := newFakeClock()
	var r *Router
	var got []string
	r = New(WithClock(clk), WithEvents(func(e Event) {
		got = append(got, describe(e))
		if o, ok := e.(OfferCall); ok {
			_ = r.Calls()
			if err := r.Answer(o.Agent, o.Call); err != nil {
				t.Error(err)
			}
		}
	}))
	if err := r.Register("a", "A"); err != nil {
		t.Fatal(err)
	}
	if err := r.SetPresence("a", StateAvailable); err != nil {
		t.Fatal(err)
	}
	if err := r.Inbound("c1", ""); err != nil {
		t.Fatal(err)
	}
	want := "state a away,state a available,queued c1,offer a c1,state a ringing,assigned a c1,state a busy"
	if strings.Join(got, ",") != want {
		t.Errorf("got %q", got)
	}
	_ = r.Close()
}

// TestRealClock: with the system clock, a ring timeout fires on its own and
// Close waits for timers.
func TestRealClock(t *testing.T) {
	evs := make(chan Event, 16)
	r := New(WithRingTimeout(20*time.Millisecond), WithEvents(func(e Event) { evs <- e }))
	_ = r.Register("a", "A")
	_ = r.Register("b", "B")
	_ = r.SetPresence("a", StateAvailable)
	time.Sleep(time.Millisecond)
	_ = r.SetPresence("b", StateAvailable)
	_ = r.Inbound("c1", "")
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-evs:
			if o, ok := e.(OfferCall); ok && o.Agent == "b" {
				if err := r.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
		case <-deadline:
			t.Fatal("no second offer after the ring timeout")
		}
	}
}

// checkInvariants checks the Router's internal state is consistent.
func checkInvariants(t testing.TB, r *Router) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	inQueue := map[*call]bool{}
	for _, c := range r.queue {
		if inQueue[c] {
			t.Fatalf("call %s twice in the queue", c.id)
		}
		inQueue[c] = true
		if r.calls[c.id] != c {
			t.Fatalf("queued call %s unknown", c.id)
		}
	}
	anyQueued := false
	for id, c := range r.calls {
		if c.id != id {
			t.Fatalf("call %s filed as %s", c.id, id)
		}
		switch c.state {
		case CallStateQueued:
			anyQueued = true
			if c.agent != nil || !inQueue[c] {
				t.Fatalf("queued call %s: agent %v, in queue %v", id, c.agent, inQueue[c])
			}
		case CallStateRinging:
			if c.agent == nil || c.agent.state != StateRinging || c.agent.call != c || !inQueue[c] {
				t.Fatalf("ringing call %s inconsistent", id)
			}
		case CallStateActive:
			if c.agent == nil || c.agent.state != StateBusy || c.agent.call != c || inQueue[c] {
				t.Fatalf("active call %s inconsistent", id)
			}
		case CallStateHeld:
			if c.agent == nil || c.agent.state != StateOffline || c.agent.call != c || inQueue[c] {
				t.Fatalf("held call %s inconsistent", id)
			}
		default:
			t.Fatalf("call %s in state %q", id, c.state)
		}
		if c.agent != nil && r.agents[c.agent.id] != c.agent {
			t.Fatalf("call %s with an unknown agent", id)
		}
	}
	for id, a := range r.agents {
		switch a.state {
		case StateAvailable, StateAway:
			if a.call != nil {
				t.Fatalf("agent %s %s with call %s", id, a.state, a.call.id)
			}
			if a.state == StateAvailable && anyQueued && !r.closed {
				t.Fatalf("agent %s idle while a call waits", id)
			}
		case StateRinging, StateBusy, StateOffline:
			if a.call == nil || a.call.agent != a {
				t.Fatalf("agent %s %s without a call", id, a.state)
			}
		default:
			t.Fatalf("agent %s in state %q", id, a.state)
		}
	}
}

// model follows the events and checks the rules across them.
type model struct {
	t      testing.TB
	state  map[string]State  // agents' states, from AgentState events
	offers map[string]string // call -> agent ringing
	ringAt map[string]string // agent -> call ringing
	live   map[string]bool   // calls the Router should know
}

func newModel(t testing.TB) *model {
	return &model{t: t, state: map[string]State{}, offers: map[string]string{}, ringAt: map[string]string{}, live: map[string]bool{}}
}

func (m *model) event(e Event) {
	switch e := e.(type) {
	case OfferCall:
		if a, ok := m.offers[e.Call]; ok {
			m.t.Fatalf("call %s offered to %s while ringing at %s", e.Call, e.Agent, a)
		}
		if c, ok := m.ringAt[e.Agent]; ok {
			m.t.Fatalf("agent %s offered %s while %s rings", e.Agent, e.Call, c)
		}
		if m.state[e.Agent] != StateAvailable {
			m.t.Fatalf("call %s offered to %s agent %s", e.Call, m.state[e.Agent], e.Agent)
		}
		if !m.live[e.Call] {
			m.t.Fatalf("offer of unknown call %s", e.Call)
		}
		m.offers[e.Call] = e.Agent
		m.ringAt[e.Agent] = e.Call
	case WithdrawOffer:
		if m.offers[e.Call] != e.Agent {
			m.t.Fatalf("withdrawn %s from %s, but it rings at %q", e.Call, e.Agent, m.offers[e.Call])
		}
		delete(m.offers, e.Call)
		delete(m.ringAt, e.Agent)
	case CallAssigned:
		if e.Outbound {
			if m.live[e.Call] || m.state[e.Agent] == StateRinging || m.state[e.Agent] == StateBusy || m.state[e.Agent] == StateOffline {
				m.t.Fatalf("outbound %s by %s agent %s (known call: %v)", e.Call, m.state[e.Agent], e.Agent, m.live[e.Call])
			}
			m.live[e.Call] = true
		} else if !e.Rejoined {
			if m.offers[e.Call] != e.Agent {
				m.t.Fatalf("%s assigned to %s, but it rang at %q", e.Call, e.Agent, m.offers[e.Call])
			}
			delete(m.offers, e.Call)
			delete(m.ringAt, e.Agent)
		}
	case CallEnded:
		if _, ok := m.offers[e.Call]; ok {
			m.t.Fatalf("call %s ended while still ringing", e.Call)
		}
		if !m.live[e.Call] {
			m.t.Fatalf("unknown call %s ended", e.Call)
		}
		delete(m.live, e.Call)
	case CallQueued:
		if m.live[e.Call] {
			m.t.Fatalf("call %s queued twice", e.Call)
		}
		m.live[e.Call] = true
	case AgentState:
		m.state[e.Agent] = e.State
	}
}

// check compares the model's live calls with the Router's.
func (m *model) check(r *Router) {
	var got, want []string
	for _, c := range r.Calls() {
		got = append(got, c.ID)
	}
	for id := range m.live {
		want = append(want, id)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		m.t.Fatalf("calls in the Router %v, want %v: a call was lost or invented", got, want)
	}
}

// FuzzRouter runs random sequences of events and checks that no call is
// offered to two agents at once, none is lost, no agent is offered a call
// unless available, and no call waits while an agent is idle.
func FuzzRouter(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{0, 16, 17, 0x22, 0x13, 0x40, 0x51, 0x62, 0x73, 0x84, 0x95, 0xa6, 0xb7, 0xc8, 0xd9, 0xea, 0xfb})
	f.Add([]byte("agents and calls come and go, ring out, decline and drop"))
	f.Add([]byte{0x00, 0x10, 0x20, 0x31, 0x41, 0x03, 0x13, 0x04, 0x05, 0x26, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c})
	f.Fuzz(func(t *testing.T, data []byte) {
		clk := newFakeClock()
		m := newModel(t)
		r := New(WithClock(clk), WithRingTimeout(3*time.Second), WithRejoinTimeout(7*time.Second), WithEvents(m.event))
		agents := []string{"a", "b", "c", "d"}
		calls := []string{"c0", "c1", "c2", "c3", "c4", "c5"}
		ringing := func(agent string) string {
			a, _ := r.Agent(agent)
			return a.Call
		}
		for i := 0; i+1 < len(data) && i < 400; i += 2 {
			op, arg := data[i]%14, int(data[i+1])
			ag, ca := agents[arg%len(agents)], calls[(arg/4)%len(calls)]
			switch op {
			case 0:
				_ = r.Register(ag, ag)
			case 1, 2:
				_ = r.SetPresence(ag, StateAvailable)
			case 3:
				_ = r.SetPresence(ag, StateAway)
			case 4:
				_ = r.Disconnect(ag)
			case 5, 6:
				before := len(m.live)
				if err := r.Inbound(ca, ""); (err == nil) != (len(m.live) == before+1) {
					t.Fatalf("Inbound %s: %v, but the calls went from %d to %d", ca, err, before, len(m.live))
				}
			case 7, 8:
				if c := ringing(ag); c != "" {
					_ = r.Answer(ag, c)
				} else {
					_ = r.Answer(ag, ca)
				}
			case 9:
				if c := ringing(ag); c != "" {
					_ = r.Decline(ag, c)
				}
			case 10:
				_ = r.Hangup(ca, "")
			case 11:
				if c := ringing(ag); c != "" {
					_ = r.AgentHangup(ag, c)
				}
			case 12:
				clk.Advance(time.Duration(arg%10) * time.Second)
			case 13:
				_ = r.Outbound(ag, "o"+ca, "+441632960999")
			}
			checkInvariants(t, r)
			m.check(r)
		}
		// Every call still waiting reaches an agent who answers.
		_ = r.Register("z", "z")
		_ = r.SetPresence("z", StateAvailable)
		for range 100 {
			if c := ringing("z"); c != "" {
				if a, _ := r.Agent("z"); a.State == StateRinging {
					if err := r.Answer("z", c); err != nil {
						t.Fatal(err)
					}
				}
				if err := r.AgentHangup("z", c); err != nil {
					t.Fatal(err)
				}
				continue
			}
			clk.Advance(time.Second)
		}
		checkInvariants(t, r)
		for _, c := range r.Calls() {
			if c.State == CallStateQueued || c.State == CallStateRinging {
				t.Fatalf("call %s still %s after every offer was answered", c.ID, c.State)
			}
		}
		_ = r.Close()
		if n := clk.pending(); n != 0 {
			t.Fatalf("%d timers left after Close", n)
		}
	})
}

// TestConcurrent: many goroutines at once on the real clock, with a
// callback that reads snapshots as the hub does: no deadlock, no race (run
// with -race), consistent at the end, and Close waits for running timers.
func TestConcurrent(t *testing.T) {
	var mu sync.Mutex
	events := 0
	var r *Router
	r = New(WithRingTimeout(2*time.Millisecond), WithRejoinTimeout(3*time.Millisecond), WithEvents(func(e Event) {
		_ = r.Agents()
		_ = r.Calls()
		mu.Lock()
		events++
		mu.Unlock()
	}))
	var wg sync.WaitGroup
	stop := time.Now().Add(300 * time.Millisecond)
	for g := range 8 {
		wg.Go(func() {
			ag := fmt.Sprintf("a%d", g%4)
			for i := 0; time.Now().Before(stop); i++ {
				ca := fmt.Sprintf("c%d", (i+g)%10)
				switch i % 9 {
				case 0:
					_ = r.Register(ag, ag)
				case 1, 2:
					_ = r.SetPresence(ag, StateAvailable)
				case 3:
					_ = r.Inbound(ca, "")
				case 4, 5:
					if a, ok := r.Agent(ag); ok && a.Call != "" {
						_ = r.Answer(ag, a.Call)
					}
				case 6:
					if a, ok := r.Agent(ag); ok && a.Call != "" {
						_ = r.AgentHangup(ag, a.Call)
					}
				case 7:
					if i%27 == 7 {
						_ = r.Disconnect(ag)
					} else {
						_ = r.Hangup(ca, "")
					}
				case 8:
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, r)
	mu.Lock()
	defer mu.Unlock()
	if events == 0 {
		t.Fatal("no events")
	}
}

// TestQueueMembers: a call rings only the members of its queue, the
// longest idle first; a call to the default queue rings the default
// queue's members; a queue with no member available waits, and rings as
// soon as one becomes available, even while others are idle.
func TestQueueMembers(t *testing.T) {
	members := map[string][]string{"sales": {"A", "C"}, DefaultQueue: {"B"}}
	h := newHarness(t, WithMembers(func(name, queue string) bool {
		for _, m := range members[queue] {
			if m == name {
				return true
			}
		}
		return false
	}))
	for _, s := range []string{"reg a", "reg b", "reg c", "avail b", "avail c", "tick 1s", "avail a"} {
		h.run(s)
	}
	h.take(false)
	h.run("inq c1 sales") // c has been idle longest of sales' members
	h.run("in c2")        // the default queue: b
	h.run("inq c3 sales") // a, the other member
	h.run("inq c4 sales") // nobody left in sales: waits, though nobody in it is idle
	var got []string
	for _, c := range h.r.Calls() {
		got = append(got, c.ID+" "+c.Queue+" "+string(c.State)+" "+c.Agent)
	}
	want := []string{"c1 sales ringing c", "c2 default ringing b", "c3 sales ringing a", "c4 sales queued "}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("calls %q, want %q", got, want)
	}
	h.run("answer a c3")
	h.run("bye a c3") // a is available again: c4 rings a
	if c, _ := h.r.Call("c4"); c.State != CallStateRinging || c.Agent != "a" {
		t.Errorf("c4: %+v, want ringing a", c)
	}
	var queued []string
	for _, e := range h.events {
		if q, ok := e.(CallQueued); ok {
			queued = append(queued, q.Call+" "+q.Queue)
		}
	}
	if strings.Join(queued, ",") != "c1 sales,c2 default,c3 sales,c4 sales" {
		t.Errorf("queued events %q", queued)
	}
}
