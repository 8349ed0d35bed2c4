package e2e

import (
	"math"
	"sort"
	"testing"
)

// block is the analysis window: 20 ms at 8 kHz. Tones on a multiple of
// 50 Hz fall on a DFT bin of it.
const block = 160

// toneStats is what measureTone found of one frequency in a recording.
type toneStats struct {
	Hz      float64
	Blocks  int     // 20 ms blocks that hold the tone (90 % of their power, above -40 dBFS)
	Seconds float64 // those blocks' time
	Longest float64 // the longest run of them, in seconds
	Level   float64 // the median level of those blocks, dBFS (a full-scale sine is 0)
	Peak    float64 // the loudest block's level at Hz, whether it holds the tone or not, dBFS
	Steady  float64 // the level at Hz over the whole recording, dBFS: a steady tone there for a fraction p of it gives its level + 20 log10(p)
}

// goertzel is the amplitude of frequency hz in x (a sine of amplitude A
// on a bin gives A).
func goertzel(x []int16, hz float64) float64 {
	w := 2 * math.Pi * hz / 8000
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)+c*s1-s2, s1
	}
	re := s1 - s2*math.Cos(w)
	im := s2 * math.Sin(w)
	return 2 * math.Hypot(re, im) / float64(len(x))
}

func dbfs(amp float64) float64 { return 20 * math.Log10(amp/32768) }

// measureTone finds a steady tone at hz in x (8 kHz mono), block by block.
func measureTone(x []int16, hz float64) toneStats {
	st := toneStats{Hz: hz, Level: math.Inf(-1), Peak: math.Inf(-1)}
	var levels []float64
	run := 0
	for i := 0; i+block <= len(x); i += block {
		b := x[i : i+block]
		var ms float64
		for _, v := range b {
			ms += float64(v) * float64(v)
		}
		ms /= block
		a := goertzel(b, hz)
		st.Peak = math.Max(st.Peak, dbfs(a))
		if ms > 0 && a*a/2 >= 0.9*ms && dbfs(a) > -40 {
			levels = append(levels, dbfs(a))
			run++
			st.Longest = math.Max(st.Longest, float64(run*block)/8000)
		} else {
			run = 0
		}
	}
	st.Steady = math.Inf(-1)
	if len(x) > 0 {
		st.Steady = dbfs(goertzel(x, hz))
	}
	st.Blocks = len(levels)
	st.Seconds = float64(st.Blocks*block) / 8000
	if len(levels) > 0 {
		sort.Float64s(levels)
		st.Level = levels[len(levels)/2]
	}
	return st
}

// sine is n samples of a sine at hz with amplitude amp.
func sine(n int, hz, amp float64) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(math.Round(amp * math.Sin(2*math.Pi*hz*float64(i)/8000)))
	}
	return s
}

// channel is one channel of interleaved samples.
func channel(x []int16, channels, c int) []int16 {
	out := make([]int16, 0, len(x)/channels)
	for i := c; i < len(x); i += channels {
		out = append(out, x[i])
	}
	return out
}

func TestMeasureTone(t *testing.T) {
	x := append(make([]int16, 8000), sine(16000, 1000, 8000)...)
	x = append(x, sine(8000, 600, 800)...)
	st := measureTone(x, 1000)
	if st.Seconds != 2 || st.Longest != 2 || math.Abs(st.Level-dbfs(8000)) > 0.01 {
		t.Errorf("1000 Hz: %+v", st)
	}
	st = measureTone(x, 600)
	if st.Seconds != 1 || math.Abs(st.Level-dbfs(800)) > 0.01 {
		t.Errorf("600 Hz: %+v", st)
	}
	if math.Abs(st.Steady-(dbfs(800)+20*math.Log10(0.25))) > 0.01 {
		t.Errorf("600 Hz over the whole: %+v", st)
	}
	if st := measureTone(x, 1500); st.Blocks != 0 || st.Peak > -60 || st.Steady > -60 {
		t.Errorf("1500 Hz: %+v", st)
	}
}
