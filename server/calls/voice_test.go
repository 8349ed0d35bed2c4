package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/agentleg"
)

// TestAudioSupervisorModes: a supervisor's voice is dropped while they
// listen; whispering, it is mixed into what the agent hears only (not
// the caller, not the recording); barging, into what the agent and the
// caller hear and the recording's agent side. Back to listen, nobody
// hears it again, frames still waiting included.
func TestAudioSupervisorModes(t *testing.T) {
	for _, tt := range []struct {
		mode                   protocol.ListenMode
		agentHears, callerHear bool
	}{
		{protocol.ModeListen, false, false},
		{protocol.ModeWhisper, true, false},
		{protocol.ModeBarge, true, true},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			a := newAudio()
			defer a.close()
			c := newFakeCaller()
			a.setCaller(c, g711.ALaw)
			rec := &fakeRec{}
			a.setRecorder(rec)
			agent := &fakeLeg{}
			a.setAgent(agent)
			sue := &fakeLeg{}
			a.setListener("sue", sue)
			a.setListenMode("sue", tt.mode)

			callerPCM, agentPCM, supPCM := tone(1000, 0), tone(440, 0), tone(600, 0)
			sup := encode(g711.ULaw, supPCM)
			supLin := decode(g711.ULaw, sup)
			a.fromSupervisor("sue", sup)
			a.fromSupervisor("nobody", sup) // not listening: dropped
			callerFrame := encode(g711.ALaw, callerPCM)
			a.fromCaller(callerFrame)
			agentFrame := encode(g711.ULaw, agentPCM)
			a.fromAgent(agentFrame)

			// The agent hears the caller, and the supervisor when heard.
			wantAgent := decode(g711.ALaw, callerFrame)
			if tt.agentHears {
				wantAgent = added(wantAgent, supLin)
			}
			if len(agent.got) != 1 || !slices.Equal(agent.got[0], encode(g711.ULaw, wantAgent)) {
				t.Errorf("the agent's frame is not the caller's%s", map[bool]string{true: " with the supervisor's mixed in"}[tt.agentHears])
			}
			// The caller and the recording's agent side: the agent, and
			// the supervisor when barging.
			wantBack := decode(g711.ULaw, agentFrame)
			if tt.callerHear {
				wantBack = added(wantBack, supLin)
			}
			if got := c.frames(); len(got) != 1 || !slices.Equal(got[0], encode(g711.ALaw, wantBack)) {
				t.Errorf("the caller's frame is not the agent's%s", map[bool]string{true: " with the supervisor's mixed in"}[tt.callerHear])
			}
			if len(rec.agent) != 1 || !slices.Equal(rec.agent[0], wantBack) {
				t.Error("the recording's agent side is not what the caller hears")
			}
			if len(rec.caller) != 1 || !slices.Equal(rec.caller[0], callerFrame) {
				t.Error("the recording's caller side is not the caller's frame as it came")
			}

			// Back to listen: frames waiting are dropped, new ones too.
			a.fromSupervisor("sue", sup)
			a.setListenMode("sue", protocol.ModeListen)
			a.fromSupervisor("sue", sup)
			a.fromCaller(callerFrame)
			a.fromAgent(agentFrame)
			if !slices.Equal(agent.got[1], encode(g711.ULaw, decode(g711.ALaw, callerFrame))) {
				t.Error("back to listen, the agent still hears the supervisor")
			}
			if got := c.frames(); !slices.Equal(got[1], encode(g711.ALaw, decode(g711.ULaw, agentFrame))) {
				t.Error("back to listen, the caller still hears the supervisor")
			}
			if a.heard != 0 || a.barging != 0 {
				t.Errorf("back to listen: %d heard, %d barging", a.heard, a.barging)
			}
		})
	}
}

// TestAudioVoicesBounded: a supervisor's burst waits at most mixDepth
// frames a way (the oldest go), two supervisors are both mixed in, and
// one who stops listening is mixed in no more.
func TestAudioVoicesBounded(t *testing.T) {
	a := newAudio()
	defer a.close()
	a.setCaller(discard{}, g711.ULaw)
	agent := &fakeLeg{}
	a.setAgent(agent)
	a.setListener("sue", nil)
	a.setListener("sam", nil)
	a.setListenMode("sue", protocol.ModeBarge)
	a.setListenMode("sam", protocol.ModeWhisper)
	for i := range 50 {
		a.fromSupervisor("sue", encode(g711.ULaw, tone(600, i)))
	}
	if v := a.voices["sue"]; v.toAgent.Len() != mixDepth || v.toCaller.Len() != mixDepth {
		t.Errorf("after a burst of 50: %d and %d frames wait, want %d each", v.toAgent.Len(), v.toCaller.Len(), mixDepth)
	}
	if v := a.voices["sam"]; v.toAgent.Len() != 0 {
		t.Errorf("sam sent nothing, yet %d frames wait", v.toAgent.Len())
	}
	silent := encode(g711.ULaw, make([]int16, mix.FrameSamples))
	a.fromSupervisor("sam", encode(g711.ULaw, tone(800, 0)))
	a.fromCaller(silent)
	want := added(decode(g711.ULaw, encode(g711.ULaw, tone(600, 50-mixDepth))), decode(g711.ULaw, encode(g711.ULaw, tone(800, 0))))
	if !slices.Equal(agent.got[0], encode(g711.ULaw, want)) {
		t.Error("the agent does not hear sue's oldest kept frame and sam's mixed")
	}
	a.unlisten("sue")
	a.unlisten("sam")
	if a.heard != 0 || a.barging != 0 || len(a.voices) != 0 {
		t.Errorf("after both stopped: %d heard, %d barging, %d voices", a.heard, a.barging, len(a.voices))
	}
	a.fromCaller(silent)
	if !slices.Equal(agent.got[1], silent) {
		t.Error("the agent still hears a supervisor who stopped listening")
	}
}

