package node

import (
	"context"
	"time"
)

// usersPoll is how often the node looks for user changes made outside it
// (`hushphone-server user remove|disable|role` from another process on the
// same database), to reload the queues' members.
const usersPoll = time.Second

// watchQueues reloads the queues' members whenever the users generation
// moves, until ctx is done: an agent removed, disabled or made a
// supervisor from the command line stops being rung as a queue's member,
// as one changed through the API does at once. It closes done on return.
func (n *Node) watchQueues(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(usersPoll)
	defer t.Stop()
	// The first tick reloads whatever the generation: a change between
	// New's load and this goroutine's start would otherwise be taken as
	// the starting point and never applied.
	var last int64
	known := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g, err := n.store.UsersGeneration(ctx)
		if err != nil {
			continue // the hub's own watch logs a database that cannot be read
		}
		if known && g == last {
			continue
		}
		if err := n.queues.Reload(ctx, n.store); err != nil {
			if ctx.Err() == nil {
				n.log.Warn("queues: reloading after a change to the users", "err", err)
			}
			continue // tried again on the next tick
		}
		last, known = g, true
	}
}
