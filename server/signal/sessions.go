package signal

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/hushphone/hushphone/protocol"
	"github.com/hushphone/hushphone/server/store"
)

// DefaultUsersPoll is how often the Hub reads Params.Users' generation.
const DefaultUsersPoll = time.Second

// UsersWatch tells when users or sessions may have changed (*store.Store):
// a user removed or disabled, a session signed out, in this process or in
// another on the same database (`hushphone-server user remove`).
type UsersWatch interface {
	UsersGeneration(ctx context.Context) (int64, error)
}

// EndSession closes at once (4001) every connection signed in with the
// session whose token hashes to tokenHash: the user signed out (give it to
// api.Params.OnSignOut). An agent's connection closing takes the agent
// out of the call queue.
func (h *Hub) EndSession(tokenHash []byte) {
	for _, c := range h.all() {
		if bytes.Equal(c.tokenHash, tokenHash) {
			h.log.Info("websocket: signed out; closing", "user", c.user)
			c.close(protocol.CloseSessionEnded, "signed out: sign in again")
		}
	}
}

// Recheck has every connection check its session again now, rather than
// at its next SessionCheck: those whose session ended (the user removed or
// disabled, the session signed out) close with 4001.
func (h *Hub) Recheck() {
	for _, c := range h.all() {
		select {
		case c.recheck <- struct{}{}:
		default: // one is pending already
		}
	}
}

func (h *Hub) all() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*conn, 0, len(h.conns))
	for _, c := range h.conns {
		out = append(out, c)
	}
	return out
}

// watchUsers polls Params.Users until ctx is done and has every connection
// recheck its session when the generation moves.
func (h *Hub) watchUsers(ctx context.Context) {
	t := time.NewTicker(h.p.UsersPoll)
	defer t.Stop()
	last, err := h.p.Users.UsersGeneration(ctx)
	known := err == nil
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := h.p.Users.UsersGeneration(ctx)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("websocket: reading the users generation", "err", err)
			}
			continue
		}
		if !known || n != last {
			h.Recheck()
		}
		last, known = n, true
	}
}

// sessionEnded reports whether c was closed because its session ended
// (4001).
func (c *conn) sessionEnded() bool {
	select {
	case <-c.closing:
		return c.code == protocol.CloseSessionEnded // written before closing was closed
	default:
		return false
	}
}

// checkSession closes c (4001) if its session is over.
func (c *conn) checkSession(ctx context.Context) bool {
	_, err := c.h.p.Sessions.LookupSession(ctx, c.tokenHash)
	if errors.Is(err, store.ErrNoSession) {
		c.h.log.Info("websocket: session ended; closing", "user", c.user)
		c.close(protocol.CloseSessionEnded, "session expired or signed out: sign in again")
		return false
	}
	return true
}
