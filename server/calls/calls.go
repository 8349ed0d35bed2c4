// Package calls joins the live call path's parts into calls: a call from
// the SIP trunk waits in the queue (server/route), rings the agent the
// queue picks (through the signalling hub, server/signal), and once the
// agent takes it, the caller's masked audio goes to the agent's WebRTC leg
// (server/agentleg) and to the recorder (server/recorder), the agent's
// voice goes back to the caller and to the recorder, and every key press
// shows on the hub as "a key was pressed", never its digit.
//
// Supervisors listen in (Listen or ListenMode, then the same SDP and
// Candidate exchange as an agent): each gets its own WebRTC leg carrying
// the masked caller mixed with the agent's voice, the very audio the agent
// and the recording get. Listening is silent, and the agent is not told;
// a supervisor who whispers is heard by the agent alone, one who barges by
// the agent, the caller and the recording, and the agent is told of both.
//
// The digits themselves go to Params.Keys, the payment side's input, and
// nowhere else.
//
// A call's lifecycle is here (calls.go; hold.go, listen.go and record.go
// for holding, listening in and recording); its sound, where frames go
// and what is mixed, is its audio (audio.go).
package calls

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/agentleg"
	"github.com/hushphone/hushphone/server/recorder"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/signal"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/trunk"
)

// Errors. The listen-in ones wrap server/signal's, so the hub can tell the
// supervisor what happened.
var (
	ErrNoCall       = fmt.Errorf("calls: %w", signal.ErrNoSuchCall)
	ErrParams       = errors.New("calls: bad parameters")
	ErrNotActive    = fmt.Errorf("calls: %w", signal.ErrCallNotActive)
	ErrListenLimit  = fmt.Errorf("calls: %w (at most %d a call)", signal.ErrTooManyListeners, MaxListeners)
	ErrNotListening = fmt.Errorf("calls: %w", signal.ErrNotListening)
)

// MaxListeners bounds the supervisors listening to one call.
const MaxListeners = 8

// Router is the call queue (server/route's Router).
type Router interface {
	InboundTo(id, from, queue string) error
	Outbound(agent, id, to string) error
	Hangup(callID string, reason protocol.EndReason) error
}

// Outbound places calls through the SIP trunk (*trunk.Trunk).
type Outbound interface {
	Dial(ctx context.Context, number string, out func(frame []byte), keys func(dtmf.Event), opts ...trunk.DialOption) (*trunk.Call, error)
}

// DialTimeout bounds how long an outbound call may ring unanswered.
const DialTimeout = 60 * time.Second

// Params are the parts a Manager joins.
type Params struct {
	Router  Router
	WebRTC  *agentleg.API
	Store   *store.Store // the recordings index
	DataDir string       // recordings go to DataDir/recordings/
	// Keys gets every key press with its digit: the payment side, and
	// nothing else.
	Keys func(call string, e dtmf.Event)
	// Notify delivers what the calls tell users (the signalling hub); it
	// must not block. Nil: nobody is told.
	Notify func(Event)
	// Outbound places calls through the SIP trunk; nil: agents cannot
	// place calls.
	Outbound Outbound
	// Recorded gets each call's recording once its file is closed (the
	// after-call check, server/aftercall). It runs on the ended call's
	// goroutine, off every call's path, and may wait; Close waits for it.
	// Nil: nothing is told.
	Recorded func(Recorded)
	// Queue names the queue that takes calls to a dialled number
	// (server/queues); nil: the default queue takes every call.
	Queue  func(number string) string
	Logger *slog.Logger
}

// Manager owns the live calls.
type Manager struct {
	p   Params
	log *slog.Logger

	mu     sync.Mutex
	calls  map[string]*call
	closed bool // Close has begun: no call, goroutine or timer starts
	wg     sync.WaitGroup

	afterFunc func(time.Duration, func()) *time.Timer // time.AfterFunc; tests watch the timers
	// beforeAttach, when set (tests), runs in SDP between making a leg
	// and attaching it to its call: where a call may end meanwhile.
	beforeAttach func(call string)
}

// maxEarlyCandidates bounds the candidates kept for an agent's offer
// that has not come yet.
const maxEarlyCandidates = 32

