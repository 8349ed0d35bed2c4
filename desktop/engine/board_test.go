package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/hushphone/hushphone/protocol"
)

func snap(id string, state protocol.CallState, arrived int) protocol.CallSnapshot {
	return protocol.CallSnapshot{Call: id, State: state, Arrived: time.Unix(int64(arrived), 0)}
}

func ids(cs []protocol.CallSnapshot) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Call
	}
	return out
}

// TestBoard: a supervisor's board from a paged snapshot and the changes
// after it.
func TestBoard(t *testing.T) {
	var b board
	steps := []struct {
		m     protocol.Message
		whole bool
		want  []string
	}{
		{protocol.Message{Type: protocol.TypeCallChanged, Calls: []protocol.CallSnapshot{snap("early", protocol.CallQueued, 1)}}, false, nil},
		{protocol.Message{Type: protocol.TypeCalls, More: true, Calls: []protocol.CallSnapshot{snap("a", protocol.CallActive, 1), snap("q", protocol.CallQueued, 5)}}, false, nil},
		{protocol.Message{Type: protocol.TypeCalls, Calls: []protocol.CallSnapshot{snap("h", protocol.CallHeld, 2)}}, true, []string{"q", "a", "h"}},
		{protocol.Message{Type: protocol.TypeCallChanged, Calls: []protocol.CallSnapshot{snap("q", protocol.CallActive, 5)}}, true, []string{"a", "h", "q"}},
		{protocol.Message{Type: protocol.TypeCallChanged, Calls: []protocol.CallSnapshot{snap("r", protocol.CallRinging, 9)}}, true, []string{"r", "a", "h", "q"}},
		{protocol.Message{Type: protocol.TypeCallRemoved, Call: "a"}, true, []string{"r", "h", "q"}},
		{protocol.Message{Type: protocol.TypeCallRemoved, Call: "nobody"}, true, []string{"r", "h", "q"}},
		{protocol.Message{Type: protocol.TypeAgents}, false, nil},
		// A new snapshot (the connection came back) replaces the board.
		{protocol.Message{Type: protocol.TypeCalls, Calls: []protocol.CallSnapshot{snap("z", protocol.CallQueued, 3)}}, true, []string{"z"}},
		{protocol.Message{Type: protocol.TypeCalls}, true, []string{}},
	}
	for i, s := range steps {
		view, whole := b.apply(s.m)
		if whole != s.whole {
			t.Fatalf("step %d (%s): whole %v, want %v", i, s.m.Type, whole, s.whole)
		}
		if got := ids(view); whole && !slices.Equal(got, s.want) {
			t.Fatalf("step %d (%s): board %v, want %v", i, s.m.Type, got, s.want)
		}
	}
}
