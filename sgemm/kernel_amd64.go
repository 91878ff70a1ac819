package sgemm

import "golang.org/x/sys/cpu"

// useAsm is whether the AVX2/FMA kernel runs. A variable so that tests can
// run both kernels on one machine.
var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// kernel6x16 is kernelGo in AVX2/FMA assembly (kernel_amd64.s). a holds
// k×6 and b k×16 values; c is the tile's first entry, rows ldc apart.
//
//go:noescape
func kernel6x16(k int, a, b, c *float32, ldc int, alpha float32)

func kernel(k int, a, b, c []float32, ldc int, alpha float32) {
	if !useAsm || k == 0 {
		kernelGo(k, a, b, c, ldc, alpha)
		return
	}
	// The bounds the assembly relies on, checked once per tile.
	_, _, _ = a[k*mr-1], b[k*nr-1], c[(mr-1)*ldc+nr-1]
	kernel6x16(k, &a[0], &b[0], &c[0], ldc, alpha)
}

// Kernel names the micro-kernel in use, for benchmark reports.
func Kernel() string {
	if useAsm {
		return "avx2-fma"
	}
	return "go"
}