type call struct {
	id    string
	tc    *trunk.Call // nil until an outbound call is answered
	agent string
	// An outbound call: the number dialled, and how to stop dialling.
	number string
	cancel context.CancelFunc
	over   bool // the queue ended the call before the far end answered

	// audio is the call's sound (audio.go): the call tells it where to
	// send, with c.mu held, and it sends.
	audio *audio

	mu    sync.Mutex
	leg   *agentleg.Leg
	early []string // the agent's candidates that came before its offer
	// answered: the SIP side is answered (an agent took the call once);
	// awaitMedia: an agent took it and it is answered when the agent's
	// media is up (answerOnce), or after mediaWait (mediaT).
	answered, awaitMedia bool
	// mediaT answers the call after mediaWait. It is guarded by the
	// Manager's mu, not c.mu, so that Close can stop it.
	mediaT *time.Timer
	hold   holdState
	rec    *recorder.Recorder
	recID  int64
	// recPath is the recording's file.
	recPath string
	// keysMasked counts the key presses the Masker took out of the call
	// (KeyDown events): a count, never the keys.
	keysMasked atomic.Int64

	// Listen-in: the supervisors' legs.
	listeners map[string]*listener
	// ended: end has taken the call's legs and recording to close them.
	// Whatever is made for the call after that (a leg whose offer raced
	// the end, a recording started as it ended) is closed by its maker,
	// not attached: nothing would close it.
	ended bool
}

