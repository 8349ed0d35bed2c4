//go:build !amd64

package dtmf

type dftImpl struct {
	name string
	fn   func(*[BlockSamples]int16, *[16]float32) float32
}

func dftImpls() []dftImpl { return []dftImpl{{"generic", dftBlockGeneric}} }
