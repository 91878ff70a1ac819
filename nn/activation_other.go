//go:build !amd64

package nn

var hasAVX2, useAVX2 = false, false

func sigmoidVec(dst, src []float32) int { return 0 }
func tanhVec(dst, src []float32) int    { return 0 }
