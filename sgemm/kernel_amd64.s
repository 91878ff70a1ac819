#include "textflag.h"

// func kernelRx16(k int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc int, alpha float32)
//
// One kernel per row count R = 1..6 of the tile (the LSTM's per-step
// products have batches of 4 or 8 rows, so short tiles are common).
// Y0..Y11 hold the R×16 accumulators, row i in Y(2i) (columns 0-7) and
// Y(2i+1) (columns 8-15). Step p loads 16 values of B at b + p*bStep into
// Y12, Y13 and broadcasts op(A)[i][p] from a + i*aRow + p*aStep, rows 0-2
// from SI and rows 3-5 from R15 = SI + 3*aRow. Strides arrive in
// elements. Every lane does acc = fma(a, b, acc), then c = fma(alpha, acc,
// c), as kernelGo does.

// ARGS loads the arguments, strides turned into bytes.
#define ARGS \
	MOVQ k+0(FP), CX; \
	MOVQ a+8(FP), SI; \
	MOVQ aRow+16(FP), R13; \
	SHLQ $2, R13; \
	MOVQ aStep+24(FP), R11; \
	SHLQ $2, R11; \
	MOVQ b+32(FP), DI; \
	MOVQ bStep+40(FP), R12; \
	SHLQ $2, R12; \
	MOVQ c+48(FP), DX; \
	MOVQ ldc+56(FP), R8; \
	SHLQ $2, R8; \
	LEAQ (R13)(R13*2), R14; \
	LEAQ (SI)(R14*1), R15

// LOADB loads this step's row of B.
#define LOADB \
	VMOVUPS (DI), Y12; \
	VMOVUPS 32(DI), Y13

// FMA adds op(A)[i][p], broadcast from addr into t, times B's row to the
// row's accumulators lo and hi.
#define FMA(addr, t, lo, hi) \
	VBROADCASTSS addr, t; \
	VFMADD231PS Y12, t, lo; \
	VFMADD231PS Y13, t, hi

// NEXT moves to the next step and loops to label while steps remain.
#define NEXT(label) \
	ADDQ R11, SI; \
	ADDQ R11, R15; \
	ADDQ R12, DI; \
	DECQ CX; \
	JNZ label

// STORE does c = fma(alpha, acc, c) for the row of C at DX (alpha in Y14).
#define STORE(lo, hi) \
	VMOVUPS (DX), Y12; \
	VMOVUPS 32(DX), Y13; \
	VFMADD231PS lo, Y14, Y12; \
	VFMADD231PS hi, Y14, Y13; \
	VMOVUPS Y12, (DX); \
	VMOVUPS Y13, 32(DX)

TEXT ·kernel6x16(SB), NOSPLIT, $0-68
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loop6:
	LOADB
	FMA((SI), Y14, Y0, Y1)
	FMA((SI)(R13*1), Y15, Y2, Y3)
	FMA((SI)(R13*2), Y14, Y4, Y5)
	FMA((R15), Y15, Y6, Y7)
	FMA((R15)(R13*1), Y14, Y8, Y9)
	FMA((R15)(R13*2), Y15, Y10, Y11)
	NEXT(loop6)

	VBROADCASTSS alpha+64(FP), Y14
	STORE(Y0, Y1)
	ADDQ R8, DX
	STORE(Y2, Y3)
	ADDQ R8, DX
	STORE(Y4, Y5)
	ADDQ R8, DX
	STORE(Y6, Y7)
	ADDQ R8, DX
	STORE(Y8, Y9)
	ADDQ R8, DX
	STORE(Y10, Y11)
	VZEROUPPER
	RET

TEXT ·kernel5x16(SB), NOSPLIT, $0-68
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9

loop5:
	LOADB
	FMA((SI), Y14, Y0, Y1)
	FMA((SI)(R13*1), Y15, Y2, Y3)
	FMA((SI)(R13*2), Y14, Y4, Y5)
	FMA((R15), Y15, Y6, Y7)
	FMA((R15)(R13*1), Y14, Y8, Y9)
	NEXT(loop5)

	VBROADCASTSS alpha+64(FP), Y14
	STORE(Y0, Y1)
	ADDQ R8, DX
	STORE(Y2, Y3)
	ADDQ R8, DX
	STORE(Y4, Y5)
	ADDQ R8, DX
	STORE(Y6, Y7)
	ADDQ R8, DX
	STORE(Y8, Y9)
	VZEROUPPER
	RET

TEXT ·kernel4x16(SB), NOSPLIT, $0-68
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

loop4:
	LOADB
	FMA((SI), Y14, Y0, Y1)
	FMA((SI)(R13*1), Y15, Y2, Y3)
	FMA((SI)(R13*2), Y14, Y4, Y5)
	FMA((R15), Y15, Y6, Y7)
	NEXT(loop4)

	VBROADCASTSS alpha+64(FP), Y14
	STORE(Y0, Y1)
	ADDQ R8, DX
	STORE(Y2, Y3)
	ADDQ R8, DX
	STORE(Y4, Y5)
	ADDQ R8, DX
	STORE(Y6, Y7)
	VZEROUPPER
	RET

TEXT ·kernel3x16(SB), NOSPLIT, $0-68
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5

loop3:
	LOADB
	FMA((SI), Y14, Y0, Y1)
	FMA((SI)(R13*1), Y15, Y2, Y3)
	FMA((SI)(R13*2), Y14, Y4, Y5)
	NEXT(loop3)

	VBROADCASTSS alpha+64(FP), Y14
	STORE(Y0, Y1)
	ADDQ R8, DX
	STORE(Y2, Y3)
	ADDQ R8, DX
	STORE(Y4, Y5)
	VZEROUPPER
	RET

TEXT ·kernel2x16(SB), NOSPLIT, $0-68
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop2:
	LOADB
	FMA((SI), Y14, Y0, Y1)
	FMA((SI)(R13*1), Y15, Y2, Y3)
	NEXT(loop2)

	VBROADCASTSS alpha+64(FP), Y14
	STORE(Y0, Y1)
	ADDQ R8, DX
	STORE(Y2, Y3)
	VZEROUPPER
	RET

TEXT ·kernel1x16(SB), NOSPLIT, $0-68
	ARGS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

loop1:
	LOADB
	FMA((SI), Y14, Y0, Y1)
	NEXT(loop1)

	VBROADCASTSS alpha+64(FP), Y14
	STORE(Y0, Y1)
	VZEROUPPER
	RET
