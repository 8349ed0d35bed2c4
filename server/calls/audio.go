package calls

import (
	"math"
	"sync"
	"time"

	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/protocol"
)

// audio is one call's sound, apart from its lifecycle: where the caller's
// masked frames go (the agent's leg, the recorder, the supervisors
// listening), the supervisors' mix of the caller with the agent, the
// agent's voice to the caller and the recorder, the voices of supervisors
// who whisper (to the agent) or barge (to the agent and the caller),
// prompts for the caller alone (payment tones), and the hold tone.
//
// The call (calls.go, hold.go, listen.go, record.go) decides and audio
// carries out: the call owns the legs, the recorder and the SIP side, and
// tells audio where to send (setCaller, setAgent, setListener,
// setRecorder) and how the call is held (setHold), always under its own
// mutex; audio only sends. audio has its own mutex, so the per-frame paths
// (fromCaller, fromAgent) never wait for the call's signalling. The lock
// order is call.mu, then audio.mu: audio calls nothing of the call's.
//
// audio owns the goroutines it starts (the prompt's and the hold tone's
// senders): close stops them and waits, and nothing is sent after it.
type audio struct {
	mu        sync.Mutex
	caller    caller                 // the SIP side; nil until there is one
	law       g711.Law               // the caller's
	agent     frameWriter            // the agent's leg; nil when there is none
	rec       recording              // nil until the recording starts
	listeners map[string]frameWriter // the supervisors listening, by user: their legs (nil until up)
	voices    map[string]*voice      // the same supervisors' voices, by user (voice.go)
	heard     int                    // how many of them whisper or barge
	barging   int                    // how many of them barge
	hold      holdState              // as the call last set it
	tone      chan struct{}          // closed to stop the hold tone; nil when none plays
	closed    bool
	done      chan struct{} // closed by close: the senders stop
	wg        sync.WaitGroup

	// The caller's frame for the agent (PCMU), when the caller's law is
	// not PCMU.
	callerLin [mix.FrameSamples]int16
	toPCMU    [mix.FrameSamples]byte
	// The agent's frame, and what goes to the caller when it differs
	// (another law, or a prompt mixed in).
	agentLin [mix.FrameSamples]int16
	back     [mix.FrameSamples]byte

	// Listen-in: the agent's latest frames wait in agentQ to be mixed into
	// the caller's next frames for the supervisors.
	agentQ *mix.Queue
	mixLin [mix.FrameSamples]int16
	mixOut [mix.FrameSamples]byte
	// A supervisor's frame as it came, decoded (fromSupervisor).
	supLin [mix.FrameSamples]int16

	// A prompt for the caller only: mixed into the agent's voice on its
	// way to the caller, or sent on its own when the agent sends nothing
	// (promptFed says the agent's audio took the latest frame).
	prompt    []int16
	promptFed bool
	promptRun bool // the prompt's sender runs
}

// caller is the call's SIP side as audio sees it (*trunk.Call).
type caller interface {
	// Send sends 20 ms of G.711 in the caller's law.
	Send(frame []byte) error
	// Done is closed when the call has ended.
	Done() <-chan struct{}
}

// frameWriter is a WebRTC leg as audio sees it (*agentleg.Leg): it takes
// 20 ms of PCMU.
type frameWriter interface {
	WriteFrame(frame []byte) error
}

// recording is the call's recording as audio sees it (*recorder.Recorder).
type recording interface {
	Caller(frame []byte, law g711.Law) error
	Agent(pcm []int16) error
}

// holdState is how a call is held.
type holdState uint8

const (
	notHeld holdState = iota
	// heldByAgent: the agent pressed hold. The caller hears the hold
	// tone, not the agent; the agent's leg stays up and the recording
	// and the supervisors still get the agent's side.
	heldByAgent
	// heldDropped: the agent's connection dropped. The caller hears the
	// hold tone until an agent has the call again.
	heldDropped
)

// mixDepth bounds the agent's frames waiting for the caller's (80 ms):
// the two streams run on different clocks, and a burst of the agent's
// frames beyond this drops the oldest.
const mixDepth = 4

func newAudio() *audio {
	return &audio{agentQ: mix.NewQueue(mixDepth), done: make(chan struct{})}
}

// setCaller gives the call's SIP side, whose audio is in law.
func (a *audio) setCaller(c caller, law g711.Law) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.caller, a.law = c, law
	}
}

