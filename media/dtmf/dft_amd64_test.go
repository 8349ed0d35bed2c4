package dtmf

type dftImpl struct {
	name string
	fn   func(*[BlockSamples]int16, *[16]float32) float32
}

// dftImpls are the implementations this machine can run.
func dftImpls() []dftImpl {
	impls := []dftImpl{
		{"generic", dftBlockGeneric},
		{"sse", func(x *[BlockSamples]int16, o *[16]float32) float32 { return dftBlockSSE(x, &blockTable, o) }},
	}
	if useFMA {
		impls = append(impls, dftImpl{"fma", func(x *[BlockSamples]int16, o *[16]float32) float32 {
			var tmp [BlockSamples]float32
			return dftBlockFMA(x, &blockTable, o, &tmp, 0)
		}})
	}
	return impls
}