// TestAudioVoicesAllocateNothing: with MaxListeners supervisors barging
// and whispering, a frame each way allocates nothing.
func TestAudioVoicesAllocateNothing(t *testing.T) {
	a := newAudio()
	defer a.close()
	a.setCaller(discard{}, g711.ALaw)
	a.setAgent(discard{})
	a.setRecorder(discard{})
	for i := range MaxListeners {
		user := fmt.Sprint("s", i)
		a.setListener(user, discard{})
		a.setListenMode(user, []protocol.ListenMode{protocol.ModeListen, protocol.ModeWhisper, protocol.ModeBarge}[i%3])
	}
	caller := encode(g711.ALaw, tone(1000, 0))
	agent := encode(g711.ULaw, tone(440, 0))
	sup := encode(g711.ULaw, tone(600, 0))
	users := make([]string, MaxListeners)
	for i := range users {
		users[i] = fmt.Sprint("s", i)
	}
	if n := testing.AllocsPerRun(200, func() {
		for _, u := range users {
			a.fromSupervisor(u, sup)
		}
		a.fromCaller(caller)
		a.fromAgent(agent)
	}); n != 0 {
		t.Errorf("%.0f allocations a frame, want none", n)
	}
}

// told keeps what the calls tell users.
type told struct {
	mu sync.Mutex
	ev []Event
}

func (t *told) add(e Event) { t.mu.Lock(); t.ev = append(t.ev, e); t.mu.Unlock() }

func (t *told) modes() []SupervisorMode {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []SupervisorMode
	for _, e := range t.ev {
		if s, ok := e.(SupervisorMode); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestListenMode: the Manager's side of the modes. The agent is told when
// a supervisor starts or stops being heard, and not of listening; a mode
// change keeps the place; whisper on a leg that sends nothing is refused
// and leaves the mode; at most MaxListeners listen; the end of a call
// tells nobody.
func TestListenMode(t *testing.T) {
	var tl told
	m := &Manager{p: Params{Notify: tl.add}, log: slog.New(slog.DiscardHandler), calls: map[string]*call{}}
	c := &call{id: "c1", agent: "ann", audio: newAudio()}
	defer c.audio.close()
	m.calls["c1"] = c
	ctx := context.Background()
	step := func(user string, mode protocol.ListenMode, want error) {
		t.Helper()
		if err := m.ListenMode(ctx, user, "c1", mode); !errors.Is(err, want) {
			t.Fatalf("%s %s: %v, want %v", user, mode, err, want)
		}
	}
	step("sue", "", nil)
	step("sue", protocol.ModeListen, nil)
	step("sue", protocol.ModeWhisper, nil)
	step("sue", protocol.ModeWhisper, nil) // again: no news
	step("sue", protocol.ModeBarge, nil)
	step("sue", protocol.ModeListen, nil)
	step("sam", protocol.ModeBarge, nil)
	step("sam", "shout", ErrParams)
	step("ann", protocol.ModeWhisper, ErrNoCall) // the call's own agent
	if err := m.Unlisten(ctx, "sam", ""); err != nil {
		t.Fatal(err)
	}
	want := []SupervisorMode{
		{"ann", "c1", "sue", protocol.ModeWhisper},
		{"ann", "c1", "sue", protocol.ModeBarge},
		{"ann", "c1", "sue", ""},
		{"ann", "c1", "sam", protocol.ModeBarge},
		{"ann", "c1", "sam", ""},
	}
	if got := tl.modes(); !slices.Equal(got, want) {
		t.Errorf("the agent was told\n%v\nwant\n%v", got, want)
	}

	// A leg whose offer sends no audio (here: no offer yet) cannot whisper.
	api, err := agentleg.NewAPI(agentleg.Config{Loopback: true, IPFilter: loopback})
	if err != nil {
		t.Fatal(err)
	}
	leg, err := api.NewLeg(ctx, agentleg.LegParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	c.mu.Lock()
	c.listeners["sue"].leg = leg
	c.mu.Unlock()
	step("sue", protocol.ModeWhisper, ErrNoMicrophone)
	if c.listeners["sue"].mode != protocol.ModeListen || c.audio.heard != 0 {
		t.Error("a refused whisper changed the mode")
	}
	c.mu.Lock()
	c.listeners["sue"].leg = nil
	c.mu.Unlock()

	for i := 1; i < MaxListeners; i++ {
		step(fmt.Sprint("s", i), protocol.ModeWhisper, nil)
	}
	step("one-too-many", protocol.ModeListen, ErrListenLimit)
	if c.audio.heard != MaxListeners-1 || len(c.audio.voices) != MaxListeners {
		t.Errorf("%d heard of %d voices", c.audio.heard, len(c.audio.voices))
	}
	n := len(tl.modes())
	m.end(ctx, "c1")
	if got := tl.modes(); len(got) != n {
		t.Errorf("the call's end told the agent %v", got[n:])
	}
}
