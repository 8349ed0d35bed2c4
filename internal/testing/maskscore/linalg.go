package maskscore

import (
	"math"
	"math/cmplx"
)

// lstsq solves min ||A x - y|| for the columns cols of A (each len(y) long)
// by Householder QR. Columns that are (numerically) dependent on earlier ones
// get a zero coefficient. cols and y are not modified.
func lstsq(cols [][]float64, y []float64) []float64 {
	m, k := len(y), len(cols)
	a := make([][]float64, k)
	for j := range cols {
		a[j] = append([]float64(nil), cols[j]...)
	}
	r := append([]float64(nil), y...)
	diag := make([]float64, k)
	skip := make([]bool, k)
	for j := 0; j < k && j < m; j++ {
		col := a[j]
		var norm2, full float64
		for i := j; i < m; i++ {
			norm2 += col[i] * col[i]
		}
		for i := 0; i < m; i++ {
			full += cols[j][i] * cols[j][i]
		}
		if norm2 <= 1e-20*full || norm2 == 0 {
			skip[j] = true
			continue
		}
		alpha := -math.Copysign(math.Sqrt(norm2), col[j])
		// v = col[j:] - alpha e1, stored in place.
		col[j] -= alpha
		var vnorm2 float64
		for i := j; i < m; i++ {
			vnorm2 += col[i] * col[i]
		}
		apply := func(x []float64) {
			var d float64
			for i := j; i < m; i++ {
				d += col[i] * x[i]
			}
			d = 2 * d / vnorm2
			for i := j; i < m; i++ {
				x[i] -= d * col[i]
			}
		}
		for l := j + 1; l < k; l++ {
			apply(a[l])
		}
		apply(r)
		diag[j] = alpha
	}
	// Back substitution: R[j][l] is a[l][j] for l > j, R[j][j] is diag[j].
	x := make([]float64, k)
	for j := min(k, m) - 1; j >= 0; j-- {
		if skip[j] {
			continue
		}
		s := r[j]
		for l := j + 1; l < k; l++ {
			s -= a[l][j] * x[l]
		}
		x[j] = s / diag[j]
	}
	return x
}

// fft computes the discrete Fourier transform of x in place; len(x) must be
// a power of two.
func fft(x []complex128) {
	n := len(x)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := 0; k < size/2; k++ {
				u, v := x[start+k], x[start+k+size/2]*wk
				x[start+k], x[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
}
