package calls

import (
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
)

// fakeCaller is the SIP side: it keeps what it is sent.
type fakeCaller struct {
	mu   sync.Mutex
	sent [][]byte
	done chan struct{}
}

func newFakeCaller() *fakeCaller { return &fakeCaller{done: make(chan struct{})} }

func (c *fakeCaller) Send(frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, slices.Clone(frame))
	return nil
}

func (c *fakeCaller) Done() <-chan struct{} { return c.done }

func (c *fakeCaller) frames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

// fakeLeg is a WebRTC leg: it keeps what it is sent.
type fakeLeg struct{ got [][]byte }

func (l *fakeLeg) WriteFrame(frame []byte) error {
	l.got = append(l.got, slices.Clone(frame))
	return nil
}

// fakeRec is the recording: it keeps both sides.
type fakeRec struct {
	caller [][]byte
	laws   []g711.Law
	agent  [][]int16
}

func (r *fakeRec) Caller(frame []byte, law g711.Law) error {
	r.caller = append(r.caller, slices.Clone(frame))
	r.laws = append(r.laws, law)
	return nil
}

func (r *fakeRec) Agent(pcm []int16) error {
	r.agent = append(r.agent, slices.Clone(pcm))
	return nil
}

// tone is a frame of a sine at hz (its n-th frame), peak 8000.
func tone(hz float64, n int) []int16 {
	f := make([]int16, mix.FrameSamples)
	for i := range f {
		t := float64(n*mix.FrameSamples+i) / mix.SampleRate
		f[i] = int16(8000 * math.Sin(2*math.Pi*hz*t))
	}
	return f
}

// encode is pcm in law.
func encode(law g711.Law, pcm []int16) []byte {
	b := make([]byte, len(pcm))
	law.Encode(b, pcm)
	return b
}

// decode is frame, in law, as linear.
func decode(law g711.Law, frame []byte) []int16 {
	pcm := make([]int16, len(frame))
	law.Decode(pcm, frame)
	return pcm
}

// added is a + b, clipped.
func added(a, b []int16) []int16 {
	out := slices.Clone(a)
	mix.Add(out, b)
	return out
}

// TestAudioFromCaller: the caller's frame goes to the recorder as it is,
// to the agent as PCMU, and to each supervisor whose leg is up mixed with
// the agent's oldest waiting frame.
func TestAudioFromCaller(t *testing.T) {
	tests := []struct {
		name      string
		law       g711.Law
		agentLeg  bool
		listeners int // supervisors with a leg up (and one without)
		agent     int // agent frames waiting
	}{
		{"PCMU to the agent", g711.ULaw, true, 0, 0},
		{"PCMA transcoded for the agent", g711.ALaw, true, 0, 0},
		{"no agent leg", g711.ALaw, false, 0, 0},
		{"supervisors, no agent voice", g711.ULaw, true, 2, 0},
		{"supervisors hear the agent mixed in", g711.ALaw, true, 2, 1},
		{"the agent ahead by more than the queue", g711.ULaw, false, 1, mixDepth + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAudio()
			defer a.close()
			a.setCaller(newFakeCaller(), tt.law)
			rec := &fakeRec{}
			a.setRecorder(rec)
			agent := &fakeLeg{}
			if tt.agentLeg {
				a.setAgent(agent)
			}
			var sups []*fakeLeg
			for i := range tt.listeners {
				l := &fakeLeg{}
				sups = append(sups, l)
				a.setListener(string(rune('a'+i)), l)
			}
			if tt.listeners > 0 {
				a.setListener("pending", nil) // listening, no leg yet
			}
			var agentFrames [][]int16
			for n := range tt.agent {
				f := tone(440, n)
				agentFrames = append(agentFrames, f)
				a.fromAgent(encode(g711.ULaw, f))
			}
			callerPCM := tone(1000, 0)
			frame := encode(tt.law, callerPCM)
			a.fromCaller(frame)

			if len(rec.caller) != 1 || !slices.Equal(rec.caller[0], frame) || rec.laws[0] != tt.law {
				t.Errorf("recorder got %d caller frames (law %v), want the frame as it came", len(rec.caller), rec.laws)
			}
			wantAgent := 0
			if tt.agentLeg {
				wantAgent = 1
			}
			if len(agent.got) != wantAgent {
				t.Fatalf("agent leg got %d frames, want %d", len(agent.got), wantAgent)
			}
			if wantAgent == 1 && !slices.Equal(agent.got[0], encode(g711.ULaw, decode(tt.law, frame))) {
				t.Error("agent leg did not get the caller's frame as PCMU")
			}
			want := decode(tt.law, frame)
			if tt.agent > 0 {
				// The oldest frame the queue kept: the latest mixDepth.
				oldest := agentFrames[max(0, tt.agent-mixDepth)]
				want = added(want, decode(g711.ULaw, encode(g711.ULaw, oldest)))
			}
			for i, l := range sups {
				if len(l.got) != 1 || !slices.Equal(l.got[0], encode(g711.ULaw, want)) {
					t.Errorf("supervisor %d did not get the caller mixed with the agent", i)
				}
			}
		})
	}
}

