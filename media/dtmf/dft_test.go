package dtmf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDFTBlockMatchesGeneric: the assembly and the Go version agree, on
// random blocks and on the extremes.
func TestDFTBlockMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 2000; i++ {
		var x [BlockSamples]int16
		for n := range x {
			switch i % 4 {
			case 0:
				x[n] = int16(r.IntN(65536) - 32768)
			case 1:
				x[n] = -32768
			case 2:
				x[n] = int16(r.IntN(200) - 100)
			default:
				x[n] = int16(10000 * math.Sin(float64(n+i)))
			}
		}
		var b [16]float32
		eb := dftBlockGeneric(&x, &b)
		for _, impl := range dftImpls() {
			var a [16]float32
			ea := impl.fn(&x, &a)
			if d := math.Abs(float64(ea-eb)) / (float64(eb) + 1); d > 1e-5 {
				t.Fatalf("%s, block %d: energy %g, generic %g", impl.name, i, ea, eb)
			}
			for k := range a {
				if d := math.Abs(float64(a[k] - b[k])); d > 1e-3*math.Sqrt(float64(eb)+1) {
					t.Fatalf("%s, block %d, sum %d: %g, generic %g", impl.name, i, k, a[k], b[k])
				}
			}
		}
	}
}

func BenchmarkDFTBlock(b *testing.B) {
	var x [BlockSamples]int16
	for n := range x {
		x[n] = int16(n * 700)
	}
	for _, impl := range dftImpls() {
		b.Run(impl.name, func(b *testing.B) {
			var out [16]float32
			for i := 0; i < b.N; i++ {
				impl.fn(&x, &out)
			}
		})
	}
}
