package dtmf

import "math"

// blockTable holds, for each sample n of a block, cos(w n) then -sin(w n)
// for the eight frequencies: a block's DFT at frequency k, referenced to the
// block's first sample, is re[k] = sum x[n] tab[n][k], im[k] = sum x[n]
// tab[n][8+k].
var blockTable = func() (t [BlockSamples][16]float32) {
	for n := 0; n < BlockSamples; n++ {
		for k := 0; k < 8; k++ {
			f := lowHz[k%4]
			if k >= 4 {
				f = highHz[k-4]
			}
			w := 2 * math.Pi * f / SampleRate * float64(n)
			t[n][k] = float32(math.Cos(w))
			t[n][8+k] = float32(-math.Sin(w))
		}
	}
	return t
}()

// dftBlockGeneric computes a block's DFT at the eight frequencies into out
// (eight real parts, then eight imaginary parts) and returns the block's
// energy (sum of squares). dftBlock is the same, in assembly where there is
// one, with tmp as scratch space; it may leave out the sums of a block
// quieter than quietBlock.
func dftBlockGeneric(x *[BlockSamples]int16, out *[16]float32) float32 {
	var acc [16]float32
	var e float32
	for n, v := range x {
		f := float32(v)
		e += f * f
		row := &blockTable[n]
		for k := range acc {
			acc[k] += f * row[k]
		}
	}
	*out = acc
	return e
}
