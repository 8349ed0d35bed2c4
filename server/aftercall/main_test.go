package aftercall

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: all
// the goroutines the code starts are owned and stopped by whoever started
// them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
