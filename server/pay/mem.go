package pay

import (
	"log/slog"
	"sync"

	"github.com/hushphone/hushphone/payment/securemem"
)

// memWarn says once a process that the card buffers' arena lacks a
// protection (securemem.Status.Err); memStatus maps the arena (tests
// replace it).
var (
	memWarn   sync.Once
	memStatus = func() securemem.Status { return securemem.Default().Status() }
)

// checkMemory maps the card buffers' arena now, at start-up, and says
// once a process, at WARN, which protection the system refused (mlock
// without RLIMIT_MEMLOCK room, MADV_DONTDUMP, or the arena itself).
func checkMemory(log *slog.Logger) {
	if st := memStatus(); st.Err != nil {
		memWarn.Do(func() {
			log.Warn("card buffers are not fully protected", "dontdump", st.DontDump, "locked", st.Locked, "err", st.Err)
		})
	}
}
