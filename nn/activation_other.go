//go:build !amd64

package nn

var hasAVX2, useAVX2 = false, false

func sigmoidVec(dst, src []float32) int { return 0 }
func tanhVec(dst, src []float32) int    { return 0 }

func lstmBackVec(g, dp, tc, dh, dhn, dcn, cp []float32, H int) int { return 0 }
func addVec(dst, src []float32) int                                { return 0 }
