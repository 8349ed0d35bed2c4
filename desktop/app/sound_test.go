package app

import (
	"math"
	"testing"

	"github.com/hushphone/hushphone/media/mix"
)

// TestKeypadTone: a key press puts 120 ms of its two tones over the
// microphone (silence here: no device), frame after frame, then nothing;
// on hold nothing goes at all.
func TestKeypadTone(t *testing.T) {
	tests := []struct {
		name   string
		frame  int // samples the engine asks for at a time
		held   bool
		frames int // frames that carry the tone
	}{
		{"whole frames", mix.FrameSamples, false, keyTone / mix.FrameSamples},
		{"odd frames", 100, false, (keyTone + 99) / 100},
		{"longer than a frame", 3 * mix.FrameSamples, false, (keyTone + 3*mix.FrameSamples - 1) / (3 * mix.FrameSamples)},
		{"held", mix.FrameSamples, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &sound{app: &App{}}
			s.held.Store(tt.held)
			s.press('5') // 770 and 1336 Hz
			var got []int16
			for range tt.frames + 2 {
				f := make([]int16, tt.frame)
				for i := range f {
					f[i] = 1 // the engine's frame is cleared first (no device)
				}
				s.Mic(f)
				got = append(got, f...)
			}
			for i, v := range got {
				want := int16(0)
				if i < keyTone && !tt.held {
					ts := float64(i) / mix.SampleRate
					want = int16(keyPeak * (math.Sin(2*math.Pi*770*ts) + math.Sin(2*math.Pi*1336*ts)))
				}
				if v != want {
					t.Fatalf("sample %d = %d, want %d", i, v, want)
				}
			}
		})
	}
}