// setAgent gives the agent's leg (nil: none, the caller's frames go to no
// agent).
func (a *audio) setAgent(w frameWriter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.agent = w
	}
}

// setRecorder gives the call's recording.
func (a *audio) setRecorder(r recording) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.rec = r
	}
}

// setListener has user listen in: their leg w gets the mix (w nil: the
// supervisor's leg is not up yet, and the mix runs for them meanwhile).
func (a *audio) setListener(user string, w frameWriter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if a.listeners == nil {
		a.listeners = map[string]frameWriter{}
		a.voices = map[string]*voice{}
	}
	a.listeners[user] = w
	if a.voices[user] == nil {
		a.voices[user] = newVoice()
	}
}

// unlisten stops user listening in.
func (a *audio) unlisten(user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.listeners, user)
	if v := a.voices[user]; v != nil {
		a.setMode(v, protocol.ModeListen)
		delete(a.voices, user)
	}
}

// setHold plays the hold tone to the caller while the call is held, and
// keeps the agent's voice from the caller while the agent holds it.
func (a *audio) setHold(h holdState) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.hold = h
	switch {
	case h == notHeld && a.tone != nil:
		close(a.tone)
		a.tone = nil
	case h != notHeld && a.tone == nil && a.caller != nil:
		stop := make(chan struct{})
		a.tone = stop
		c, law := a.caller, a.law
		a.start(func() { a.sendHoldTone(c, law, stop) })
	}
}

// play plays pcm (whole frames; a part frame at its end is dropped) to
// the caller alone, in place of a prompt still playing. It is false when
// there is no caller to hear it.
func (a *audio) play(pcm []int16) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.caller == nil || a.closed {
		return false
	}
	a.prompt = pcm[:len(pcm)/mix.FrameSamples*mix.FrameSamples]
	a.promptFed = false
	if !a.promptRun {
		a.promptRun = true
		c, law := a.caller, a.law
		a.start(func() { a.sendPrompt(c, law) })
	}
	return true
}

