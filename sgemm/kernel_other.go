//go:build !amd64

package sgemm

var useAsm = false

func kernel(k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc int, alpha float32) {
	kernelGo(k, a, aRow, aStep, b, bStep, c, ldc, alpha)
}

// Kernel names the micro-kernel in use, for benchmark reports.
func Kernel() string { return "go" }
