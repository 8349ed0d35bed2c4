package securemem

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestGetRelease(t *testing.T) {
	a := New(4)
	var bufs []*Buf
	for range 4 {
		b := a.Get()
		if len(b.Bytes()) != SlotSize {
			t.Fatalf("a buffer of %d bytes", len(b.Bytes()))
		}
		for _, c := range b.Bytes() {
			if c != 0 {
				t.Fatal("a buffer handed out dirty")
			}
		}
		copy(b.Bytes(), "4242424242424242")
		bufs = append(bufs, b)
	}
	st := a.Status()
	if runtime.GOOS == "linux" && (st.Slots != 4 || st.InUse != 4 || st.Heap != 0 || !st.Mapped) {
		t.Fatalf("status %+v, want 4 mapped slots in use", st)
	}
	extra := a.Get() // the arena is full: the heap
	if len(extra.Bytes()) != SlotSize {
		t.Fatalf("a heap buffer of %d bytes", len(extra.Bytes()))
	}
	if st := a.Status(); runtime.GOOS == "linux" && st.Heap != 1 {
		t.Fatalf("status %+v, want one heap buffer", st)
	}
	mem := bufs[0].Bytes()
	bufs[0].Release()
	bufs[0].Release() // twice: nothing more
	if bufs[0].Bytes() != nil {
		t.Error("Bytes after Release")
	}
	for _, c := range mem {
		if c != 0 {
			t.Fatal("a released buffer was not zeroed")
		}
	}
	again := a.Get()
	if runtime.GOOS == "linux" && &again.Bytes()[0] != &mem[0] {
		t.Error("the released slot was not handed out again")
	}
	for _, c := range again.Bytes() {
		if c != 0 {
			t.Fatal("a slot handed out again dirty")
		}
	}
	bufs[0].Release() // a stale handle must not free the slot's new holder
	if st := a.Status(); runtime.GOOS == "linux" && st.InUse != 4 {
		t.Errorf("status %+v after a stale release: the slot was freed under its new holder", st)
	}
	for _, b := range append(bufs[1:], again, extra) {
		b.Release()
	}
	if st := a.Status(); st.InUse != 0 {
		t.Errorf("status %+v, want none in use", st)
	}
}

// TestDroppedBufferComesBack: a Buf nobody releases is zeroed and given
// back once the garbage collector finds it unreachable.
func TestDroppedBufferComesBack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("no arena outside Linux: nothing to give back")
	}
	a := New(1)
	func() {
		b := a.Get()
		copy(b.Bytes(), "4242")
	}()
	deadline := time.Now().Add(5 * time.Second)
	for a.Status().InUse != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("status %+v: the dropped buffer never came back", a.Status())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	for _, c := range a.mem {
		if c != 0 {
			t.Fatal("the dropped buffer came back dirty")
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	a := New(8)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 500 {
				b := a.Get()
				b.Bytes()[0] = 1
				b.Release()
			}
		})
	}
	wg.Wait()
	if st := a.Status(); st.InUse != 0 {
		t.Errorf("status %+v", st)
	}
}

func TestNoArena(t *testing.T) {
	a := New(0)
	b := a.Get()
	if len(b.Bytes()) != SlotSize || a.Status().Heap != 1 {
		t.Fatalf("%d bytes, status %+v", len(b.Bytes()), a.Status())
	}
	b.Release()
}

func TestDefault(t *testing.T) {
	first, second := Default(), Default()
	if first != second {
		t.Fatal("two default arenas")
	}
	st := Default().Status()
	if runtime.GOOS == "linux" && (st.Slots != DefaultSlots || !st.Mapped || !st.DontDump) {
		t.Errorf("default arena %+v, want %d mapped slots left out of core dumps", st, DefaultSlots)
	}
	t.Logf("default arena: %+v", st)
}
