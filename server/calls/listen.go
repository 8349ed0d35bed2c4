package calls

import (
	"context"
	"fmt"

	"github.com/hushphone/hushphone/server/agentleg"
)

// Supervisors listen in silently: Listen, then the same SDP and Candidate
// exchange as an agent (calls.go), and the call's audio sends each the
// masked caller mixed with the agent's voice (audio.go).

// listener is one supervisor listening to a call.
type listener struct {
	leg   *agentleg.Leg // nil until the supervisor's offer
	early []string
}

// Listen starts a supervisor listening to a call an agent has taken:
// the supervisor then sends its offer (SDP) and candidates as an agent
// does. Listening again to the same call keeps the place (a new offer
// replaces the leg).
func (m *Manager) Listen(_ context.Context, user, callID string) error {
	m.mu.Lock()
	c := m.calls[callID]
	m.mu.Unlock()
	if c == nil {
		return ErrNoCall
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return ErrNoCall
	}
	if c.agent == "" { // queued or ringing: there is nothing to hear yet
		return ErrNotActive
	}
	if c.agent == user {
		return fmt.Errorf("%w: you are the call's agent", ErrNoCall)
	}
	if c.listeners[user] != nil {
		return nil
	}
	if len(c.listeners) >= MaxListeners {
		return ErrListenLimit
	}
	if c.listeners == nil {
		c.listeners = map[string]*listener{}
	}
	c.listeners[user] = &listener{}
	c.audio.setListener(user, nil) // the mix runs for the supervisor from now
	m.log.Info("supervisor listening", "call", callID, "user", user)
	return nil
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
		c.mu.Unlock()
		if lis == nil {
			continue
		}
		found = true
		if lis.leg != nil {
			_ = lis.leg.Close()
		}
		m.log.Info("supervisor stopped listening", "call", c.id, "user", user)
	}
	if !found {
		return ErrNotListening
	}
	return nil
}
