//go:build !amd64

package dtmf

func dftBlock(x *[BlockSamples]int16, out *[16]float32, _ *[BlockSamples]float32) float32 {
	return dftBlockGeneric(x, out)
}