// start runs f on a goroutine close waits for (a.mu held, a not closed).
func (a *audio) start(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// fromCaller takes the caller's masked frame (20 ms of G.711 in the
// caller's law): to the recorder, the agent (as PCMU) and the supervisors
// (mixed with the agent's voice).
func (a *audio) fromCaller(frame []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rec != nil {
		_ = a.rec.Caller(frame, a.law)
	}
	if a.agent != nil {
		out := frame
		if a.law != g711.ULaw || a.heard > 0 {
			a.law.Decode(a.callerLin[:], frame)
			if a.heard > 0 { // whispers and barges, for the agent alone
				a.mixVoices(a.callerLin[:], toAgent)
			}
			g711.EncodeULawTo(a.toPCMU[:], a.callerLin[:])
			out = a.toPCMU[:]
		}
		_ = a.agent.WriteFrame(out)
	} else if a.heard > 0 {
		a.mixVoices(nil, toAgent) // nobody to hear them: they go, not wait
	}
	if len(a.listeners) > 0 {
		a.mixForListeners(frame)
	}
}

// mixForListeners sends the supervisors the caller's masked frame mixed
// with the agent's voice (a.mu held).
func (a *audio) mixForListeners(frame []byte) {
	a.law.Decode(a.mixLin[:], frame)
	if f := a.agentQ.Pop(); f != nil {
		mix.Add(a.mixLin[:], f)
	}
	g711.EncodeULawTo(a.mixOut[:], a.mixLin[:])
	for _, w := range a.listeners {
		if w != nil {
			_ = w.WriteFrame(a.mixOut[:])
		}
	}
}

// fromAgent takes the agent's voice (20 ms of PCMU), with any barging
// supervisor's mixed in: to the recorder, the supervisors' mix, and the
// caller (with a prompt mixed in, if one plays), unless the agent holds
// the call.
func (a *audio) fromAgent(frame []byte) {
	a.mu.Lock()
	g711.DecodeULawTo(a.agentLin[:], frame)
	barged := a.barging > 0
	if barged {
		a.mixVoices(a.agentLin[:], toCaller)
	}
	if a.rec != nil {
		_ = a.rec.Agent(a.agentLin[:])
	}
	if len(a.listeners) > 0 {
		a.agentQ.Push(a.agentLin[:])
	}
	c := a.caller
	if c == nil || a.hold == heldByAgent { // nobody to hear it yet, or the caller hears the hold tone
		a.mu.Unlock()
		return
	}
	out := frame
	if len(a.prompt) > 0 {
		mix.Add(a.agentLin[:], a.prompt[:mix.FrameSamples])
		a.prompt, a.promptFed = a.prompt[mix.FrameSamples:], true
		a.law.Encode(a.back[:], a.agentLin[:])
		out = a.back[:]
	} else if a.law != g711.ULaw || barged {
		a.law.Encode(a.back[:], a.agentLin[:])
		out = a.back[:]
	}
	a.mu.Unlock()
	_ = c.Send(out)
}

// sendPrompt sends the prompt's frames itself while the agent's audio
// does not take them.
func (a *audio) sendPrompt(c caller, law g711.Law) {
	var frame [mix.FrameSamples]byte
	tick := time.NewTicker(mix.FrameDuration)
	defer tick.Stop()
	for {
		select {
		case <-c.Done():
			a.mu.Lock()
			a.promptRun, a.prompt = false, nil
			a.mu.Unlock()
			return
		case <-a.done:
			return
		case <-tick.C:
		}
		a.mu.Lock()
		switch {
		case len(a.prompt) == 0:
			a.promptRun = false
			a.mu.Unlock()
			return
		case a.promptFed: // the agent's voice carries it
			a.promptFed = false
			a.mu.Unlock()
			continue
		}
		law.Encode(frame[:], a.prompt[:mix.FrameSamples])
		a.prompt = a.prompt[mix.FrameSamples:]
		a.mu.Unlock()
		_ = c.Send(frame[:]) // a lost frame of a prompt is not worth more
	}
}

// The hold tone is what a caller hears while the call is held: by its
// agent, or because the agent's connection is down (the agent may rejoin
// within the queue's rejoin timeout; after it the call goes back to the
// queue, and the tone goes on until an agent has it): two soft 440 Hz
// beeps every 4 s, so the line never sounds dead. 440 Hz is far below
// DTMF's lowest tone (697 Hz), and it goes only to the caller, never to
// the recording.
const (
	holdCycle = 4 * mix.SampleRate // samples in one cycle of the pattern
	holdFreq  = 440.0
	holdPeak  = 2271 // −20 dBm0 (0 dBm0 is a sine of peak 22706)
	holdBeep  = 1600 // samples in one beep (200 ms)
	holdGap   = 1600 // samples between the two beeps
	holdRamp  = 80   // samples of raised-cosine ramp at each end of a beep
)

// holdPCM is one cycle of the hold tone as 8 kHz PCM16.
var holdPCM = sync.OnceValue(func() []int16 {
	pcm := make([]int16, holdCycle)
	for _, start := range []int{0, holdBeep + holdGap} {
		for i := range holdBeep {
			env := 1.0
			if k := min(i, holdBeep-1-i); k < holdRamp {
				env = 0.5 - 0.5*math.Cos(math.Pi*float64(k)/holdRamp)
			}
			n := start + i
			pcm[n] = int16(holdPeak * env * math.Sin(2*math.Pi*holdFreq*float64(n)/mix.SampleRate))
		}
	}
	return pcm
})

// sendHoldTone sends the hold tone to the caller, a frame every 20 ms,
// until stop is closed, the call ends or close.
func (a *audio) sendHoldTone(c caller, law g711.Law, stop <-chan struct{}) {
	pcm := holdPCM()
	var frame [mix.FrameSamples]byte
	tick := time.NewTicker(mix.FrameDuration)
	defer tick.Stop()
	for i := 0; ; i = (i + mix.FrameSamples) % holdCycle {
		law.Encode(frame[:], pcm[i:i+mix.FrameSamples])
		_ = c.Send(frame[:]) // a lost frame of hold tone is not worth more
		select {
		case <-stop:
			return
		case <-c.Done():
			return
		case <-a.done:
			return
		case <-tick.C:
		}
	}
}

// close ends the call's sound: nothing is sent from here on, and the
// senders have stopped when it returns.
func (a *audio) close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.done)
		a.caller, a.agent, a.rec, a.listeners, a.voices = nil, nil, nil, nil, nil
		a.heard, a.barging = 0, 0
		a.tone, a.prompt = nil, nil
	}
	a.mu.Unlock()
	a.wg.Wait()
}
