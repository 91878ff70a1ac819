//go:build !amd64

package sgemm

var hasAsm, useAsm = false, false

func kernel(rows, k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc int, alpha float32) {
	portable(rows, k, a, aRow, aStep, b, bStep, c, ldc, alpha)
}

// Kernel names the micro-kernel in use, for benchmark reports.
func Kernel() string { return portableName() }
