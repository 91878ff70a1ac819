package nn

import "golang.org/x/sys/cpu"

// useAVX2 is whether the vector activations run; a variable so that tests
// compare both paths on one machine.
var (
	hasAVX2 = cpu.X86.HasAVX2
	useAVX2 = hasAVX2
)

// actK are the constants the assembly broadcasts, as float32s rounded
// exactly as exp32, sigmoid32 and tanh32 round them (actKernelConsts).
var actK = actKernelConsts()

// sigmoidAVX2 and tanhAVX2 (activation_amd64.s) compute sigmoid32 and
// tanh32 of n values, n a multiple of 8, eight lanes at a time, with the
// same float32 operations in the same order, so bit for bit the same.
//
//go:noescape
func sigmoidAVX2(dst, src *float32, n int, k *[actKLen]float32, c *[6]float32)

//go:noescape
func tanhAVX2(dst, src *float32, n int, k *[actKLen]float32, c *[6]float32)

func sigmoidVec(dst, src []float32) int {
	n := len(src) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	sigmoidAVX2(&dst[0], &src[0], n, &actK, &expC)
	return n
}

func tanhVec(dst, src []float32) int {
	n := len(src) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	tanhAVX2(&dst[0], &src[0], n, &actK, &expC)
	return n
}
