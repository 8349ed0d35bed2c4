package proof

import (
	"bytes"
	"context"
	"testing"

	"github.com/hushphone/hushphone/internal/testing/testwav"
	"github.com/hushphone/hushphone/media/wav"
)

// BenchmarkCheck: the cost of checking a recording, per recorded second and
// minute of a stereo mu-law file (a call's recording: masked caller audio
// with key presses on one channel, music on the other), hashing included.
//
//	go test -run '^$' -bench BenchmarkCheck -benchmem ./server/proof
func BenchmarkCheck(b *testing.B) {
	c := keyCase(b, 8)
	left, _ := maskAll(b, c.Samples)
	right := keyCase(b, 9).Speech
	x := testwav.Interleave(left, right)
	for len(x) < 2*60*SampleRate { // at least a minute
		x = append(x, x...)
	}
	var buf bytes.Buffer
	if err := wav.Write(&buf, &wav.Audio{Header: wav.Header{Format: wav.FormatMuLaw, Channels: 2, SampleRate: SampleRate}, Samples: x}); err != nil {
		b.Fatal(err)
	}
	file := buf.Bytes()
	seconds := float64(len(x)/2) / SampleRate
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, err := Check(context.Background(), bytes.NewReader(file))
		if err != nil || p.Verdict != VerdictClean {
			b.Fatal(p.Verdict, err)
		}
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(ns/seconds, "ns/recorded-s")
	b.ReportMetric(ns/seconds*60, "ns/recorded-min")
}
