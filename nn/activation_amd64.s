#include "textflag.h"

// The vector activations: sigmoid32 and tanh32 of activation.go, eight
// float32 lanes at a time. Each lane does the scalar code's operations in
// its order, every branch computed and the right one blended in, so the
// results are the scalar results bit for bit. R9 points at actK, R10 at
// expC; Y15 holds the sign mask and Y14 zero throughout.

// Offsets into actK (activation.go's kLog2e ... kMinusSmall, 4 bytes each).
#define K_LOG2E 0
#define K_HALF 4
#define K_LN2HI 8
#define K_LN2LO 12
#define K_ONE 16
#define K_EXPMIN 20
#define K_TWO 24
#define K_THREE 28
#define K_NINE 32
#define K_MNINE 36
#define K_MONE 40
#define K_SMALL 44
#define K_MSMALL 48

// ARGS loads the arguments and the constant registers.
#define ARGS \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ n+16(FP), CX; \
	MOVQ k+24(FP), R9; \
	MOVQ c+32(FP), R10; \
	VPCMPEQD Y15, Y15, Y15; \
	VPSLLD $31, Y15, Y15; \
	VXORPS Y14, Y14, Y14

// HORNER does q = r*(c + q) with c the expC value at off.
#define HORNER(off) \
	VBROADCASTSS off(R10), Y2; \
	VADDPS Y6, Y2, Y6; \
	VMULPS Y6, Y5, Y6

// EXP is exp32's polynomial path of Y0 into Y1 (the range cut-offs are the
// callers'), using Y2 to Y6: n = floor(x*log2e + 1/2), r = x - n*ln2hi -
// n*ln2lo, Horner over expC, then n added to the exponent.
#define EXP \
	VBROADCASTSS K_LOG2E(R9), Y2; \
	VMULPS Y2, Y0, Y3; \
	VBROADCASTSS K_HALF(R9), Y2; \
	VADDPS Y2, Y3, Y3; \
	VROUNDPS $9, Y3, Y3; \
	VBROADCASTSS K_LN2HI(R9), Y2; \
	VMULPS Y2, Y3, Y4; \
	VSUBPS Y4, Y0, Y5; \
	VBROADCASTSS K_LN2LO(R9), Y2; \
	VMULPS Y2, Y3, Y4; \
	VSUBPS Y4, Y5, Y5; \
	VBROADCASTSS 0(R10), Y6; \
	VMULPS Y6, Y5, Y6; \
	HORNER(4); \
	HORNER(8); \
	HORNER(12); \
	HORNER(16); \
	HORNER(20); \
	VBROADCASTSS K_ONE(R9), Y2; \
	VADDPS Y6, Y2, Y6; \
	VCVTTPS2DQ Y3, Y3; \
	VPSLLD $23, Y3, Y3; \
	VPADDD Y3, Y6, Y1

// NEXT stores Y9, moves on eight values and loops to label while any remain.
#define NEXT(label) \
	VMOVUPS Y9, (DI); \
	ADDQ $32, SI; \
	ADDQ $32, DI; \
	SUBQ $8, CX; \
	JNZ label; \
	VZEROUPPER; \
	RET

// func sigmoidAVX2(dst, src *float32, n int, k *[actKLen]float32, c *[6]float32)
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-40
	ARGS
sigmoid_loop:
	VMOVUPS (SI), Y7
	VORPS Y15, Y7, Y0             // a = -|x|
	EXP                           // e = exp(a)
	VBROADCASTSS K_EXPMIN(R9), Y2
	VCMPPS $1, Y2, Y0, Y3         // a < expMin
	VANDNPS Y1, Y3, Y1            // e = 0 there
	VBROADCASTSS K_ONE(R9), Y2
	VADDPS Y1, Y2, Y4             // 1 + e
	VDIVPS Y4, Y2, Y5             // 1/(1+e)
	VDIVPS Y4, Y1, Y6             // e/(1+e)
	VCMPPS $0x0D, Y14, Y7, Y8     // x >= 0
	VBLENDVPS Y8, Y5, Y6, Y9
	NEXT(sigmoid_loop)

// func tanhAVX2(dst, src *float32, n int, k *[actKLen]float32, c *[6]float32)
TEXT ·tanhAVX2(SB), NOSPLIT, $0-40
	ARGS
tanh_loop:
	VMOVUPS (SI), Y7
	VBROADCASTSS K_TWO(R9), Y2
	VMULPS Y7, Y2, Y0             // 2x
	EXP                           // e = exp(2x)
	VBROADCASTSS K_ONE(R9), Y2
	VSUBPS Y2, Y1, Y3             // e - 1
	VADDPS Y2, Y1, Y4             // e + 1
	VDIVPS Y4, Y3, Y9             // (e-1)/(e+1)
	VMULPS Y7, Y7, Y6             // x*x
	VBROADCASTSS K_THREE(R9), Y3
	VDIVPS Y3, Y6, Y6             // x*x/3
	VSUBPS Y6, Y2, Y6             // 1 - x*x/3
	VMULPS Y6, Y7, Y6             // x*(1 - x*x/3)
	VBROADCASTSS K_MSMALL(R9), Y2
	VCMPPS $0x1E, Y2, Y7, Y8      // x > -small
	VBROADCASTSS K_SMALL(R9), Y2
	VCMPPS $0x11, Y2, Y7, Y3      // x < small
	VANDPS Y3, Y8, Y8
	VBLENDVPS Y8, Y6, Y9, Y9      // the series near 0
	VBROADCASTSS K_NINE(R9), Y2
	VCMPPS $0x1E, Y2, Y7, Y8      // x > 9
	VBROADCASTSS K_ONE(R9), Y2
	VBLENDVPS Y8, Y2, Y9, Y9      // 1
	VBROADCASTSS K_MNINE(R9), Y2
	VCMPPS $0x11, Y2, Y7, Y8      // x < -9
	VBROADCASTSS K_MONE(R9), Y2
	VBLENDVPS Y8, Y2, Y9, Y9      // -1
	NEXT(tanh_loop)
