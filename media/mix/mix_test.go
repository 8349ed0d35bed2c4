package mix

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestFrame(t *testing.T) {
	if got := time.Duration(FrameSamples) * time.Second / SampleRate; got != FrameDuration {
		t.Errorf("%d samples at %d Hz last %v, want FrameDuration %v", FrameSamples, SampleRate, got, FrameDuration)
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name          string
		dst, src, out []int16
	}{
		{"plain", []int16{1, -2, 300}, []int16{10, 20, -30}, []int16{11, 18, 270}},
		{"clips high", []int16{30000, 32767}, []int16{5000, 1}, []int16{32767, 32767}},
		{"clips low", []int16{-30000, -32768}, []int16{-5000, -1}, []int16{-32768, -32768}},
		{"shorter src", []int16{1, 2, 3}, []int16{1}, []int16{2, 2, 3}},
		{"shorter dst", []int16{1}, []int16{1, 2, 3}, []int16{2}},
		{"empty", nil, []int16{1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := append([]int16(nil), tt.dst...)
			Add(dst, tt.src)
			if !slices.Equal(dst, tt.out) {
				t.Errorf("Add(%v, %v) = %v, want %v", tt.dst, tt.src, dst, tt.out)
			}
		})
	}
}

func TestGain(t *testing.T) {
	tests := []struct {
		db   float64
		want Gain
	}{
		{0, Unity},
		{-6.0206, Unity / 2},
		{6.0206, Unity * 2},
		{-100, 0},
		{math.Inf(-1), 0},
		{math.NaN(), 0},
		{1000, GainDB(24)},
	}
	for _, tt := range tests {
		if got := GainDB(tt.db); math.Abs(float64(got-tt.want)) > 1 {
			t.Errorf("GainDB(%v) = %d, want %d", tt.db, got, tt.want)
		}
	}
	pcm := []int16{1000, -1000, 20000, -20000, 1, -1}
	Scale(pcm, Unity/2)
	if want := []int16{500, -500, 10000, -10000, 1, 0}; !slices.Equal(pcm, want) {
		t.Errorf("Scale by a half = %v, want %v", pcm, want)
	}
	pcm = []int16{20000, -20000}
	Scale(pcm, Unity*2)
	if want := []int16{32767, -32768}; !slices.Equal(pcm, want) {
		t.Errorf("Scale by two = %v, want %v (clipped)", pcm, want)
	}
	pcm = []int16{7, -7}
	Scale(pcm, 0)
	if want := []int16{0, 0}; !slices.Equal(pcm, want) {
		t.Errorf("Scale by zero = %v, want %v", pcm, want)
	}
}

func BenchmarkAdd(b *testing.B) {
	var dst, src [FrameSamples]int16
	for i := range src {
		src[i] = int16(i * 97)
	}
	b.ReportAllocs()
	for b.Loop() {
		Add(dst[:], src[:])
	}
}

func BenchmarkScale(b *testing.B) {
	var pcm [FrameSamples]int16
	for i := range pcm {
		pcm[i] = int16(i * 97)
	}
	g := GainDB(-6)
	b.ReportAllocs()
	for b.Loop() {
		Scale(pcm[:], g)
	}
}
