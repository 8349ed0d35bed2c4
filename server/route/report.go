package route

import (
	"sort"
	"time"
)

// AgentInfo is an agent as Agents reports it.
type AgentInfo struct {
	ID, Name string
	State    State
	Since    time.Time // when State began
	Call     string    // the call ringing, active or held for the agent
}

// CallInfo is a call as Calls reports it.
type CallInfo struct {
	ID, From string // From: the caller's number, or the number an agent dialled (Outbound)
	Queue    string // an inbound call's queue
	Outbound bool
	State    CallState
	Agent    string    // ringing, active or held with this agent
	Since    time.Time // when State began
	Arrived  time.Time
}

// Agent reports one agent.
func (r *Router) Agent(id string) (AgentInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.agents[id]
	if !ok {
		return AgentInfo{}, false
	}
	return a.info(), true
}

// Agents reports every agent, by id.
func (r *Router) Agents() []AgentInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]AgentInfo, 0, len(r.agents))
	for _, a := range r.agents {
		out = append(out, a.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Call reports one call, if the router has it (queued, ringing, active or
// held).
func (r *Router) Call(id string) (CallInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.calls[id]
	if !ok {
		return CallInfo{}, false
	}
	return c.info(), true
}

// Calls reports every call: the queue in order, then the others by when
// they arrived.
func (r *Router) Calls() []CallInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]CallInfo, 0, len(r.calls))
	for _, c := range r.queue {
		out = append(out, c.info())
	}
	rest := make([]CallInfo, 0, len(r.calls)-len(r.queue))
	for _, c := range r.calls {
		if c.state == CallStateActive || c.state == CallStateHeld {
			rest = append(rest, c.info())
		}
	}
	sort.Slice(rest, func(i, j int) bool {
		if !rest[i].Arrived.Equal(rest[j].Arrived) {
			return rest[i].Arrived.Before(rest[j].Arrived)
		}
		return rest[i].ID < rest[j].ID
	})
	return append(out, rest...)
}

func (a *agent) info() AgentInfo {
	i := AgentInfo{ID: a.id, Name: a.name, State: a.state, Since: a.since}
	if a.call != nil {
		i.Call = a.call.id
	}
	return i
}

func (c *call) info() CallInfo {
	i := CallInfo{ID: c.id, From: c.from, Queue: c.queue, Outbound: c.outbound, State: c.state, Since: c.since, Arrived: c.arrived}
	if c.agent != nil {
		i.Agent = c.agent.id
	}
	return i
}
