package e2e

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hushphone/hushphone/desktop/engine"
	"github.com/hushphone/hushphone/internal/testing/sipptest"
	"github.com/hushphone/hushphone/internal/testing/stacktest"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/wav"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/store"
)

// The whisper test's voices: the agent speaks one tone, the supervisor
// another, both on a 50 Hz bin, far from each other, from DTMF's and
// from the masking tone (2000 Hz).
const (
	whisperAgentHz = 500
	whisperSupHz   = 1000
	whisperAmp     = 6000
)

// voice is an engine's audio for this test: a steady tone out, and
// everything heard kept, with the events the engine gave.
type voice struct {
	hz float64

	mu     sync.Mutex
	i      int
	heard  []int16
	events []engine.Event
}

func (v *voice) Mic(f []int16) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range f {
		f[k] = int16(whisperAmp * math.Sin(2*math.Pi*v.hz*float64(v.i)/8000))
		v.i++
	}
}

func (v *voice) Speaker(f []int16) {
	v.mu.Lock()
	v.heard = append(v.heard, f...)
	v.mu.Unlock()
}
func (v *voice) CallStarted(string) {}
func (v *voice) CallEnded(string)   {}

func (v *voice) event(e engine.Event) {
	v.mu.Lock()
	v.events = append(v.events, e)
	v.mu.Unlock()
}

// mark is how much has been heard so far; since is what was heard after
// a mark.
func (v *voice) mark() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.heard)
}

func (v *voice) since(n int) []int16 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.heard[min(n, len(v.heard)):])
}

// waitEvent waits for an event matching ok, failing after d.
func (v *voice) waitEvent(t *testing.T, what string, d time.Duration, ok func(engine.Event) bool) engine.Event {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		v.mu.Lock()
		i := slices.IndexFunc(v.events, ok)
		var e engine.Event
		if i >= 0 {
			e = v.events[i]
			v.events = slices.Delete(v.events, i, i+1)
		}
		v.mu.Unlock()
		if i >= 0 {
			return e
		}
	}
	t.Fatalf("no %s within %v", what, d)
	return engine.Event{}
}

// supervisorEvents are the supervisor messages the engine passed on.
func (v *voice) supervisorEvents() []engine.Event {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []engine.Event
	for _, e := range v.events {
		if e.Type == protocol.TypeSupervisor {
			out = append(out, e)
		}
	}
	return out
}

