package session

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/hushphone/hushphone/internal/testing/smaps"

	"github.com/hushphone/hushphone/payment/securemem"
)

// pageFlags returns the VmFlags of the mapping that holds b's first byte.
func pageFlags(t *testing.T, b []byte) []string {
	t.Helper()
	return smaps.Flags(t, uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// TestDigitsOutOfCoreDumps: the fields' digits, and the copy Card hands
// to the gateway, sit in pages marked "dd" (left out of core dumps) and
// "lo" (locked, never swapped) where the arena could be locked; key
// presses take no buffer of their own, and Close and Zero give theirs back.
func TestDigitsOutOfCoreDumps(t *testing.T) {
	arena := securemem.New(8)
	st := arena.Status()
	if !st.DontDump {
		t.Fatalf("arena %+v: not left out of core dumps", st)
	}
	p := cardFields()
	p.Arena = arena
	now := t0
	s, err := New(p, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := arena.Status().InUse; got != 1 {
		t.Fatalf("%d buffers for a new session, want 1", got)
	}
	typ(t, s, "42424242", &now)
	for _, f := range s.fields {
		flags := pageFlags(t, f.buf)
		if !slices.Contains(flags, "dd") || st.Locked && !slices.Contains(flags, "lo") {
			t.Errorf("%s: VmFlags %v, want dd (and lo: locked %v)", f.name, flags, st.Locked)
		}
	}
	typ(t, s, "42424242#1230#737#", &now)
	if got := arena.Status(); got.InUse != 1 || got.Heap != 0 {
		t.Fatalf("after 25 key presses: %+v, want the session's one buffer", got)
	}
	c, err := s.Card()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{c.Number, c.Expiry, c.SecurityCode} {
		if flags := pageFlags(t, b); !slices.Contains(flags, "dd") || st.Locked && !slices.Contains(flags, "lo") {
			t.Errorf("card copy: VmFlags %v, want dd (and lo)", flags)
		}
	}
	if string(c.Number) != "4242424242424242" || string(c.Expiry) != "1230" || string(c.SecurityCode) != "737" {
		t.Fatalf("card %q %q %q", c.Number, c.Expiry, c.SecurityCode)
	}
	c.Zero()
	s.Close()
	if got := arena.Status().InUse; got != 0 {
		t.Errorf("%d buffers still in use after Zero and Close", got)
	}
}
