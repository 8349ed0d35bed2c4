package calls

import (
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/mix"
	"github.com/hushphone/hushphone/protocol"
)

// A supervisor who whispers or barges is heard (audio.go carries it out):
// their leg's frames wait in fixed-depth queues, one for each way they go,
// until the stream they are mixed into takes them on its own clock: the
// caller's frames on their way to the agent (whisper and barge), the
// agent's on their way to the caller and the recorder (barge). A
// supervisor who only listens is not heard: their frames are dropped as
// they come. Nothing here allocates per frame: the queues are made when
// the supervisor starts listening (at most MaxListeners a call), and a
// burst beyond their depth drops the oldest frame.

// voice is one supervisor's voice on a call.
type voice struct {
	mode     protocol.ListenMode
	toAgent  *mix.Queue // whisper and barge: mixed into what the agent hears
	toCaller *mix.Queue // barge: mixed into what the caller hears
}

func newVoice() *voice {
	return &voice{mode: protocol.ModeListen, toAgent: mix.NewQueue(mixDepth), toCaller: mix.NewQueue(mixDepth)}
}

// way is where a supervisor's voice is mixed in.
type way bool

const (
	toAgent  way = false
	toCaller way = true
)

// setListenMode sets how user takes part: heard by the agent (whisper),
// by the agent and the caller (barge), or by nobody (listen).
func (a *audio) setListenMode(user string, mode protocol.ListenMode) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if v := a.voices[user]; v != nil {
		a.setMode(v, mode)
	}
}

// setMode changes v's mode and the counts of voices heard (a.mu held).
// Frames waiting for a way the voice no longer goes are dropped: a
// supervisor back to listening is not heard for another 80 ms.
func (a *audio) setMode(v *voice, mode protocol.ListenMode) {
	if v.mode.Heard() {
		a.heard--
	}
	if v.mode == protocol.ModeBarge {
		a.barging--
	}
	if mode.Heard() {
		a.heard++
	} else {
		drain(v.toAgent)
	}
	if mode == protocol.ModeBarge {
		a.barging++
	} else {
		drain(v.toCaller)
	}
	v.mode = mode
}

func drain(q *mix.Queue) {
	for q.Pop() != nil {
	}
}

// fromSupervisor takes a supervisor's voice (20 ms of PCMU from their
// leg): queued for the agent when they whisper, for the agent and the
// caller when they barge, dropped when they only listen.
func (a *audio) fromSupervisor(user string, frame []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v := a.voices[user]
	if v == nil || !v.mode.Heard() {
		return
	}
	g711.DecodeULawTo(a.supLin[:], frame)
	v.toAgent.Push(a.supLin[:])
	if v.mode == protocol.ModeBarge {
		v.toCaller.Push(a.supLin[:])
	}
}

// mixVoices adds the oldest waiting frame of every voice heard the way w
// into dst (nil: the frames are taken and dropped). a.mu is held.
func (a *audio) mixVoices(dst []int16, w way) {
	for _, v := range a.voices {
		q := v.toAgent
		if w == toCaller {
			q = v.toCaller
		}
		if f := q.Pop(); f != nil && dst != nil {
			mix.Add(dst, f)
		}
	}
}
