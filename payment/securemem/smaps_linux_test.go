package securemem

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"

	"github.com/hushphone/hushphone/internal/testing/smaps"

	"golang.org/x/sys/unix"
)

// vmFlags returns the VmFlags of the mapping that holds addr.
func vmFlags(t *testing.T, addr uintptr) []string { return smaps.Flags(t, addr) }

func has(flags []string, f string) bool {
	for _, g := range flags {
		if g == f {
			return true
		}
	}
	return false
}

// TestArenaOutOfDumpsAndSwap: a buffer's page is marked "dd" (left out of
// core dumps) in /proc/self/smaps, and "lo" (locked) where mlock was
// allowed; a heap buffer's is neither.
func TestArenaOutOfDumpsAndSwap(t *testing.T) {
	a := New(DefaultSlots)
	b := a.Get()
	defer b.Release()
	st := a.Status()
	t.Logf("arena %+v", st)
	if !st.Mapped || !st.DontDump {
		t.Fatalf("arena %+v: not mapped, or not left out of core dumps", st)
	}
	flags := vmFlags(t, uintptr(unsafe.Pointer(&b.Bytes()[0])))
	if !has(flags, "dd") {
		t.Errorf("VmFlags %v: no dd (MADV_DONTDUMP)", flags)
	}
	if st.Locked != has(flags, "lo") {
		t.Errorf("VmFlags %v, but Status says locked %v", flags, st.Locked)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &lim); err == nil && lim.Cur >= uint64(DefaultSlots*SlotSize) && !st.Locked {
		t.Errorf("RLIMIT_MEMLOCK %d allows the arena, but it is not locked: %v", lim.Cur, st.Err)
	}
	heap := make([]byte, 4096)
	if hf := vmFlags(t, uintptr(unsafe.Pointer(&heap[0]))); has(hf, "dd") && has(hf, "lo") {
		t.Errorf("the Go heap is marked %v: the test cannot tell the arena apart", hf)
	}
}

// TestLockRefusedStillDontDump: with RLIMIT_MEMLOCK too small for the
// arena (and no CAP_IPC_LOCK), mlock fails; the arena is still left out of
// core dumps and Status says why it is not locked.
func TestLockRefusedStillDontDump(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Log("root: mlock ignores RLIMIT_MEMLOCK; checking the arena is left out of dumps only")
	}
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &old); err != nil {
		t.Fatal(err)
	}
	small := unix.Rlimit{Cur: 4096, Max: old.Max}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &small); err != nil {
		t.Fatal(err)
	}
	a := New(DefaultSlots)
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &old); err != nil {
		t.Fatal(err)
	}
	st := a.Status()
	t.Logf("arena %+v", st)
	if !st.Mapped || !st.DontDump {
		t.Fatalf("arena %+v: it must still be mapped and left out of dumps", st)
	}
	if !st.Locked && (st.Err == nil || !strings.Contains(st.Err.Error(), "mlock")) {
		t.Errorf("not locked, but Err %v does not say mlock", st.Err)
	}
	b := a.Get()
	defer b.Release()
	if flags := vmFlags(t, uintptr(unsafe.Pointer(&b.Bytes()[0]))); !has(flags, "dd") {
		t.Errorf("VmFlags %v: no dd", flags)
	}

	// The same, certainly refused (as root too).
	mlock = func([]byte) error { return unix.ENOMEM }
	defer func() { mlock = unix.Mlock }()
	refused := New(8)
	st = refused.Status()
	if !st.Mapped || !st.DontDump || st.Locked || st.Err == nil || !strings.Contains(st.Err.Error(), "RLIMIT_MEMLOCK") {
		t.Fatalf("mlock refused: arena %+v; want it mapped, left out of dumps, not locked, and Err saying RLIMIT_MEMLOCK", st)
	}
	rb := refused.Get()
	defer rb.Release()
	if flags := vmFlags(t, uintptr(unsafe.Pointer(&rb.Bytes()[0]))); !has(flags, "dd") || has(flags, "lo") {
		t.Errorf("mlock refused: VmFlags %v, want dd and no lo", flags)
	}
}

// TestLockRefusedForReal runs the test binary again without CAP_IPC_LOCK
// (setpriv drops it from root's bounding set) and with RLIMIT_MEMLOCK at
// one page, so that the kernel itself refuses mlock: the arena must still
// be mapped and left out of core dumps, its buffers usable, and Status
// must say why it is not locked. Nothing panics.
func TestLockRefusedForReal(t *testing.T) {
	if os.Getenv("SECUREMEM_CHILD") == "1" {
		lockRefusedChild(t)
		return
	}
	args := []string{os.Args[0], "-test.run=^TestLockRefusedForReal$", "-test.v"}
	if os.Geteuid() == 0 {
		args = append([]string{"setpriv", "--bounding-set", "-ipc_lock", "--inh-caps", "-ipc_lock"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "SECUREMEM_CHILD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil || !strings.Contains(string(out), "child: refused as expected") {
		t.Fatalf("the child without CAP_IPC_LOCK failed: %v", err)
	}
}

func lockRefusedChild(t *testing.T) {
	lim := unix.Rlimit{Cur: 4096, Max: 4096}
	if err := unix.Setrlimit(unix.RLIMIT_MEMLOCK, &lim); err != nil {
		t.Fatal(err)
	}
	a := New(DefaultSlots)
	st := a.Status()
	if !st.Mapped || !st.DontDump || st.Locked || st.Err == nil || !strings.Contains(st.Err.Error(), "RLIMIT_MEMLOCK") {
		t.Fatalf("arena %+v; want it mapped, left out of dumps, not locked, and Err saying RLIMIT_MEMLOCK", st)
	}
	b := a.Get()
	defer b.Release()
	copy(b.Bytes(), "4242")
	if flags := vmFlags(t, uintptr(unsafe.Pointer(&b.Bytes()[0]))); !has(flags, "dd") || has(flags, "lo") {
		t.Fatalf("VmFlags %v, want dd and no lo", flags)
	}
	t.Log("child: refused as expected")
}
