//go:build !amd64

package sgemm

var useAsm = false

func kernel(k int, a, b, c []float32, ldc int, alpha float32) {
	kernelGo(k, a, b, c, ldc, alpha)
}

// Kernel names the micro-kernel in use, for benchmark reports.
func Kernel() string { return "go" }