// TestAudioFromAgent: the agent's voice goes to the recorder, and to the
// caller in the caller's law, with a prompt mixed in while one plays,
// unless there is no caller yet or the agent holds the call.
func TestAudioFromAgent(t *testing.T) {
	prompt := tone(700, 0)
	tests := []struct {
		name   string
		caller bool
		law    g711.Law
		hold   holdState
		prompt bool
		sent   bool
	}{
		{"no caller yet", false, g711.ULaw, notHeld, false, false},
		{"PCMU as it is", true, g711.ULaw, notHeld, false, true},
		{"PCMA encoded", true, g711.ALaw, notHeld, false, true},
		{"a prompt mixed in", true, g711.ALaw, notHeld, true, true},
		{"held by the agent", true, g711.ULaw, heldByAgent, false, false},
		{"held, the agent dropped", true, g711.ULaw, heldDropped, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := newAudio()
				defer a.close()
				c := newFakeCaller()
				if tt.caller {
					a.setCaller(c, tt.law)
				}
				rec := &fakeRec{}
				a.setRecorder(rec)
				a.setHold(tt.hold)
				synctest.Wait()
				tonesSent := len(c.frames()) // the hold tone's first frame
				if tt.prompt && !a.play(prompt) {
					t.Fatal("no caller for the prompt")
				}
				voice := encode(g711.ULaw, tone(440, 0))
				a.fromAgent(voice)
				if len(rec.agent) != 1 || !slices.Equal(rec.agent[0], decode(g711.ULaw, voice)) {
					t.Error("the recorder did not get the agent's voice")
				}
				got := c.frames()[tonesSent:]
				if !tt.sent {
					if len(got) != 0 {
						t.Errorf("the caller got %d frames, want none", len(got))
					}
					return
				}
				want := decode(g711.ULaw, voice)
				if tt.prompt {
					want = added(want, prompt)
				}
				if len(got) != 1 || !slices.Equal(got[0], encode(tt.law, want)) {
					t.Errorf("the caller got %d frames, not the agent's voice as it should be", len(got))
				}
				if tt.prompt {
					// The agent's voice took the prompt's only frame: its
					// sender has nothing to send and stops.
					time.Sleep(time.Second)
					if n := len(c.frames()) - tonesSent; n != 1 {
						t.Errorf("the caller got %d frames, want the one", n)
					}
				}
			})
		})
	}
}

// TestAudioPrompt: with no agent voice, a prompt is sent alone, a frame
// every 20 ms, then its sender stops; a frame the agent's voice carried
// is not sent again; a part frame at the end is dropped.
func TestAudioPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAudio()
		defer a.close()
		c := newFakeCaller()
		a.setCaller(c, g711.ALaw)
		var pcm []int16
		for n := range 4 {
			pcm = append(pcm, tone(700, n)...)
		}
		if !a.play(append(pcm, 1, 2, 3)) {
			t.Fatal("no caller for the prompt")
		}
		time.Sleep(30 * time.Millisecond) // the first frame has gone
		a.fromAgent(encode(g711.ULaw, make([]int16, mix.FrameSamples)))
		time.Sleep(time.Second)
		got := c.frames()
		want := [][]byte{
			encode(g711.ALaw, tone(700, 0)),
			encode(g711.ALaw, tone(700, 1)), // with the agent's silence
			encode(g711.ALaw, tone(700, 2)),
			encode(g711.ALaw, tone(700, 3)),
		}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("the caller got %d frames, want the prompt's %d in order", len(got), len(want))
		}
		a.mu.Lock()
		run := a.promptRun
		a.mu.Unlock()
		if run {
			t.Error("the prompt's sender runs on after the prompt")
		}
	})
}

