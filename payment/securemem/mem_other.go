//go:build !linux

package securemem

import (
	"errors"
	"runtime"
)

// mapArena has no protected memory to give outside Linux: every buffer
// comes from the Go heap, zeroed on release.
func mapArena(int) ([]byte, Status) {
	return nil, Status{Err: errors.New("securemem: no locked, undumpable memory on " + runtime.GOOS + "; card buffers come from the Go heap (zeroed, but neither locked nor kept out of core dumps)")} //nolint:err113 // a status, not a sentinel
}
