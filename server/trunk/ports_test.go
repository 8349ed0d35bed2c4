package trunk

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hushphone/hushphone/media/mask"
)

// TestRTPPortRangeConfig: a port range with no end is a configuration
// error. (Ports from a range are server/trunk/rtpstream's tests.)
func TestRTPPortRangeConfig(t *testing.T) {
	if _, err := New(Config{OnCall: func(*Call) {}, RTPPortMin: 40000}); !errors.Is(err, ErrConfig) {
		t.Fatalf("a range with no end: %v, want ErrConfig", err)
	}
}

// TestMaskLookaheadConfig: a look-ahead the Masker does not take is a
// configuration error naming the setting.
func TestMaskLookaheadConfig(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, 10 * time.Millisecond, 22 * time.Millisecond, 55 * time.Millisecond} {
		_, err := New(Config{OnCall: func(*Call) {}, MaskLookahead: d})
		if !errors.Is(err, ErrConfig) || !errors.Is(err, mask.ErrLookahead) || !strings.Contains(err.Error(), "mask-lookahead") {
			t.Errorf("look-ahead %v: %v, want ErrConfig naming mask-lookahead", d, err)
		}
	}
}
