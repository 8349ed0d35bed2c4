// Package calls joins the live call path's parts into calls: a call from
// the SIP trunk waits in the queue (server/route), rings the agent the
// queue picks (through the signalling hub, server/signal), and once the
// agent takes it, the caller's masked audio goes to the agent's WebRTC leg
// (server/agentleg) and to the recorder (server/recorder), the agent's
// voice goes back to the caller and to the recorder, and every key press
// shows on the hub as "a key was pressed", never its digit.
//
// The digits themselves go to Params.Keys, the payment side's input, and
// nowhere else.
package calls

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/server/agentleg"
	"github.com/hushphone/hushphone/server/recorder"
	"github.com/hushphone/hushphone/server/route"
	"github.com/hushphone/hushphone/server/store"
	"github.com/hushphone/hushphone/server/trunk"
)

// Errors.
var (
	ErrNoCall = errors.New("calls: no such call for this agent")
	ErrParams = errors.New("calls: bad parameters")
)

// Hub is what the calls say to agents (server/signal's Hub).
type Hub interface {
	SDP(agent, call, kind, sdp string) error
	Candidate(agent, call, candidate string) error
	KeyPressed(call string)
}

// Router is the call queue (server/route's Router).
type Router interface {
	Inbound(id, from string) error
	Hangup(callID, reason string) error
}

// Params are the parts a Manager joins.
type Params struct {
	Router   Router
	WebRTC   *agentleg.API
	Store    *store.Store // the recordings index
	DataDir  string       // recordings go to DataDir/recordings/
	Keys     func(call string, e dtmf.Event)
	Logger   *slog.Logger
	HubReady func() Hub // the hub is built after the router; this returns it
}

// Manager owns the live calls.
type Manager struct {
	p   Params
	log *slog.Logger

	mu    sync.Mutex
	calls map[string]*call
	wg    sync.WaitGroup
}

// maxEarlyCandidates bounds the candidates kept for an agent's offer
// that has not come yet.
const maxEarlyCandidates = 32

type call struct {
	tc    *trunk.Call
	agent string

	mu    sync.Mutex
	leg   *agentleg.Leg
	early []string // the agent's candidates that came before its offer
	// answered: the SIP side is answered (an agent took the call once).
	answered bool
	hold     chan struct{} // closed to stop the hold tone; nil when none plays
	rec      *recorder.Recorder
	recID    int64
	toPCMU   [160]byte
	toLin    [160]int16
	back     [160]byte
}

// New returns a Manager.
func New(p Params) (*Manager, error) {
	if p.Router == nil || p.WebRTC == nil || p.Store == nil || p.HubReady == nil {
		return nil, fmt.Errorf("%w: Router, WebRTC, Store and HubReady are required", ErrParams)
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
	return &Manager{p: p, log: p.Logger, calls: map[string]*call{}}, nil
}

// OnCall is the trunk's OnCall: the call rings and waits in the queue.
func (m *Manager) OnCall(tc *trunk.Call) {
	c := &call{tc: tc}
	m.mu.Lock()
	m.calls[tc.ID] = c
	m.mu.Unlock()
	if err := m.p.Router.Inbound(tc.ID, tc.From); err != nil {
		m.log.Warn("call not queued", "call", tc.ID, "err", err)
		_ = tc.Reject(503, "Service Unavailable")
	} else {
		_ = tc.Ring()
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		<-tc.Done()
		_ = m.p.Router.Hangup(tc.ID, "caller hung up")
		m.end(tc.ID)
	}()
}

// RouteEvent acts on the queue's events (call it from route's event
// callback, beside the hub's).
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
		answered := c.answered
		c.mu.Unlock()
		// A rejoin, or a held call that went back to the queue and was
		// taken by another agent, is answered already: the agent's offer
		// brings the audio back.
		if !e.Rejoined && !answered {
			m.wg.Add(1)
			go func() { defer m.wg.Done(); m.answer(c) }()
		}
	case route.CallHeld:
		m.mu.Lock()
		c := m.calls[e.Call]
		m.mu.Unlock()
		if c != nil {
			m.startHold(c)
		}
	case route.CallEnded:
		m.mu.Lock()
		c := m.calls[e.Call]
		m.mu.Unlock()
		if c != nil && e.Reason != "caller hung up" {
			// The agent (or the queue) ended it: BYE to the caller, off
			// the queue's goroutine.
			m.wg.Add(1)
			go func() {
				defer m.wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = c.tc.Hangup(ctx)
				cancel()
			}()
		}
	}
}

