package sgemm

import "golang.org/x/sys/cpu"

// hasAsm is whether this CPU can run the AVX2/FMA kernel, and useAsm
// whether it does: tests run both kernels on one machine.
var (
	hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	useAsm = hasAsm
)

// kernel1x16 to kernel6x16 are kernelGo for 1 to 6 rows in AVX2/FMA
// assembly (kernel_amd64.s), with the same arguments as pointers to their
// first values.
//
//go:noescape
func kernel1x16(k int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc int, alpha float32)

//go:noescape
func kernel2x16(k int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc int, alpha float32)

//go:noescape
func kernel3x16(k int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc int, alpha float32)

//go:noescape
func kernel4x16(k int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc int, alpha float32)

//go:noescape
func kernel5x16(k int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc int, alpha float32)

//go:noescape
func kernel6x16(k int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc int, alpha float32)

// kernel adds alpha times the product of rows (1..mr) rows of op(A) and
// nr columns of op(B), over k steps, to C.
func kernel(rows, k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc int, alpha float32) {
	if !useAsm || k == 0 {
		portable(rows, k, a, aRow, aStep, b, bStep, c, ldc, alpha)
		return
	}
	// The bounds the assembly relies on, checked once per tile.
	_, _, _ = a[(rows-1)*aRow+(k-1)*aStep], b[(k-1)*bStep+nr-1], c[(rows-1)*ldc+nr-1]
	pa, pb, pc := &a[0], &b[0], &c[0]
	switch rows {
	case 6:
		kernel6x16(k, pa, aRow, aStep, pb, bStep, pc, ldc, alpha)
	case 5:
		kernel5x16(k, pa, aRow, aStep, pb, bStep, pc, ldc, alpha)
	case 4:
		kernel4x16(k, pa, aRow, aStep, pb, bStep, pc, ldc, alpha)
	case 3:
		kernel3x16(k, pa, aRow, aStep, pb, bStep, pc, ldc, alpha)
	case 2:
		kernel2x16(k, pa, aRow, aStep, pb, bStep, pc, ldc, alpha)
	case 1:
		kernel1x16(k, pa, aRow, aStep, pb, bStep, pc, ldc, alpha)
	default:
		panic("sgemm: a tile has 1 to 6 rows")
	}
}

// Kernel names the micro-kernel in use, for benchmark reports.
func Kernel() string {
	if useAsm {
		return "avx2-fma"
	}
	return portableName()
}
