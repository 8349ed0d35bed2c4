package engine

import "fmt"

// maxMedia bounds the calls the engine holds a peer connection for at
// once. An agent is on one call at a time and a supervisor listens in to a
// few; a server (broken, or not ours) that starts more is refused, so that
// its messages cannot make the engine open connections without end.
const maxMedia = 8

// mediaRoom says whether one more call's media may start.
func (a *Agent) mediaRoom() error {
	a.mu.Lock()
	n := len(a.calls)
	a.mu.Unlock()
	if n >= maxMedia {
		return fmt.Errorf("%w: the server started media for more than %d calls at once", ErrProtocol, maxMedia)
	}
	return nil
}
