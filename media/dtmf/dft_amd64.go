package dtmf

// The block DFT in assembly: SSE everywhere, AVX with FMA where the CPU and
// the OS support it (checked once, by CPUID and XGETBV).

//go:noescape
func dftBlockSSE(x *[BlockSamples]int16, tab *[BlockSamples][16]float32, out *[16]float32) float32

//go:noescape
func dftBlockFMA(x *[BlockSamples]int16, tab *[BlockSamples][16]float32, out *[16]float32, tmp *[BlockSamples]float32, quiet float32) float32

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

func xgetbv() (lo, hi uint32)

var useFMA = func() bool {
	_, _, c, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c&fma == 0 || c&osxsave == 0 || c&avx == 0 {
		return false
	}
	lo, _ := xgetbv()
	return lo&6 == 6 // the OS saves XMM and YMM state
}()

func dftBlock(x *[BlockSamples]int16, out *[16]float32, tmp *[BlockSamples]float32) float32 {
	if useFMA {
		return dftBlockFMA(x, &blockTable, out, tmp, quietBlock)
	}
	return dftBlockSSE(x, &blockTable, out)
}
