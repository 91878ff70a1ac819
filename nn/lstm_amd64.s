#include "textflag.h"

// func lstmBackAVX2(gates, dp, tc, dh, dhn, dcn, cp *float32, h, n int)
//
// The LSTM backward step of one sequence for n gate units (n a multiple
// of 8 and at most h), eight at a time, with the scalar loop's operations
// in its order (lstm.go), so bit for bit the same. gates and dp hold the four
// gates i, f, g, o h apart; dcn is read and written.
TEXT ·lstmBackAVX2(SB), NOSPLIT, $0-72
	MOVQ gates+0(FP), SI
	MOVQ dp+8(FP), DI
	MOVQ tc+16(FP), R9
	MOVQ dh+24(FP), R10
	MOVQ dhn+32(FP), R11
	MOVQ dcn+40(FP), R12
	MOVQ cp+48(FP), R13
	MOVQ h+56(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R14
	MOVQ n+64(FP), CX
	MOVL $0x3f800000, AX
	MOVL AX, X15
	VBROADCASTSS X15, Y15 // 1.0

loop:
	VMOVUPS (SI), Y0         // i
	VMOVUPS (SI)(R8*1), Y1   // f
	VMOVUPS (SI)(R8*2), Y2   // g
	VMOVUPS (SI)(R14*1), Y3  // o
	VMOVUPS (R10), Y4
	VADDPS  (R11), Y4, Y4    // d = dh + dhn
	VMOVUPS (R9), Y5         // tc
	VMULPS  Y3, Y4, Y6       // d*o
	VMULPS  Y5, Y5, Y7       // tc*tc
	VSUBPS  Y7, Y15, Y7      // 1 - tc*tc
	VMULPS  Y7, Y6, Y6       // d*o*(1 - tc*tc)
	VADDPS  (R12), Y6, Y6    // dc = dcn + ...

	VMULPS  Y2, Y6, Y7       // dc*g
	VMULPS  Y0, Y7, Y7       // *i
	VSUBPS  Y0, Y15, Y8      // 1 - i
	VMULPS  Y8, Y7, Y7
	VMOVUPS Y7, (DI)

	VMULPS  (R13), Y6, Y7    // dc*c0
	VMULPS  Y1, Y7, Y7       // *f
	VSUBPS  Y1, Y15, Y8      // 1 - f
	VMULPS  Y8, Y7, Y7
	VMOVUPS Y7, (DI)(R8*1)

	VMULPS  Y0, Y6, Y7       // dc*i
	VMULPS  Y2, Y2, Y8       // g*g
	VSUBPS  Y8, Y15, Y8      // 1 - g*g
	VMULPS  Y8, Y7, Y7
	VMOVUPS Y7, (DI)(R8*2)

	VMULPS  Y5, Y4, Y7       // d*tc
	VMULPS  Y3, Y7, Y7       // *o
	VSUBPS  Y3, Y15, Y8      // 1 - o
	VMULPS  Y8, Y7, Y7
	VMOVUPS Y7, (DI)(R14*1)

	VMULPS  Y1, Y6, Y7       // dcn = dc*f
	VMOVUPS Y7, (R12)

	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $32, R13
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET

// func addAVX2(dst, src *float32, n int)
//
// dst[i] += src[i] for n values, n a multiple of 8.
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

addloop:
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  addloop
	VZEROUPPER
	RET