// TestWhisperAndBarge: a caller (a bare SIP caller, which keeps what it
// hears), an agent speaking 500 Hz and a supervisor speaking 1000 Hz (both
// this engine). Listening, nobody hears the supervisor and the agent is
// not told; whispering, the agent hears the supervisor and the caller does
// not, and the agent is told (supervisor, mode whisper), and a key the
// caller presses reaches the supervisor only as the flat masking tone;
// barging, the agent and the caller hear the supervisor, and so does the
// recording's agent side; back to listening, neither does, and the agent
// is told (mode empty).
func TestWhisperAndBarge(t *testing.T) {
	srv := stacktest.Start(t)
	srv.AddAgent(t, "ann", "ann-password")
	srv.AddUser(t, "sue", store.RoleSupervisor, "sue-password")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	ann := &voice{hz: whisperAgentHz}
	agent, err := engine.New(engine.Config{Server: srv.URL, User: "ann", Password: "ann-password", AutoAnswer: true,
		Audio: ann, Loopback: true, OnEvent: ann.event})
	if err != nil {
		t.Fatal(err)
	}
	sue := &voice{hz: whisperSupHz}
	sup, err := engine.New(engine.Config{Server: srv.URL, User: "sue", Password: "sue-password", OTP: srv.OTP("sue"),
		Audio: sue, Loopback: true, OnEvent: sue.event})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, a := range []*engine.Agent{agent, sup} {
		wg.Go(func() {
			if err := a.Run(ctx); err != nil {
				t.Errorf("engine: %v", err)
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	srv.WaitAvailable(t, 1)
	sue.waitEvent(t, "hello for the supervisor", 10*time.Second, func(e engine.Event) bool { return e.Type == protocol.TypeHello })

	caller := sipptest.Dial(t, srv.SIPAddr, g711.ULaw, 10*time.Second)
	defer caller.Close()
	call := ann.waitEvent(t, "call.started", 10*time.Second, func(e engine.Event) bool { return e.Type == protocol.TypeCallStarted }).Call
	waitAudio(t, caller, "ann")

	// mode asks for a mode and waits for the server to take it.
	mode := func(m protocol.ListenMode) {
		t.Helper()
		if err := sup.ListenMode(ctx, call, m); err != nil {
			t.Fatal(err)
		}
		sue.waitEvent(t, "listen.started "+string(m), 10*time.Second, func(e engine.Event) bool {
			return e.Type == protocol.TypeListenStarted && e.Call == call && e.Mode == m
		})
	}
	mode(protocol.ModeListen)
	// The supervisor's leg is up once they hear the agent.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if n, _ := toneFrames(sue.since(0), whisperAgentHz, 2000); n >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the supervisor never heard the agent")
		}
	}

	// phase listens for 1.5 s from 300 ms after the mode change (a frame
	// on its way as the mode changed is no failure of it): the caller, the
	// agent and the supervisor.
	type heard struct{ caller, agent, sup []int16 }
	phase := func() heard {
		caller.Listen(300 * time.Millisecond)
		am, sm := ann.mark(), sue.mark()
		b, _ := caller.Listen(1500 * time.Millisecond)
		pcm := make([]int16, len(b))
		g711.DecodeULawTo(pcm, b)
		return heard{caller: pcm, agent: ann.since(am), sup: sue.since(sm)}
	}
	// hears counts the 20 ms blocks with the supervisor's voice in x.
	hears := func(x []int16) int { n, _ := toneFrames(x, whisperSupHz, 2000); return n }
	faint := func(x []int16) int { n, _ := toneFrames(x, whisperSupHz, 500); return n }
	check := func(name string, h heard, agentHears, callerHears bool) {
		t.Helper()
		if len(h.caller) < 8000 || len(h.agent) < 8000 {
			t.Fatalf("%s: the caller heard %d samples and the agent %d in 1.5 s", name, len(h.caller), len(h.agent))
		}
		a, c := hears(h.agent), hears(h.caller)
		t.Logf("%s: the supervisor's voice in %d blocks of the agent's %d, %d of the caller's %d", name, a, len(h.agent)/block, c, len(h.caller)/block)
		if agentHears && a < len(h.agent)/block/2 {
			t.Errorf("%s: the agent hears the supervisor in %d blocks only", name, a)
		}
		if !agentHears && faint(h.agent) > 0 {
			t.Errorf("%s: the agent hears the supervisor in %d blocks", name, faint(h.agent))
		}
		if callerHears && c < len(h.caller)/block/2 {
			t.Errorf("%s: the caller hears the supervisor in %d blocks only", name, c)
		}
		if !callerHears && faint(h.caller) > 0 {
			t.Errorf("%s: the caller hears the supervisor in %d blocks", name, faint(h.caller))
		}
		// The agent and the caller still hear each other's side.
		if n, _ := toneFrames(h.caller, whisperAgentHz, 2000); n < len(h.caller)/block/2 {
			t.Errorf("%s: the caller hears the agent in %d blocks only", name, n)
		}
	}

	check("listen", phase(), false, false)
	if ev := ann.supervisorEvents(); len(ev) != 0 {
		t.Errorf("listening, the agent was told %+v", ev)
	}

	mode(protocol.ModeWhisper)
	e := ann.waitEvent(t, "supervisor (whisper)", 5*time.Second, func(e engine.Event) bool { return e.Type == protocol.TypeSupervisor })
	if e.Call != call || e.User != "sue" || e.Mode != protocol.ModeWhisper {
		t.Errorf("whispering, the agent was told %+v", e)
	}
	check("whisper", phase(), true, false)
	// A key the caller presses while the supervisor whispers reaches the
	// supervisor as the flat tone, nothing of the key's own.
	sm := sue.mark()
	if err := caller.Info('5'); err != nil {
		t.Fatal(err)
	}
	caller.Listen(time.Second)
	keyHeard := sue.since(sm)
	flat, _ := toneFrames(keyHeard, 2000, 1000)
	low, _ := toneFrames(keyHeard, 770, 500)
	high, _ := toneFrames(keyHeard, 1336, 500)
	t.Logf("the caller's key: the supervisor heard the flat tone in %d blocks, 770 Hz in %d, 1336 Hz in %d", flat, low, high)
	if flat < 3 || low > 0 || high > 0 {
		t.Error("the caller's key did not reach the whispering supervisor as the flat tone alone")
	}

	bargeFrom := time.Now()
	mode(protocol.ModeBarge)
	e = ann.waitEvent(t, "supervisor (barge)", 5*time.Second, func(e engine.Event) bool { return e.Type == protocol.TypeSupervisor })
	if e.Mode != protocol.ModeBarge || e.User != "sue" {
		t.Errorf("barging, the agent was told %+v", e)
	}
	check("barge", phase(), true, true)
	bargeFor := time.Since(bargeFrom)

	mode(protocol.ModeListen)
	e = ann.waitEvent(t, "supervisor (stopped)", 5*time.Second, func(e engine.Event) bool { return e.Type == protocol.TypeSupervisor })
	if e.Mode != "" || e.User != "sue" || e.Call != call {
		t.Errorf("back to listening, the agent was told %+v", e)
	}
	check("listen again", phase(), false, false)

	caller.Hangup(t)
	ann.waitEvent(t, "call.ended", 10*time.Second, func(e engine.Event) bool { return e.Type == protocol.TypeCallEnded })
	// The recording's agent side is what the caller heard: the barge, not
	// the whisper.
	var recs []string
	for deadline := time.Now().Add(5 * time.Second); len(recs) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		recs, _ = filepath.Glob(filepath.Join(srv.DataDir, "recordings", "*.wav"))
	}
	if len(recs) != 1 {
		t.Fatalf("recordings %v", recs)
	}
	time.Sleep(500 * time.Millisecond) // closed at the call's end
	r, err := wav.ReadFile(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	recAgent, recCaller := hears(channel(r.Samples, 2, 1)), faint(channel(r.Samples, 2, 0))
	most := int(bargeFor/(20*time.Millisecond)) + 10
	t.Logf("the recording: the supervisor's voice in %d blocks of the agent's side (barged for %d), %d of the caller's", recAgent, most-10, recCaller)
	if recAgent < 40 || recAgent > most || recCaller > 0 {
		t.Error("the recording's agent side does not hold the barge alone, or its caller side holds the supervisor")
	}
}
