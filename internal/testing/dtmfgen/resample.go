package dtmfgen

import "math"

// resample converts x from rate from to rate to with a windowed-sinc
// polyphase filter, low-passing at 0.875 of the lower Nyquist frequency (3.5
// kHz for 8 kHz output) like a telephone channel.
func resample(x []float64, from, to int) []float64 {
	if from == to {
		return append([]float64(nil), x...)
	}
	g := gcd(from, to)
	up, down := to/g, from/g                                       // output n sits at input position n*down/up
	cutoff := 0.875 * 0.5 * float64(min(from, to)) / float64(from) // cycles per input sample
	const half = 64                                                // taps each side, in input samples
	// One filter per phase: taps[p][j] weighs input sample i0-half+1+j when
	// the output falls p/up of a sample after i0.
	taps := make([][]float64, up)
	for p := range taps {
		frac := float64(p) / float64(up)
		t := make([]float64, 2*half)
		var sum float64
		for j := range t {
			d := frac + float64(half-1-j) // distance from the tap to the output point
			w := blackman(d / float64(half))
			t[j] = w * sinc(2*cutoff*d)
			sum += t[j]
		}
		for j := range t {
			t[j] /= sum
		}
		taps[p] = t
	}
	n := len(x) * up / down
	y := make([]float64, n)
	for i := range y {
		pos := i * down
		i0, p := pos/up, pos%up
		t := taps[p]
		var acc float64
		for j, c := range t {
			k := i0 - half + 1 + j
			if k >= 0 && k < len(x) {
				acc += c * x[k]
			}
		}
		y[i] = acc
	}
	return y
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// blackman is the Blackman window on [-1, 1].
func blackman(u float64) float64 {
	if u <= -1 || u >= 1 {
		return 0
	}
	a := math.Pi * (u + 1) // 0..2π
	return 0.42 - 0.5*math.Cos(a) + 0.08*math.Cos(2*a)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// highpass filters x in place with a second-order Butterworth high-pass at
// fc Hz: the bottom of a telephone channel.
func highpass(x []float64, fc float64) {
	w := 2 * math.Pi * fc / SampleRate
	alpha := math.Sin(w) / math.Sqrt2 // Q = 1/sqrt2
	cw := math.Cos(w)
	a0 := 1 + alpha
	b0 := (1 + cw) / 2 / a0
	b1 := -(1 + cw) / a0
	b2 := b0
	a1 := -2 * cw / a0
	a2 := (1 - alpha) / a0
	var x1, x2, y1, y2 float64
	for i, v := range x {
		y := b0*v + b1*x1 + b2*x2 - a1*y1 - a2*y2
		x2, x1 = x1, v
		y2, y1 = y1, y
		x[i] = y
	}
}
