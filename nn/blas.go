package nn

import "github.com/reckon-ml/reckon/sgemm"

// gemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, where
// op(A) is m×k and op(B) is k×n. Shapes are the caller's contract; sgemm
// panics on a mismatch. sgemm gives the same bits on every CPU, so a model
// trained with a seed is the same model everywhere.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, b []float32, beta float32, c []float32) {
	sgemm.Gemm(transA, transB, m, n, k, alpha, a, b, beta, c)
}

// addColSums adds the column sums of the r×c matrix a to dst (len c).
func addColSums(dst, a []float32, r, c int) {
	for i := range r {
		row := a[i*c : (i+1)*c]
		for j := addVec(dst[:c], row); j < c; j++ {
			dst[j] += row[j]
		}
	}
}
