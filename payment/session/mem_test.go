package session

import (
	"testing"

	"github.com/hushphone/hushphone/payment/securemem"
)

// TestStaleCloseSparesTheNextSession: a session closed twice, or a card
// zeroed twice, must not zero the buffer its slot was handed on to: the
// second Close or Zero would otherwise wipe another live payment's digits.
func TestStaleCloseSparesTheNextSession(t *testing.T) {
	arena := securemem.New(2) // a session and its card: the slots come back in turn
	now := t0
	p := cardFields()
	p.Arena = arena

	a, err := New(p, now)
	if err != nil {
		t.Fatal(err)
	}
	typ(t, a, "4242424242424242#1230#737#", &now)
	c, err := a.Card()
	if err != nil {
		t.Fatal(err)
	}
	c.Zero()
	a.Close()

	b, err := New(p, now) // takes a's slot again (or c's)
	if err != nil {
		t.Fatal(err)
	}
	typ(t, b, "4000056655665556", &now)
	next, err := New(p, now) // the other slot
	if err != nil {
		t.Fatal(err)
	}
	typ(t, next, "5555555555554444", &now)

	a.Close()
	c.Zero()
	for _, s := range []*Session{b, next} {
		f := s.fields[0]
		for _, d := range f.buf[:f.n] {
			if d == 0 {
				t.Fatalf("a stale Close or Zero wiped a live session's digits (%d of them)", f.n)
			}
		}
	}
	if got := arena.Status().InUse; got != 2 {
		t.Errorf("%d slots in use, want the 2 live sessions'", got)
	}
	b.Close()
	next.Close()
}
