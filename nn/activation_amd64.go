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

//go:noescape
func lstmBackAVX2(gates, dp, tc, dh, dhn, dcn, cp *float32, h, n int)

//go:noescape
func addAVX2(dst, src *float32, n int)

// lstmBackVec runs the first multiple of 8 of the H units of an LSTM
// backward step (see LSTM.backward) and returns how many it did.
func lstmBackVec(g, dp, tc, dh, dhn, dcn, cp []float32, H int) int {
	n := H &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	_, _, _, _, _, _, _ = g[4*H-1], dp[4*H-1], tc[n-1], dh[n-1], dhn[n-1], dcn[n-1], cp[n-1]
	lstmBackAVX2(&g[0], &dp[0], &tc[0], &dh[0], &dhn[0], &dcn[0], &cp[0], H, n)
	return n
}

// addVec adds the first multiple of 8 of src to dst and returns how many.
func addVec(dst, src []float32) int {
	n := len(src) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	_ = dst[n-1]
	addAVX2(&dst[0], &src[0], n)
	return n
}
