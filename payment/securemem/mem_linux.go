package securemem

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// mlock locks memory; tests make it fail as an RLIMIT_MEMLOCK too small
// would, which root's CAP_IPC_LOCK otherwise ignores.
var mlock = unix.Mlock

// mapArena maps size bytes of anonymous memory, leaves them out of core
// dumps (MADV_DONTDUMP) and locks them (mlock); a protection refused is in
// the Status's Err, the mapping used all the same. It returns nil when
// nothing could be mapped.
func mapArena(size int) ([]byte, Status) {
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, Status{Err: fmt.Errorf("securemem: mmap of %d bytes: %w; card buffers come from the Go heap", size, err)}
	}
	st := Status{Mapped: true}
	var problems []error
	if err := unix.Madvise(mem, unix.MADV_DONTDUMP); err != nil {
		problems = append(problems, fmt.Errorf("madvise(MADV_DONTDUMP): %w, so core dumps may hold card data", err))
	} else {
		st.DontDump = true
	}
	if err := mlock(mem); err != nil {
		problems = append(problems, fmt.Errorf("mlock of %d bytes: %w, so card data may be swapped out (raise RLIMIT_MEMLOCK, e.g. LimitMEMLOCK= in the systemd unit, or grant CAP_IPC_LOCK)", size, err))
	} else {
		st.Locked = true
	}
	switch len(problems) {
	case 0:
	case 1:
		st.Err = fmt.Errorf("securemem: %w", problems[0])
	default:
		st.Err = fmt.Errorf("securemem: %w; %w", problems[0], problems[1])
	}
	return mem, st
}
