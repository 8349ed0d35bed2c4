package calls

import (
	"context"
	"fmt"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/agentleg"
	"github.com/hushphone/hushphone/server/signal"
)

// Supervisors listen in: Listen or ListenMode, then the same SDP and
// Candidate exchange as an agent (calls.go), and the call's audio sends
// each the masked caller mixed with the agent's voice (audio.go). A
// supervisor who whispers is heard by the agent, one who barges by the
// agent and the caller too (voice.go); the agent is told of both
// (SupervisorMode), not of silent listening.

// ErrNoMicrophone: whisper or barge on a leg whose offer sends no audio
// (receive-only), or such an offer while whispering or barging.
var ErrNoMicrophone = fmt.Errorf("calls: %w", signal.ErrNoMicrophone)

// listener is one supervisor listening to a call.
type listener struct {
	leg   *agentleg.Leg // nil until the supervisor's offer
	early []string
	mode  protocol.ListenMode
}

// Listen starts a supervisor listening to a call an agent has taken,
// silently (ModeListen): the supervisor then sends its offer (SDP) and
// candidates as an agent does. Listening again to the same call keeps the
// place (a new offer replaces the leg) and is silent again.
func (m *Manager) Listen(ctx context.Context, user, callID string) error {
	return m.ListenMode(ctx, user, callID, protocol.ModeListen)
}

// ListenMode is Listen in a mode: listen (silent), whisper (the agent
// hears the supervisor) or barge (the agent and the caller do). For a call
// the supervisor listens to already, it changes the mode at once, on the
// same leg; whisper and barge need a leg that sends audio (a supervisor
// with no offer yet may name any mode: a receive-only offer is then
// refused). The call's agent is told (SupervisorMode) when the
// supervisor starts or stops being heard.
func (m *Manager) ListenMode(_ context.Context, user, callID string, mode protocol.ListenMode) error {
	if mode == "" {
		mode = protocol.ModeListen
	}
	if mode != protocol.ModeListen && !mode.Heard() {
		return fmt.Errorf("%w: listen mode %q", ErrParams, mode)
	}
	m.mu.Lock()
	c := m.calls[callID]
	m.mu.Unlock()
	if c == nil {
		return ErrNoCall
	}
	c.mu.Lock()
	if err := c.canListen(user); err != nil {
		c.mu.Unlock()
		return err
	}
	lis := c.listeners[user]
	switch {
	case lis == nil && len(c.listeners) >= MaxListeners:
		c.mu.Unlock()
		return ErrListenLimit
	case lis == nil:
		if c.listeners == nil {
			c.listeners = map[string]*listener{}
		}
		lis = &listener{mode: protocol.ModeListen}
		c.listeners[user] = lis
		c.audio.setListener(user, nil) // the mix runs for the supervisor from now
		m.log.Info("supervisor listening", "call", callID, "user", user)
	case mode.Heard() && lis.leg != nil && !lis.leg.PeerSends():
		c.mu.Unlock()
		return ErrNoMicrophone
	}
	was := lis.mode
	lis.mode = mode
	c.audio.setListenMode(user, mode)
	agent := c.agent
	c.mu.Unlock()
	if was != mode {
		m.log.Info("supervisor's listen mode", "call", callID, "user", user, "mode", string(mode))
		m.toldAgent(agent, callID, user, was, mode)
	}
	return nil
}

// canListen says why user may not listen to c, if they may not (c.mu
// held).
func (c *call) canListen(user string) error {
	switch {
	case c.ended:
		return ErrNoCall
	case c.agent == "": // queued or ringing: there is nothing to hear yet
		return ErrNotActive
	case c.agent == user:
		return fmt.Errorf("%w: you are the call's agent", ErrNoCall)
	}
	return nil
}

// toldAgent tells the call's agent that a supervisor starts or stops
// being heard (from was to now), when either is.
func (m *Manager) toldAgent(agent, callID, user string, was, now protocol.ListenMode) {
	if agent == "" || (!was.Heard() && !now.Heard()) {
		return
	}
	e := SupervisorMode{Agent: agent, Call: callID, User: user}
	if now.Heard() {
		e.Mode = now
	}
	m.p.Notify(e)
}

// Unlisten stops a supervisor listening to a call, or to every call when
// callID is empty (the supervisor's connection closed).
func (m *Manager) Unlisten(_ context.Context, user, callID string) error {
	m.mu.Lock()
	var cs []*call
	if callID == "" {
		for _, c := range m.calls {
			cs = append(cs, c)
		}
	} else if c := m.calls[callID]; c != nil {
		cs = append(cs, c)
	}
	m.mu.Unlock()
	found := false
	for _, c := range cs {
		c.mu.Lock()
		lis := c.listeners[user]
		delete(c.listeners, user)
		c.audio.unlisten(user)
		agent, ended := c.agent, c.ended
		c.mu.Unlock()
		if lis == nil {
			continue
		}
		found = true
		if lis.leg != nil {
			_ = lis.leg.Close()
		}
		if !ended {
			m.toldAgent(agent, c.id, user, lis.mode, protocol.ModeListen)
		}
		m.log.Info("supervisor stopped listening", "call", c.id, "user", user)
	}
	if !found {
		return ErrNotListening
	}
	return nil
}
