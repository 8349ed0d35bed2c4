package dtmfgen

import (
	"math"
	"math/rand/v2"
)

// SampleRate is the rate of all generated audio.
const SampleRate = 8000

// dBm0Peak is the peak of a 0 dBm0 sine in 16-bit linear PCM.
const dBm0Peak = 22860.0

// dBm0Power is the mean square of a 0 dBm0 sine.
const dBm0Power = dBm0Peak * dBm0Peak / 2

func ampOf(dBm0 float64) float64   { return dBm0Peak * math.Pow(10, dBm0/20) }
func powerOf(dBm0 float64) float64 { return dBm0Power * math.Pow(10, dBm0/10) }
func dBm0Of(power float64) float64 { return 10 * math.Log10(power/dBm0Power) }

func meanSquare(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	var s float64
	for _, v := range x {
		s += v * v
	}
	return s / float64(len(x))
}

// activePower is the mean square over the 20 ms frames within 30 dB of the
// loudest frame: roughly the active speech level of ITU-T P.56, which pauses
// do not dilute.
func activePower(x []float64) float64 {
	const frame = SampleRate / 50
	var powers []float64
	var peak float64
	for i := 0; i+frame <= len(x); i += frame {
		p := meanSquare(x[i : i+frame])
		powers = append(powers, p)
		peak = max(peak, p)
	}
	if peak == 0 {
		return meanSquare(x)
	}
	var sum float64
	var n int
	for _, p := range powers {
		if p >= peak/1000 {
			sum += p
			n++
		}
	}
	return sum / float64(n)
}

// setActiveLevel scales x in place so that its active level is dBm0.
func setActiveLevel(x []float64, dBm0 float64) {
	p := activePower(x)
	if p == 0 {
		return
	}
	scale(x, math.Sqrt(powerOf(dBm0)/p))
}

func scale(x []float64, g float64) {
	for i := range x {
		x[i] *= g
	}
}

// addAt adds src into dst from offset at, growing nothing: samples past the
// end of dst are dropped.
func addAt(dst []float64, at int, src []float64) {
	for i, v := range src {
		if j := at + i; j >= 0 && j < len(dst) {
			dst[j] += v
		}
	}
}

// whiteNoise is Gaussian noise with an RMS of dBm0.
func whiteNoise(r *rand.Rand, n int, dBm0 float64) []float64 {
	sd := math.Sqrt(powerOf(dBm0))
	x := make([]float64, n)
	for i := range x {
		x[i] = r.NormFloat64() * sd
	}
	return x
}

// pinkNoise is noise falling at about 3 dB per octave (Paul Kellet's
// filter), high-passed like a telephone channel, at an RMS of dBm0.
func pinkNoise(r *rand.Rand, n int, dBm0 float64) []float64 {
	x := make([]float64, n)
	var b0, b1, b2, b3, b4, b5, b6 float64
	for i := range x {
		w := r.NormFloat64()
		b0 = 0.99886*b0 + w*0.0555179
		b1 = 0.99332*b1 + w*0.0750759
		b2 = 0.96900*b2 + w*0.1538520
		b3 = 0.86650*b3 + w*0.3104856
		b4 = 0.55000*b4 + w*0.5329522
		b5 = -0.7616*b5 - w*0.0168980
		x[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w*0.5362
		b6 = w * 0.115926
	}
	highpass(x, 100)
	if p := meanSquare(x); p > 0 {
		scale(x, math.Sqrt(powerOf(dBm0)/p))
	}
	return x
}

// fade applies linear fades of n samples at both ends of x.
func fade(x []float64, n int) {
	n = min(n, len(x)/2)
	for i := range n {
		g := float64(i) / float64(n)
		x[i] *= g
		x[len(x)-1-i] *= g
	}
}
