package aftercall

import (
	"context"
	"slices"
	"testing"
)

// BenchmarkRun: what the after-call check costs, per recorded minute: a
// one-minute stereo recording (speech-like hum on both sides, a few
// unmasked key presses on the caller's) read, hashed, run through spandsp
// on both channels, and its proof stored. One op is one recorded minute.
//
//	go test -run '^$' -bench BenchmarkRun -benchmem ./server/aftercall
func BenchmarkRun(b *testing.B) {
	e := newEnv(b)
	c, err := New(Params{Check: Spandsp, Store: e.store})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var left []int16
	for len(left) < 60*8000 {
		left = slices.Concat(left, withKey())
	}
	left = left[:60*8000]
	j := e.recording(b, "bench", left, sines(60*8000, 2000, 300, 520))
	b.SetBytes(60 * 8000 * 2 * 2)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Run(context.Background(), j); err != nil {
			b.Fatal(err)
		}
	}
}