// New returns a Manager.
func New(p Params) (*Manager, error) {
	if p.Router == nil || p.WebRTC == nil || p.Store == nil {
		return nil, fmt.Errorf("%w: Router, WebRTC and Store are required", ErrParams)
	}
	if p.Notify == nil {
		p.Notify = func(Event) {}
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Keys == nil {
		p.Keys = func(string, dtmf.Event) {}
	}
	if err := os.MkdirAll(filepath.Join(p.DataDir, "recordings"), 0o700); err != nil {
		return nil, fmt.Errorf("calls: recordings folder: %w", err)
	}
	return &Manager{p: p, log: p.Logger, calls: map[string]*call{}, afterFunc: time.AfterFunc}, nil
}

// OnCall is the trunk's OnCall: the call rings and waits in the queue.
func (m *Manager) OnCall(tc *trunk.Call) {
	c := &call{id: tc.ID, tc: tc, audio: newAudio()}
	c.audio.setCaller(tc, tc.Offer.Law)
	if !m.add(c) {
		_ = tc.Reject(503, "Service Unavailable") // shutting down
		return
	}
	queue := route.DefaultQueue
	if m.p.Queue != nil {
		queue = m.p.Queue(tc.To)
	}
	if err := m.p.Router.InboundTo(tc.ID, tc.From, queue); err != nil {
		m.log.Warn("call not queued", "call", tc.ID, "err", err)
		_ = tc.Reject(503, "Service Unavailable")
	} else {
		_ = tc.Ring()
	}
	go func() { // add counted it
		defer m.wg.Done()
		<-tc.Done()
		_ = m.p.Router.Hangup(tc.ID, protocol.EndCallerGone)
		m.end(context.Background(), tc.ID)
	}()
}

// RouteEvent acts on the queue's events. It must see each event before the
// signalling hub does (server/node subscribes it first): once the hub tells
// an agent their call started, the agent's offer may come at once, and the
// calls must know by then whose call it is.
func (m *Manager) RouteEvent(e route.Event) {
	switch e := e.(type) {
	case route.CallAssigned:
		m.mu.Lock()
		c := m.calls[e.Call]
		m.mu.Unlock()
		if c == nil {
			return
		}
		c.stopHold()
		c.mu.Lock()
		c.agent = e.Agent
		answered, recID := c.answered, c.recID
		c.mu.Unlock()
		if answered && !e.Rejoined && recID != 0 {
			// A held call another agent took: the recording names them too.
			m.spawn(func() {
				if err := m.p.Store.AddRecordingAgent(context.Background(), recID, e.Agent); err != nil {
					m.log.Error("recording's agents not updated", "call", e.Call, "err", err)
				}
			})
		}
		// A rejoin, or a held call that went back to the queue and was
		// taken by another agent, is answered already: the agent's offer
		// brings the audio back. An outbound call is answered by the far
		// end (Dial).
		//
		// A new inbound call is answered once the agent's media is up (the
		// caller hears ringback until then, rather than talking to nobody),
		// or after mediaWait whatever happens.
		if !e.Rejoined && !answered && !e.Outbound {
			c.mu.Lock()
			c.awaitMedia = true
			c.mu.Unlock()
			m.answerLater(c)
		}
	case route.CallRequeued:
		// Back in the queue: no agent's until the next takes it.
		m.mu.Lock()
		c := m.calls[e.Call]
		m.mu.Unlock()
		if c != nil {
			c.mu.Lock()
			c.agent = ""
			c.mu.Unlock()
		}
	case route.CallHeld:
		m.mu.Lock()
		c := m.calls[e.Call]
		m.mu.Unlock()
		if c != nil {
			m.startHold(c)
		}
	case route.CallEnded:
		m.callEnded(e)
	}
}

// mediaWait is how long a call taken by an agent waits for the agent's
// media before it is answered anyway.
const mediaWait = 3 * time.Second

// answerLater answers c after mediaWait if its agent's media has not come
// first. The timer stops when the media comes (answerOnce), the call ends
// or the Manager closes (and a timer that fired as Close began starts
// nothing: answerOnce answers through spawn); a timer already waiting is
// left to run.
func (m *Manager) answerLater(c *call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.calls[c.id] != c || c.mediaT != nil {
		return
	}
	c.mediaT = m.afterFunc(mediaWait, func() { m.answerOnce(c) })
}

// stopMediaWait stops c's mediaWait timer, if it waits (m.mu held).
func (c *call) stopMediaWait() {
	if c.mediaT != nil {
		c.mediaT.Stop()
		c.mediaT = nil
	}
}

// answerOnce answers a call waiting for its agent's media, once; a call
// that has ended or is not waiting is left alone.
func (m *Manager) answerOnce(c *call) {
	m.mu.Lock()
	live := m.calls[c.id] == c
	c.stopMediaWait()
	m.mu.Unlock()
	c.mu.Lock()
	if !live || !c.awaitMedia {
		c.mu.Unlock()
		return
	}
	c.awaitMedia = false
	c.mu.Unlock()
	m.spawn(func() { m.answer(c) })
}

// answer answers the SIP side once an agent has taken the call: the
// caller's masked audio starts flowing to the agent's leg (once it exists)
// and to the recorder.
func (m *Manager) answer(c *call) {
	m.record(context.Background(), c)
	if err := c.tc.Answer(c.audio.fromCaller, m.keys(c)); err != nil {
		m.log.Warn("call not answered", "call", c.id, "err", err)
		return
	}
	c.mu.Lock()
	c.answered = true
	c.mu.Unlock()
}

// keys is what the trunk feeds a call's key presses to: the payment side,
// and "a key was pressed" to the call's users (Params.Notify).
func (m *Manager) keys(c *call) func(dtmf.Event) {
	id := c.id
	return func(e dtmf.Event) {
		if e.Phase == dtmf.KeyDown {
			c.keysMasked.Add(1)
			c.mu.Lock()
			agent := c.agent
			c.mu.Unlock()
			m.p.Notify(KeyPressed{Call: id, Agent: agent})
		}
		m.p.Keys(id, e)
	}
}

// Dial places a call for the agent (server/signal's Dialer): the call is
// the agent's at once (call.started, then the agent's media as for any
// call); the trunk dials in the background and the agent hears the far
// end, masked, once it answers. A refusal or no answer within DialTimeout
// ends the call with the reason (busy, no_answer, rejected, failed).
func (m *Manager) Dial(ctx context.Context, agent, number string) error {
	ob := m.p.Outbound
	if ob == nil {
		return fmt.Errorf("calls: %w", signal.ErrNoOutbound)
	}
	var b [9]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	id := "out-" + hex.EncodeToString(b[:])
	// The call outlives the message that placed it.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DialTimeout)
	c := &call{id: id, number: number, cancel: cancel, audio: newAudio()}
	if !m.add(c) {
		cancel()
		return ErrClosed
	}
	if err := m.p.Router.Outbound(agent, id, number); err != nil {
		cancel()
		m.mu.Lock()
		delete(m.calls, id)
		m.mu.Unlock()
		m.wg.Done() // add counted the goroutine that is not started
		return fmt.Errorf("calls: %w", err)
	}
	go func() { // add counted it
		defer m.wg.Done()
		defer cancel()
		m.dial(dctx, c, ob)
	}()
	return nil
}

// dial runs an outbound call from its INVITE to its end.
func (m *Manager) dial(ctx context.Context, c *call, ob Outbound) {
	// The law is the answer's: until Dial returns it is not known, and
	// frames that come first (there should be none) are dropped.
	var out atomic.Pointer[func([]byte)]
	tc, err := ob.Dial(ctx, c.number, func(frame []byte) {
		if f := out.Load(); f != nil {
			(*f)(frame)
		}
	}, m.keys(c), trunk.OnRinging(func() {
		c.mu.Lock()
		agent := c.agent
		c.mu.Unlock()
		m.p.Notify(Progress{Agent: agent, Call: c.id, Status: protocol.ProgressRinging})
	}))
	if err != nil {
		reason := dialFailure(err)
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			reason = "" // the agent hung up while it rang: the queue has ended it
		}
		m.log.Info("outbound call not answered", "call", c.id, "reason", reason, "err", err)
		if reason != "" {
			_ = m.p.Router.Hangup(c.id, reason)
		}
		m.end(context.WithoutCancel(ctx), c.id)
		return
	}
	c.mu.Lock()
	over := c.over
	c.tc, c.cancel = tc, nil
	c.audio.setCaller(tc, tc.Offer.Law)
	agent := c.agent
	c.mu.Unlock()
	// From the answer on, the call is not bounded by the dial's timeout.
	ctx = context.WithoutCancel(ctx)
	if over { // the agent hung up as the far end answered
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = tc.Hangup(hctx)
		cancel()
		m.end(ctx, c.id)
		return
	}
	m.record(ctx, c)
	c.mu.Lock()
	c.answered = true
	c.mu.Unlock()
	f := c.audio.fromCaller
	out.Store(&f)
	m.log.Info("outbound call answered", "call", c.id)
	m.p.Notify(Progress{Agent: agent, Call: c.id, Status: protocol.ProgressAnswered})
	<-tc.Done()
	_ = m.p.Router.Hangup(c.id, protocol.EndCallerGone)
	m.end(ctx, c.id)
}

