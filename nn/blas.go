package nn

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

// gemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, where
// op(A) is m×k and op(B) is k×n. Shapes are the caller's contract; gonum
// panics on a mismatch.
func gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, b []float32, beta float32, c []float32) {
	ta, tb := blas.NoTrans, blas.NoTrans
	ar, ac := m, k
	if transA {
		ta, ar, ac = blas.Trans, k, m
	}
	br, bc := k, n
	if transB {
		tb, br, bc = blas.Trans, n, k
	}
	blas32.Gemm(ta, tb, alpha,
		blas32.General{Rows: ar, Cols: ac, Stride: ac, Data: a},
		blas32.General{Rows: br, Cols: bc, Stride: bc, Data: b},
		beta,
		blas32.General{Rows: m, Cols: n, Stride: n, Data: c})
}

// addColSums adds the column sums of the r×c matrix a to dst (len c).
func addColSums(dst, a []float32, r, c int) {
	for i := range r {
		row := a[i*c : (i+1)*c]
		for j, v := range row {
			dst[j] += v
		}
	}
}
