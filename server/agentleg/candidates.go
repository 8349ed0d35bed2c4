package agentleg

// This file holds the agent's trickled ICE candidates: taken, held until
// the agent's description, and bounded.

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// MaxCandidates bounds the ICE candidates a leg takes from its peer, over
// its whole life: each costs pion a remote candidate and connectivity
// checks, so a peer that trickles without end would cost without end. A
// browser or the agent engine sends a handful (a host, a server
// reflexive and a relay candidate per interface and protocol).
const MaxCandidates = 64

// AddCandidate adds one of the agent's trickled ICE candidates. An empty
// candidate means the agent has no more. Candidates that arrive before the
// agent's description are held until it comes. Past MaxCandidates it
// returns ErrCandidate.
func (l *Leg) AddCandidate(c webrtc.ICECandidateInit) error {
	l.sigMu.Lock()
	defer l.sigMu.Unlock()
	if l.closed.Load() {
		return ErrClosed
	}
	if err := CheckCandidate(c.Candidate); err != nil {
		return err
	}
	if l.trickled >= MaxCandidates {
		return fmt.Errorf("%w: more than %d candidates for one call", ErrCandidate, MaxCandidates)
	}
	l.trickled++
	if !l.remoteSet {
		if len(l.pending) >= maxPending {
			return fmt.Errorf("%w: more than %d candidates before the agent's description; send the description first", ErrCandidate, maxPending)
		}
		l.pending = append(l.pending, c)
		return nil
	}
	if err := l.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: %q: %w", ErrCandidate, c.Candidate, err)
	}
	return nil
}