// dialFailure names why an outbound call did not connect, for call.ended.
func dialFailure(err error) protocol.EndReason {
	var rej *trunk.RejectedError
	switch {
	case errors.As(err, &rej):
		switch rej.Code {
		case 486, 600:
			return protocol.EndBusy
		case 408, 480, 487:
			return protocol.EndNoAnswer
		case 404, 484, 485, 604:
			return protocol.EndRejected
		}
		return protocol.EndFailed
	case errors.Is(err, context.DeadlineExceeded):
		return protocol.EndNoAnswer
	}
	return protocol.EndFailed
}

// SDP takes the session description of the call's agent or of a
// supervisor listening to it (server/signal's Media): the client offers,
// the server answers.
func (m *Manager) SDP(ctx context.Context, user, callID string, kind protocol.SDPKind, sdp string) error {
	c, lis, err := m.userCall(user, callID)
	if err != nil {
		return err
	}
	if kind != protocol.KindOffer {
		return fmt.Errorf("%w: the server answers the client's offer; got %q", agentleg.ErrSDP, kind)
	}
	params := agentleg.LegParams{
		OnCandidate: func(ci webrtc.ICECandidateInit) {
			m.p.Notify(Candidate{User: user, Call: callID, Candidate: ci.Candidate, SDPMid: ci.SDPMid, SDPMLineIndex: ci.SDPMLineIndex})
		},
	}
	if lis == nil {
		params.OnAgentAudio = c.audio.fromAgent
		params.OnState = func(s agentleg.State) { //nolint:contextcheck // the leg outlives SDP's request: the answer is the call's
			if s == agentleg.StateConnected {
				m.answerOnce(c) // the agent can hear: the caller is put through
			}
		}
	} else { // heard only while the supervisor whispers or barges
		params.OnAgentAudio = func(f []byte) { c.audio.fromSupervisor(user, f) }
	}
	leg, err := m.p.WebRTC.NewLeg(ctx, params)
	if err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	answer, err := leg.Answer(ctx, sdp)
	if err != nil {
		_ = leg.Close()
		return fmt.Errorf("calls: %w", err)
	}
	if m.beforeAttach != nil {
		m.beforeAttach(callID)
	}
	c.mu.Lock()
	var old *agentleg.Leg
	var early []string
	switch {
	case c.ended: // the call ended while the leg was made
		c.mu.Unlock()
		_ = leg.Close()
		return ErrNoCall
	case lis == nil && c.agent == user:
		old, c.leg = c.leg, leg
		early, c.early = c.early, nil
		c.audio.setAgent(leg)
	case lis != nil && c.listeners[user] == lis && lis.mode.Heard() && !leg.PeerSends():
		c.mu.Unlock()
		_ = leg.Close()
		return ErrNoMicrophone
	case lis != nil && c.listeners[user] == lis:
		old, lis.leg = lis.leg, leg
		early, lis.early = lis.early, nil
		c.audio.setListener(user, leg)
	default: // the call changed hands, or the supervisor stopped, meanwhile
		c.mu.Unlock()
		_ = leg.Close()
		return ErrNoCall
	}
	c.mu.Unlock()
	for _, cand := range early {
		if err := leg.AddCandidate(webrtc.ICECandidateInit{Candidate: cand}); err != nil {
			m.log.Info("early candidate refused", "call", callID, "err", err)
		}
	}
	if old != nil {
		_ = old.Close() // a rejoin (or a second offer) replaces the leg
	}
	m.p.Notify(Description{User: user, Call: callID, Kind: protocol.KindAnswer, SDP: answer})
	return nil
}

