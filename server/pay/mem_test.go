package pay

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/hushphone/hushphone/payment/gateway"
	"github.com/hushphone/hushphone/payment/securemem"
	"github.com/hushphone/hushphone/server/store"
)

// TestMemoryWarnedOnce: when the card buffers cannot be locked (a small
// RLIMIT_MEMLOCK), starting says so once at WARN, however many managers
// start.
func TestMemoryWarnedOnce(t *testing.T) {
	old := memStatus
	memStatus = func() securemem.Status {
		return securemem.Status{Slots: 8, Mapped: true, DontDump: true, Err: errors.New("securemem: mlock of 131072 bytes: cannot allocate memory")}
	}
	memWarn = sync.Once{}
	t.Cleanup(func() { memStatus, memWarn = old, sync.Once{} })
	st, err := store.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for range 3 {
		m, err := New(context.Background(), Params{Gateway: gateway.NewSandbox(), Audit: st, Calls: onCalls{}, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		_ = m.Close()
	}
	if n := strings.Count(logs.String(), "level=WARN msg=\"card buffers are not fully protected\""); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "mlock") {
		t.Errorf("the warning does not say why:\n%s", logs.String())
	}
}
