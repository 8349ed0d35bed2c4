package mask

import (
	"path/filepath"
	"testing"

	"github.com/hushphone/hushphone/internal/testing/maskscore"
	"github.com/hushphone/hushphone/media/dtmf"
	"github.com/hushphone/hushphone/media/g711"
	"github.com/hushphone/hushphone/media/wav"
)

// benchAudio is the corpus's nominal case (speech and key presses) as mu-law
// payloads: realistic audio, and the same file build/spandsp's harness times
// spandsp's detector on.
func benchAudio(b *testing.B) [][]byte {
	b.Helper()
	dir := maskscore.NeedCorpus(b)
	a, err := wav.ReadFile(filepath.Join(dir, "nominal.wav"))
	if err != nil {
		b.Fatal(err)
	}
	var frames [][]byte
	for i := 0; i+FrameSamples <= len(a.Samples); i += FrameSamples {
		p := make([]byte, FrameSamples)
		g711.EncodeULawTo(p, a.Samples[i:i+FrameSamples])
		frames = append(frames, p)
	}
	return frames
}

// BenchmarkMaskFrame is the whole per-frame path of a caller leg: decode
// one 20 ms mu-law payload, detect, mask, encode. One op is one frame.
func BenchmarkMaskFrame(b *testing.B) { benchMaskFrame(b) }

// BenchmarkMaskFrameLookahead50 is BenchmarkMaskFrame at the longest
// look-ahead: the same work, in a ring of the same size.
func BenchmarkMaskFrameLookahead50(b *testing.B) {
	benchMaskFrame(b, WithLookahead(MaxLookahead))
}

func benchMaskFrame(b *testing.B, opts ...Option) {
	frames := benchAudio(b)
	keys := 0
	m := New(append(opts, WithKeyEvents(func(e dtmf.Event) {
		if e.Phase == dtmf.KeyDown {
			keys++
		}
	}))...)
	out := make([]byte, FrameSamples)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.ProcessPayload(out, frames[i%len(frames)], g711.ULaw); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if b.N >= 2*len(frames) && keys == 0 {
		b.Fatal("no key found: the benchmark is not exercising detection")
	}
}
