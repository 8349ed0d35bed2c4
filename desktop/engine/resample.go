package engine

import (
	"fmt"
	"math"
)

// Resampler design: the telephone band lives below 4 kHz, so both
// directions use one low-pass, flat to 3.6 kHz and at least 70 dB down from
// 4.0 kHz on (a Kaiser-windowed sinc), at the higher of the two rates.
const (
	resamplePassHz   = 3600.0
	resampleStopHz   = 4000.0
	resampleStopDB   = 70.0
	maxResampleCoefs = 1 << 18 // 1 MiB of float32: rates with a huge common multiple are refused
)

// resampler converts a stream of samples from one rate to another by a
// rational factor up/down (polyphase FIR: up-sample by up, low-pass,
// keep one sample in down), without allocating once built. It is not safe
// for concurrent use.
type resampler struct {
	up, down int
	taps     int       // coefficients per phase
	coef     []float32 // up phases of taps each, time-reversed, gain up
	hist     []float32 // the last taps inputs, stored twice: hist[pos:pos+taps] is in time order
	pos      int
	phase    int     // the next output's position, in up-sampled samples, after the newest input
	lag      float64 // the group delay, in output samples
}

// newResampler builds a resampler from rate in to rate out (Hz), both at
// least 8 kHz.
func newResampler(in, out int) (*resampler, error) {
	if in < 8000 || out < 8000 {
		return nil, fmt.Errorf("%w: cannot resample %d Hz to %d Hz: both rates must be 8 kHz or more", ErrAudio, in, out)
	}
	g := gcd(in, out)
	up, down := out/g, in/g
	fi := float64(in) * float64(up) // the up-sampled rate the filter runs at
	// Kaiser's estimates of the length and the window's beta.
	width := (resampleStopHz - resamplePassHz) / fi
	n := int(math.Ceil((resampleStopDB-7.95)/(14.36*width))) + 1
	if n > maxResampleCoefs {
		return nil, fmt.Errorf("%w: resampling %d Hz to %d Hz needs too long a filter: choose a device rate such as 48000 or 44100 Hz", ErrAudio, in, out)
	}
	beta := 0.1102 * (resampleStopDB - 8.7)
	fc := (resamplePassHz + resampleStopHz) / 2 / fi // cycles per up-sampled sample
	proto := make([]float64, n)
	mid := float64(n-1) / 2
	i0b := besselI0(beta)
	sum := 0.0
	for i := range proto {
		t := float64(i) - mid
		s := 2 * fc
		if t != 0 {
			s = math.Sin(2*math.Pi*fc*t) / (math.Pi * t)
		}
		r := 2*float64(i)/float64(n-1) - 1
		proto[i] = s * besselI0(beta*math.Sqrt(math.Max(0, 1-r*r))) / i0b
		sum += proto[i]
	}
	taps := (n + up - 1) / up
	rs := &resampler{
		up: up, down: down, taps: taps,
		coef: make([]float32, up*taps),
		hist: make([]float32, 2*taps),
		lag:  float64(n-1) / 2 / float64(down),
	}
	// Phase p's output is sum over j of proto[p+j*up] * x[newest-j]; the
	// window hist[pos:pos+taps] is oldest first, so store each phase
	// reversed, scaled so that each phase passes DC at gain 1.
	for p := range up {
		for k := range taps {
			j := taps - 1 - k
			if idx := p + j*up; idx < n {
				rs.coef[p*taps+k] = float32(proto[idx] * float64(up) / sum)
			}
		}
	}
	return rs, nil
}

// maxOut is the most samples process can produce from n inputs.
func (r *resampler) maxOut(n int) int {
	return (n*r.up+r.down-1)/r.down + 1
}

// process resamples in and writes the result to out, which must have room
// for maxOut(len(in)) samples; it returns how many it wrote.
func (r *resampler) process(in, out []float32) int {
	w := 0
	taps := r.taps
	for _, x := range in {
		r.hist[r.pos] = x
		r.hist[r.pos+taps] = x
		r.pos++
		if r.pos == taps {
			r.pos = 0
		}
		win := r.hist[r.pos : r.pos+taps]
		for r.phase < r.up {
			c := r.coef[r.phase*taps : r.phase*taps+taps]
			var acc float32
			for k, h := range c {
				acc += h * win[k]
			}
			out[w] = acc
			w++
			r.phase += r.down
		}
		r.phase -= r.up
	}
	return w
}

// reset forgets the past: the next input starts from silence.
func (r *resampler) reset() {
	clear(r.hist)
	r.pos, r.phase = 0, 0
}

// delay is the filter's group delay in output samples.
func (r *resampler) delay() float64 {
	return r.lag
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// besselI0 is the modified Bessel function of the first kind, order 0.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 64; k++ {
		term *= (x / 2 / float64(k)) * (x / 2 / float64(k))
		sum += term
		if term < sum*1e-17 {
			break
		}
	}
	return sum
}