// Candidate takes one of the ICE candidates of the call's agent or of a
// supervisor listening to it.
func (m *Manager) Candidate(_ context.Context, user, callID, candidate string) error {
	c, lis, err := m.userCall(user, callID)
	if err != nil {
		return err
	}
	c.mu.Lock()
	leg, early := c.leg, &c.early
	if lis != nil {
		leg, early = lis.leg, &lis.early
	}
	if leg == nil {
		// A peer may gather candidates before its offer is sent: they are
		// kept, a few, until the offer comes.
		defer c.mu.Unlock()
		if err := agentleg.CheckCandidate(candidate); err != nil {
			return fmt.Errorf("calls: %w", err)
		}
		if len(*early) >= maxEarlyCandidates {
			return fmt.Errorf("%w: more than %d candidates before the offer; send the offer first", agentleg.ErrCandidate, maxEarlyCandidates)
		}
		*early = append(*early, candidate)
		return nil
	}
	c.mu.Unlock()
	if err := leg.AddCandidate(webrtc.ICECandidateInit{Candidate: candidate}); err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	return nil
}

// userCall finds the call and the user's part in it: its agent (a nil
// listener), or a supervisor listening to it.
func (m *Manager) userCall(user, callID string) (*call, *listener, error) {
	m.mu.Lock()
	c := m.calls[callID]
	m.mu.Unlock()
	if c == nil {
		return nil, nil, ErrNoCall
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.agent == user {
		return c, nil, nil
	}
	if lis := c.listeners[user]; lis != nil {
		return c, lis, nil
	}
	return nil, nil, ErrNoCall
}

// ErrNoCaller is PlayToCaller's error for a call with no caller to hear
// it (no such call, or an outbound call not answered yet).
var ErrNoCaller = errors.New("calls: no caller on that call")

// PlayToCaller plays pcm (8 kHz PCM16, whole 20 ms frames) to the call's
// caller only: not to the agent, the supervisors or the recording. It is
// mixed into the agent's voice, or sent alone while the agent sends no
// audio; a new prompt replaces one still playing.
func (m *Manager) PlayToCaller(callID string, pcm []int16) error {
	m.mu.Lock()
	c := m.calls[callID]
	m.mu.Unlock()
	if c == nil || !c.audio.play(pcm) {
		return fmt.Errorf("%w: %s", ErrNoCaller, callID)
	}
	return nil
}

// end closes what a finished call holds.
func (m *Manager) end(ctx context.Context, id string) {
	m.mu.Lock()
	c := m.calls[id]
	delete(m.calls, id)
	if c != nil {
		c.stopMediaWait()
	}
	m.mu.Unlock()
	if c == nil {
		return
	}
	c.stopHold()
	c.mu.Lock()
	c.ended = true
	leg, rec, recID, recPath, listeners := c.leg, c.rec, c.recID, c.recPath, c.listeners
	c.leg, c.rec, c.listeners = nil, nil, nil
	c.mu.Unlock()
	c.audio.close() // nothing is sent from here on: the legs and the recording may close
	if leg != nil {
		_ = leg.Close()
	}
	for user, lis := range listeners {
		if lis.leg != nil {
			_ = lis.leg.Close()
		}
		m.p.Notify(ListenEnded{User: user, Call: id, Reason: protocol.ListenEndCallEnded})
	}
	if rec != nil {
		m.finishRecording(ctx, c, rec, recID, recPath)
	}
	m.log.Info("call over", "call", id)
}

// ErrClosed is Dial's error once Close has begun.
var ErrClosed = errors.New("calls: closed")

// Close waits for the calls' goroutines (hang the calls up first: the
// trunk does on shutdown). From its start no call is taken (a new one is
// refused), no goroutine or timer starts, and the calls' timers stop;
// when it returns, nothing the Manager started runs.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	for _, c := range m.calls {
		c.stopMediaWait()
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

// add makes c a live call and counts in wg the goroutine that follows it
// to its end (the caller of add starts it); once Close has begun it
// refuses (false).
func (m *Manager) add(c *call) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.calls[c.id] = c
	m.wg.Add(1)
	return true
}

// spawn runs f on a goroutine Close waits for; once Close has begun, f
// does not run.
func (m *Manager) spawn(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}