// TestAudioHoldTone: while held, the caller hears the hold tone, a frame
// every 20 ms, until the hold ends, the call ends or the audio closes.
func TestAudioHoldTone(t *testing.T) {
	tests := []struct {
		name string
		end  func(a *audio, c *fakeCaller)
	}{
		{"off hold", func(a *audio, _ *fakeCaller) { a.setHold(notHeld) }},
		{"the call ends", func(_ *audio, c *fakeCaller) { close(c.done) }},
		{"the audio closes", func(a *audio, _ *fakeCaller) { a.close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := newAudio()
				defer a.close()
				c := newFakeCaller()
				a.setCaller(c, g711.ULaw)
				a.setHold(heldByAgent)
				time.Sleep(time.Second - time.Millisecond)
				a.setHold(heldDropped) // the agent dropped: the tone goes on
				tt.end(a, c)
				synctest.Wait()
				time.Sleep(time.Second)
				got := c.frames()
				if len(got) != 50 {
					t.Fatalf("%d frames of hold tone in a second, want 50", len(got))
				}
				for i, f := range got {
					if want := encode(g711.ULaw, holdPCM()[i*mix.FrameSamples:(i+1)*mix.FrameSamples]); !slices.Equal(f, want) {
						t.Fatalf("frame %d is not the hold tone's", i)
					}
				}
			})
		})
	}
}

// TestAudioClosed: once closed, audio sends nothing and starts nothing.
func TestAudioClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := newAudio()
		c := newFakeCaller()
		a.setCaller(c, g711.ULaw)
		agent, sup, rec := &fakeLeg{}, &fakeLeg{}, &fakeRec{}
		a.setAgent(agent)
		a.setListener("sup", sup)
		a.setRecorder(rec)
		a.close()
		a.setAgent(agent)
		a.setRecorder(rec)
		a.setListener("sup", sup)
		a.setHold(heldByAgent)
		if a.play(tone(700, 0)) {
			t.Error("a prompt plays after close")
		}
		a.fromCaller(make([]byte, mix.FrameSamples))
		a.fromAgent(make([]byte, mix.FrameSamples))
		time.Sleep(time.Second)
		if len(c.frames())+len(agent.got)+len(sup.got)+len(rec.caller)+len(rec.agent) != 0 {
			t.Error("audio sent after close")
		}
		a.close() // twice is fine
	})
}

// discard is a leg, recording and caller that keeps nothing.
type discard struct{}

func (discard) WriteFrame([]byte) error       { return nil }
func (discard) Caller([]byte, g711.Law) error { return nil }
func (discard) Agent([]int16) error           { return nil }
func (discard) Send([]byte) error             { return nil }
func (discard) Done() <-chan struct{}         { return nil }

// BenchmarkAudio is one 20 ms of a call with supervisors listening, an
// A-law caller and a prompt: the per-frame paths allocate nothing.
func BenchmarkAudio(b *testing.B) {
	a := newAudio()
	defer a.close()
	a.setCaller(discard{}, g711.ALaw)
	a.setAgent(discard{})
	a.setRecorder(discard{})
	a.setListener("a", discard{})
	a.setListener("b", discard{})
	caller := encode(g711.ALaw, tone(1000, 0))
	agent := encode(g711.ULaw, tone(440, 0))
	prompt := make([]int16, 5000*mix.FrameSamples)
	a.prompt = prompt
	b.ReportAllocs()
	for b.Loop() {
		if len(a.prompt) == 0 {
			a.prompt = prompt
		}
		a.fromCaller(caller)
		a.fromAgent(agent)
	}
}