// answer answers the SIP side once an agent has taken the call: the
// caller's masked audio starts flowing to the agent's leg (once it exists)
// and to the recorder.
func (m *Manager) answer(c *call) {
	id := c.tc.ID
	name := "call-" + time.Now().UTC().Format("20060102-150405") + "-" + safe(id) + ".wav"
	rel := filepath.Join("recordings", name)
	rec, err := recorder.Create(filepath.Join(m.p.DataDir, rel))
	if err != nil {
		m.log.Error("recording not started", "call", id, "err", err)
	} else {
		idx, err := m.p.Store.AddRecording(context.Background(), store.Recording{CallID: id, Agent: c.agent, Path: rel})
		if err != nil {
			m.log.Error("recording not indexed", "call", id, "err", err)
		}
		c.mu.Lock()
		c.rec, c.recID = rec, idx.ID
		c.mu.Unlock()
	}
	law := c.tc.Offer.Law
	err = c.tc.Answer(func(frame []byte) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.rec != nil {
			_ = c.rec.Caller(frame, law)
		}
		if c.leg != nil {
			out := frame
			if law != g711.ULaw {
				law.Decode(c.toLin[:], frame)
				g711.EncodeULawTo(c.toPCMU[:], c.toLin[:])
				out = c.toPCMU[:]
			}
			_ = c.leg.WriteFrame(out)
		}
	}, func(e dtmf.Event) {
		if e.Phase == dtmf.KeyDown {
			m.p.HubReady().KeyPressed(id)
		}
		m.p.Keys(id, e)
	})
	if err != nil {
		m.log.Warn("call not answered", "call", id, "err", err)
		return
	}
	c.mu.Lock()
	c.answered = true
	c.mu.Unlock()
}

// SDP takes the agent's session description for its call (server/signal's
// Media): the agent offers, the server answers.
func (m *Manager) SDP(ctx context.Context, agent, callID, kind, sdp string) error {
	c, err := m.agentCall(agent, callID)
	if err != nil {
		return err
	}
	if kind != "offer" {
		return fmt.Errorf("%w: the server answers the agent's offer; got %q", agentleg.ErrSDP, kind)
	}
	hub := m.p.HubReady()
	leg, err := m.p.WebRTC.NewLeg(ctx, agentleg.LegParams{
		OnAgentAudio: func(frame []byte) { m.agentAudio(c, frame) },
		OnCandidate: func(ci webrtc.ICECandidateInit) {
			_ = hub.Candidate(agent, callID, ci.Candidate)
		},
	})
	if err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	answer, err := leg.Answer(ctx, sdp)
	if err != nil {
		_ = leg.Close()
		return fmt.Errorf("calls: %w", err)
	}
	c.mu.Lock()
	old := c.leg
	c.leg = leg
	early := c.early
	c.early = nil
	c.mu.Unlock()
	for _, cand := range early {
		if err := leg.AddCandidate(webrtc.ICECandidateInit{Candidate: cand}); err != nil {
			m.log.Info("early candidate refused", "call", callID, "err", err)
		}
	}
	if old != nil {
		_ = old.Close() // a rejoin replaces the agent's leg
	}
	if err := hub.SDP(agent, callID, "answer", answer); err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	return nil
}

// Candidate takes one of the agent's ICE candidates.
func (m *Manager) Candidate(_ context.Context, agent, callID, candidate string) error {
	c, err := m.agentCall(agent, callID)
	if err != nil {
		return err
	}
	c.mu.Lock()
	leg := c.leg
	if leg == nil {
		// A peer may gather candidates before its offer is sent: they are
		// kept, a few, until the offer comes.
		defer c.mu.Unlock()
		if err := agentleg.CheckCandidate(candidate); err != nil {
			return fmt.Errorf("calls: %w", err)
		}
		if len(c.early) >= maxEarlyCandidates {
			return fmt.Errorf("%w: more than %d candidates before the offer; send the offer first", agentleg.ErrCandidate, maxEarlyCandidates)
		}
		c.early = append(c.early, candidate)
		return nil
	}
	c.mu.Unlock()
	if err := leg.AddCandidate(webrtc.ICECandidateInit{Candidate: candidate}); err != nil {
		return fmt.Errorf("calls: %w", err)
	}
	return nil
}

func (m *Manager) agentCall(agent, callID string) (*call, error) {
	m.mu.Lock()
	c := m.calls[callID]
	m.mu.Unlock()
	if c == nil {
		return nil, ErrNoCall
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.agent != agent {
		return nil, ErrNoCall
	}
	return c, nil
}

// agentAudio sends the agent's voice to the caller and the recorder.
func (m *Manager) agentAudio(c *call, frame []byte) {
	c.mu.Lock()
	g711.DecodeULawTo(c.toLin[:], frame)
	if c.rec != nil {
		_ = c.rec.Agent(c.toLin[:])
	}
	out := frame
	if law := c.tc.Offer.Law; law != g711.ULaw {
		law.Encode(c.back[:], c.toLin[:])
		out = c.back[:]
	}
	c.mu.Unlock()
	_ = c.tc.Send(out)
}

// end closes what a finished call holds.
func (m *Manager) end(id string) {
	m.mu.Lock()
	c := m.calls[id]
	delete(m.calls, id)
	m.mu.Unlock()
	if c == nil {
		return
	}
	c.stopHold()
	c.mu.Lock()
	leg, rec, recID := c.leg, c.rec, c.recID
	c.leg, c.rec = nil, nil
	c.mu.Unlock()
	if leg != nil {
		_ = leg.Close()
	}
	if rec != nil {
		d := rec.Duration()
		if err := rec.Close(); err != nil {
			m.log.Error("recording not closed", "call", id, "err", err)
		}
		if recID != 0 {
			_ = m.p.Store.SetRecordingDuration(context.Background(), recID, d)
		}
	}
	m.log.Info("call over", "call", id)
}

// Close waits for the calls' goroutines (hang the calls up first: the
// trunk does on shutdown).
func (m *Manager) Close() error {
	m.wg.Wait()
	return nil
}

// safe keeps a Call-ID's letters and digits for a file name.
func safe(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() >= 24 {
			break
		}
	}
	return b.String()
}
