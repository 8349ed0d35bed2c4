// Package securemem holds card data in memory kept out of core dumps and
// out of swap where the operating system allows it: one arena of
// fixed-size slots (SlotSize bytes each), mapped outside the Go heap when
// it is first used and never moved or copied by the garbage collector.
//
// On Linux the arena is an anonymous mmap marked MADV_DONTDUMP (a core
// dump leaves it out) and locked with mlock (never written to swap).
// Locking needs RLIMIT_MEMLOCK room for the arena (DefaultSlots×SlotSize,
// 128 KiB) or CAP_IPC_LOCK; when mlock is refused the arena is still left
// out of core dumps, and Status says why it is not locked, for the owner
// to log once. Elsewhere, and when the arena is full, a buffer comes from
// the Go heap: zeroed on release like the others, but neither locked nor
// kept out of core dumps, and the garbage collector may have copied it.
//
// What it does not do: it cannot keep the digits out of every other copy
// the process makes of them (the caller's audio before the Masker, a
// gateway's request), and a debugger or root on the machine can still
// read the arena.
package securemem

import (
	"runtime"
	"sync"
)

// SlotSize is the size of one buffer, in bytes: a capture session's
// fields (at most 6 of at most 19 digits) fit in one.
const SlotSize = 128

// DefaultSlots is how many slots Default's arena has: a live payment
// session holds one, and one more while it is with the gateway.
const DefaultSlots = 1024

// Status says what protects an arena's memory.
type Status struct {
	Slots    int  // slots in the arena (0: every buffer comes from the heap)
	InUse    int  // slots handed out and not yet released
	Heap     int  // buffers handed out from the heap because the arena was full or absent
	Mapped   bool // the arena is mapped outside the Go heap
	DontDump bool // left out of core dumps (MADV_DONTDUMP)
	Locked   bool // locked in RAM, never swapped (mlock)
	// Err says why one of the protections is missing (nil when none is).
	Err error
}

// Arena is a fixed pool of slots. It is safe for concurrent use.
type Arena struct {
	mu   sync.Mutex
	mem  []byte  // the mapping; nil without one
	free []int32 // free slots, a stack
	st   Status
}

// Buf is one buffer of SlotSize bytes from an arena, zeroed when handed
// out. Release zeroes it and gives it back; a Buf nobody holds any more is
// released by the garbage collector's cleanup. Its bytes are only valid
// while the Buf is held: keep the Buf, not only slices of Bytes.
type Buf struct {
	b []byte
	s *slot
}

// slot is a Buf's place in its arena; the cleanup holds it, never the Buf.
type slot struct {
	a    *Arena
	idx  int32  // -1: from the heap
	mem  []byte // the bytes, to zero
	done bool   // released (guarded by a.mu)
}

// New maps an arena of n slots (n ≤ 0: none, every buffer from the heap)
// and protects it as the system allows; Status says how.
func New(n int) *Arena {
	a := &Arena{}
	if n <= 0 {
		return a
	}
	mem, st := mapArena(n * SlotSize)
	a.st = st
	if mem == nil {
		return a
	}
	a.mem = mem
	a.st.Slots = n
	a.free = make([]int32, n)
	for i := range a.free {
		a.free[i] = int32(n - 1 - i) // slot 0 first
	}
	return a
}

var (
	defaultOnce  sync.Once
	defaultArena *Arena
)

// Default is the process's arena of DefaultSlots slots, mapped and
// protected on the first call (a server makes that call at start-up).
func Default() *Arena {
	defaultOnce.Do(func() { defaultArena = New(DefaultSlots) })
	return defaultArena
}

// Status reports the arena's protections and use.
func (a *Arena) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// Get returns a zeroed buffer: a slot of the arena, or one from the heap
// when every slot is in use.
func (a *Arena) Get() *Buf {
	a.mu.Lock()
	s := &slot{a: a, idx: -1}
	if n := len(a.free); n > 0 {
		s.idx = a.free[n-1]
		a.free = a.free[:n-1]
		off := int(s.idx) * SlotSize
		s.mem = a.mem[off : off+SlotSize : off+SlotSize]
		a.st.InUse++
	} else {
		s.mem = make([]byte, SlotSize)
		a.st.Heap++
	}
	a.mu.Unlock()
	b := &Buf{b: s.mem, s: s}
	runtime.AddCleanup(b, func(s *slot) { s.a.release(s) }, s)
	return b
}

// Bytes is the buffer: SlotSize bytes (nil once released).
func (b *Buf) Bytes() []byte { return b.b }

// Release zeroes the buffer and gives it back to its arena; releasing it
// again does nothing.
func (b *Buf) Release() {
	if b == nil || b.s == nil {
		return
	}
	b.s.a.release(b.s)
	b.b = nil
}

func (a *Arena) release(s *slot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.done {
		return
	}
	s.done = true
	clear(s.mem)
	if s.idx >= 0 {
		a.free = append(a.free, s.idx)
		a.st.InUse--
	}
}
