package sgemm

import "golang.org/x/sys/cpu"

// useAsm is whether the AVX2/FMA kernel runs. A variable so that tests can
// run both kernels on one machine.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 is kernelGo in AVX2/FMA assembly (kernel_amd64.s), with
// the same arguments as pointers to their first values.
//
//go:noescape
func kernel6x16(k int, a *float32, aRow, aStep int, b *float32, bStep int, c *float32, ldc int, alpha float32)

func kernel(k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc int, alpha float32) {
	if !useAsm || k == 0 {
		kernelGo(k, a, aRow, aStep, b, bStep, c, ldc, alpha)
		return
	}
	// The bounds the assembly relies on, checked once per tile.
	_, _, _ = a[(mr-1)*aRow+(k-1)*aStep], b[(k-1)*bStep+nr-1], c[(mr-1)*ldc+nr-1]
	kernel6x16(k, &a[0], aRow, aStep, &b[0], bStep, &c[0], ldc, alpha)
}

// Kernel names the micro-kernel in use, for benchmark reports.
func Kernel() string {
	if useAsm {
		return "avx2-fma"
	}
	return "go"
}
