package maskscore

import (
	"math"
	"math/cmplx"
	"testing"
)

func TestLstsq(t *testing.T) {
	n := 80
	c1, s1 := sinCos(697, n)
	c2, s2 := sinCos(1209, n)
	y := make([]float64, n)
	for i := range y {
		y[i] = 3*c1[i] - 2*s1[i] + 0.5*c2[i] + 7*s2[i]
	}
	got := lstsq([][]float64{c1, s1, c2, s2}, y)
	for i, want := range []float64{3, -2, 0.5, 7} {
		if math.Abs(got[i]-want) > 1e-9 {
			t.Errorf("coef %d = %g, want %g", i, got[i], want)
		}
	}
	// A column that repeats an earlier one gets no weight.
	got = lstsq([][]float64{c1, c1, s1}, y[:n])
	if got[1] != 0 {
		t.Errorf("dependent column got %g", got[1])
	}
}

func TestFFT(t *testing.T) {
	x := make([]complex128, 64)
	for i := range x {
		x[i] = complex(math.Cos(2*math.Pi*5*float64(i)/64), 0)
	}
	fft(x)
	for k, v := range x {
		want := 0.0
		if k == 5 || k == 59 {
			want = 32
		}
		if math.Abs(cmplx.Abs(v)-want) > 1e-9 {
			t.Errorf("bin %d = %v, want magnitude %g", k, v, want)
		}
	}
}
