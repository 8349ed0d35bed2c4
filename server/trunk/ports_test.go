package trunk

import (
	"errors"
	"testing"
)

// TestRTPPortRangeConfig: a port range with no end is a configuration
// error. (Ports from a range are server/trunk/rtpstream's tests.)
func TestRTPPortRangeConfig(t *testing.T) {
	if _, err := New(Config{OnCall: func(*Call) {}, RTPPortMin: 40000}); !errors.Is(err, ErrConfig) {
		t.Fatalf("a range with no end: %v, want ErrConfig", err)
	}
}
