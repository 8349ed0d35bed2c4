package engine

import (
	"sort"
	"sync"

	"github.com/hushphone/hushphone/protocol"
)

// maxBoard bounds the calls a supervisor's board keeps: a server that
// sends more is either broken or hostile, and the engine's memory stays
// bounded either way.
const maxBoard = 100_000

// board is a supervisor's view of every call, kept from the server's calls
// snapshot (its pages, on connecting) and the call.changed and
// call.removed messages after it. Event.Calls carries it whole.
type board struct {
	mu      sync.Mutex
	calls   map[string]protocol.CallSnapshot
	paging  bool // a snapshot's pages are coming: the board is not whole yet
	started bool // the first page came
}

// apply takes one calls, call.changed or call.removed message and reports
// the board's calls once it is whole (false while a snapshot's pages are
// still coming).
func (b *board) apply(m protocol.Message) ([]protocol.CallSnapshot, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch m.Type {
	case protocol.TypeCalls:
		if !b.paging || b.calls == nil {
			b.calls = map[string]protocol.CallSnapshot{} // a new snapshot replaces the board
		}
		b.paging, b.started = m.More, true
		for _, c := range m.Calls {
			b.put(c)
		}
	case protocol.TypeCallChanged:
		for _, c := range m.Calls {
			b.put(c)
		}
	case protocol.TypeCallRemoved:
		delete(b.calls, m.Call)
	default:
		return nil, false
	}
	if b.paging || !b.started {
		return nil, false
	}
	return b.view(), true
}

func (b *board) put(c protocol.CallSnapshot) {
	if b.calls == nil {
		b.calls = map[string]protocol.CallSnapshot{}
	}
	if _, ok := b.calls[c.Call]; !ok && len(b.calls) >= maxBoard {
		return
	}
	b.calls[c.Call] = c
}

// view is the board's calls: those waiting (queued, ringing) first, then
// the others, each by when they arrived.
func (b *board) view() []protocol.CallSnapshot {
	out := make([]protocol.CallSnapshot, 0, len(b.calls))
	for _, c := range b.calls {
		out = append(out, c)
	}
	waiting := func(c protocol.CallSnapshot) bool {
		return c.State == protocol.CallQueued || c.State == protocol.CallRinging
	}
	sort.Slice(out, func(i, j int) bool {
		if wi, wj := waiting(out[i]), waiting(out[j]); wi != wj {
			return wi
		}
		if !out[i].Arrived.Equal(out[j].Arrived) {
			return out[i].Arrived.Before(out[j].Arrived)
		}
		return out[i].Call < out[j].Call
	})
	return out
}
