#include "textflag.h"

// func dftBlockSSE(x *[40]int16, tab *[40][16]float32, out *[16]float32) float32
//
// Two samples per step, each with its own four accumulators (X0-X3 for even
// samples, X10-X13 for odd ones) so that no sum waits on the one before.
TEXT ·dftBlockSSE(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ tab+8(FP), DI
	MOVQ out+16(FP), DX
	XORPS X0, X0
	XORPS X1, X1
	XORPS X2, X2
	XORPS X3, X3
	XORPS X10, X10
	XORPS X11, X11
	XORPS X12, X12
	XORPS X13, X13
	XORPS X8, X8
	XORPS X9, X9
	MOVQ $20, CX

loop:
	// even sample
	MOVWLSX 0(SI), AX
	XORPS X4, X4
	CVTSL2SS AX, X4
	MOVSS X4, X14
	MULSS X4, X14
	ADDSS X14, X8
	SHUFPS $0, X4, X4
	MOVUPS 0(DI), X5
	MULPS X4, X5
	ADDPS X5, X0
	MOVUPS 16(DI), X6
	MULPS X4, X6
	ADDPS X6, X1
	MOVUPS 32(DI), X7
	MULPS X4, X7
	ADDPS X7, X2
	MOVUPS 48(DI), X5
	MULPS X4, X5
	ADDPS X5, X3

	// odd sample
	MOVWLSX 2(SI), AX
	XORPS X15, X15
	CVTSL2SS AX, X15
	MOVSS X15, X14
	MULSS X15, X14
	ADDSS X14, X9
	SHUFPS $0, X15, X15
	MOVUPS 64(DI), X5
	MULPS X15, X5
	ADDPS X5, X10
	MOVUPS 80(DI), X6
	MULPS X15, X6
	ADDPS X6, X11
	MOVUPS 96(DI), X7
	MULPS X15, X7
	ADDPS X7, X12
	MOVUPS 112(DI), X5
	MULPS X15, X5
	ADDPS X5, X13

	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop

	ADDPS X10, X0
	ADDPS X11, X1
	ADDPS X12, X2
	ADDPS X13, X3
	ADDSS X9, X8
	MOVUPS X0, 0(DX)
	MOVUPS X1, 16(DX)
	MOVUPS X2, 32(DX)
	MOVUPS X3, 48(DX)
	MOVSS X8, ret+24(FP)
	RET

// func dftBlockFMA(x *[40]int16, tab *[40][16]float32, out *[16]float32, tmp *[40]float32, quiet float32) float32
//
// AVX with FMA. The block is first widened to float32 in tmp, four samples
// at a time; then each sample is broadcast from memory and its eight real
// and eight imaginary sums are one 8-wide fused multiply-add each, two
// samples per step, each with its own accumulators (Y0-Y1, Y2-Y3).
// The energy is five 8-wide fused multiply-adds over tmp; below quiet, the
// sums are not computed (out is left as it was).
TEXT ·dftBlockFMA(SB), NOSPLIT, $0-44
	MOVQ x+0(FP), SI
	MOVQ tab+8(FP), DI
	MOVQ out+16(FP), DX
	MOVQ tmp+24(FP), BX

	// widen: 10 x 4 samples
	MOVQ $10, CX
	MOVQ SI, R8
	MOVQ BX, R9
widen:
	VPMOVSXWD 0(R8), X4
	VCVTDQ2PS X4, X4
	VMOVUPS X4, 0(R9)
	ADDQ $8, R8
	ADDQ $16, R9
	DECQ CX
	JNZ widen

	// energy: 5 x 8 samples
	VXORPS Y8, Y8, Y8
	VMOVUPS 0(BX), Y4
	VFMADD231PS Y4, Y4, Y8
	VMOVUPS 32(BX), Y4
	VFMADD231PS Y4, Y4, Y8
	VMOVUPS 64(BX), Y4
	VFMADD231PS Y4, Y4, Y8
	VMOVUPS 96(BX), Y4
	VFMADD231PS Y4, Y4, Y8
	VMOVUPS 128(BX), Y4
	VFMADD231PS Y4, Y4, Y8
	VEXTRACTF128 $1, Y8, X9
	VADDPS X9, X8, X8
	VHADDPS X8, X8, X8
	VHADDPS X8, X8, X8
	MOVSS quiet+32(FP), X9
	UCOMISS X9, X8
	JCS fmaquiet

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ $20, CX
fmaloop:
	VBROADCASTSS 0(BX), Y4
	VFMADD231PS 0(DI), Y4, Y0
	VFMADD231PS 32(DI), Y4, Y1
	VBROADCASTSS 4(BX), Y5
	VFMADD231PS 64(DI), Y5, Y2
	VFMADD231PS 96(DI), Y5, Y3
	ADDQ $8, BX
	ADDQ $128, DI
	DECQ CX
	JNZ fmaloop

	VADDPS Y2, Y0, Y0
	VADDPS Y3, Y1, Y1
	VMOVUPS Y0, 0(DX)
	VMOVUPS Y1, 32(DX)
fmaquiet:
	VZEROUPPER
	MOVSS X8, ret+40(FP)
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// func xgetbv() (lo, hi uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-8
	MOVL $0, CX
	XGETBV
	MOVL AX, lo+0(FP)
	MOVL DX, hi+4(FP)
	RET
