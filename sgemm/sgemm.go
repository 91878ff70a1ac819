// Package sgemm multiplies float32 matrices: C = alpha·op(A)·op(B) + beta·C
// on row-major slices, the one product the neural-network layers need.
//
// The work is blocked as in BLIS: a 6×16 micro-kernel accumulates one tile
// of C over a block of at most kc steps of the inner dimension. It reads
// op(A) in place through two strides, whichever way A is stored, and op(B)
// in place when a row of op(B) is contiguous (B not transposed); a
// transposed B, and the last panel of B when it is narrower than a tile,
// are packed into contiguous panels first. On amd64 CPUs with AVX2 and FMA the micro-kernel
// is assembly; elsewhere it is Go.
//
// Both kernels perform the same operations in the same order, each a fused
// multiply-add rounded once to float32 (the Go kernel emulates the fused
// operation exactly), so a product, and so a trained model, has the same
// bits on every CPU. Blocking depends only on the shapes, never on the CPU
// or the thread count.
package sgemm

import (
	"fmt"
	"sync"
)

const (
	mr = 6   // micro-tile rows
	nr = 16  // micro-tile columns (two 8-lane vectors)
	kc = 256 // inner-dimension block: a B panel of kc×nr stays in L1
	mc = 96  // rows of op(A) swept per B panel (96 KiB at kc, in L2)
	nc = 1024
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C, where op(A) is m×k, op(B)
// is k×n and C is m×n, all row-major with no padding. op(A) is A, stored
// m×k, or with transA its transpose, A stored k×m; likewise for B. Shapes
// are the caller's contract: a slice too short for them panics.
//
// beta = 0 overwrites C (NaNs in C do not propagate), as BLAS does.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("sgemm: negative shape m=%d n=%d k=%d", m, n, k))
	}
	if len(a) < m*k || len(b) < k*n || len(c) < m*n {
		panic(fmt.Sprintf("sgemm: slices of %d, %d, %d values are too short for m=%d n=%d k=%d", len(a), len(b), len(c), m, n, k))
	}
	c = c[:m*n]
	if !begin(c, m, n, k, alpha, beta) {
		return
	}
	buf := scratch.Get().(*buffers)
	defer scratch.Put(buf)
	if transB {
		buf.packed.Pack(true, n, k, b)
		run(buf, transA, m, n, k, alpha, a, &buf.packed, nil, c)
		return
	}
	run(buf, transA, m, n, k, alpha, a, nil, b, c)
}

// PackedB is op(B) packed for the micro-kernel, for a caller that
// multiplies by the same B many times (the LSTM's recurrent weights, once
// per time step). A product through it has the same bits as through Gemm.
type PackedB struct {
	n, k int
	data []float32
}

// Pack packs op(B), which is k×n (B stored n×k when trans), reusing p's
// memory. The layout is one block per (nc, kc) block of op(B), in order,
// each of panels nr columns wide and kb rows long.
func (p *PackedB) Pack(trans bool, n, k int, b []float32) {
	if n < 0 || k < 0 || len(b) < k*n {
		panic(fmt.Sprintf("sgemm: %d values cannot be packed as a %d×%d matrix", len(b), k, n))
	}
	p.n, p.k = n, k
	size := roundUp(n, nr) * k
	if cap(p.data) < size {
		p.data = make([]float32, size)
	}
	p.data = p.data[:size]
	off := 0
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			sz := roundUp(nb, nr) * kb
			packB(p.data[off:off+sz], trans, b, n, k, pc, kb, jc, nb)
			off += sz
		}
	}
}

// Mul computes C = alpha·op(A)·op(B) + beta·C with op(B) from p, as Gemm
// does; op(A) is m×k.
func (p *PackedB) Mul(transA bool, m int, alpha float32, a []float32, beta float32, c []float32) {
	n, k := p.n, p.k
	if m < 0 || len(a) < m*k || len(c) < m*n {
		panic(fmt.Sprintf("sgemm: slices of %d and %d values are too short for m=%d n=%d k=%d", len(a), len(c), m, n, k))
	}
	c = c[:m*n]
	if !begin(c, m, n, k, alpha, beta) {
		return
	}
	buf := scratch.Get().(*buffers)
	defer scratch.Put(buf)
	run(buf, transA, m, n, k, alpha, a, p, nil, c)
}

// begin sets C = beta·C and reports whether a product is left to add.
func begin(c []float32, m, n, k int, alpha, beta float32) bool {
	scale(c, beta)
	return m > 0 && n > 0 && k > 0 && alpha != 0
}

// scale sets C = beta·C, with beta = 0 clearing C as BLAS does.
func scale(c []float32, beta float32) {
	switch beta {
	case 1:
	case 0:
		clear(c)
	default:
		for i := range c {
			c[i] *= beta
		}
	}
}

// run adds alpha·op(A)·op(B) to C, op(B) from pb when packed, else from the
// k×n matrix b read in place. The order of the blocks, and so of every
// entry's additions, depends only on m, n and k.
func run(buf *buffers, transA bool, m, n, k int, alpha float32, a []float32, pb *PackedB, b []float32, c []float32) {
	// op(A)[i][p] is a[i*aRow + p*aStep].
	aRow, aStep := k, 1
	if transA {
		aRow, aStep = 1, m
	}
	off := 0
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			var block []float32
			if pb != nil {
				sz := roundUp(nb, nr) * kb
				block = pb.data[off : off+sz]
				off += sz
			}
			// A partial last panel of an unpacked B is packed, zero-padded.
			lastCols := nb % nr
			if pb == nil && lastCols != 0 {
				packB(buf.b(nr*kb), false, b, n, k, pc, kb, jc+nb-lastCols, lastCols)
			}
			for i0 := 0; i0 < m; i0 += mc {
				for jr := 0; jr < nb; jr += nr {
					cols := min(nr, nb-jr)
					// This B panel: kb rows of nr values, bStep apart.
					var bp []float32
					bStep := nr
					switch {
					case pb != nil:
						bp = block[jr*kb : (jr+nr)*kb]
					case cols == nr:
						bp, bStep = b[pc*n+jc+jr:], n
					default:
						bp = buf.pb[:nr*kb]
					}
					for ic := i0; ic < min(m, i0+mc); ic += mr {
						rows := min(mr, m-ic)
						at, ct := a[ic*aRow+pc*aStep:], c[ic*n+jc+jr:]
						if cols == nr {
							kernel(rows, kb, at, aRow, aStep, bp, bStep, ct, n, alpha)
							continue
						}
						edge(kb, rows, cols, at, aRow, aStep, bp, bStep, ct, n, alpha)
					}
				}
			}
		}
	}
}

// edge runs a tile with fewer than nr columns through a full one: C's
// columns land in a scratch tile whose missing columns are discarded, so
// every entry that exists sees the same operations as in a full tile.
func edge(kb, rows, cols int, a []float32, aRow, aStep int, bp []float32, bStep int, c []float32, ldc int, alpha float32) {
	var tile [mr * nr]float32
	for i := range rows {
		copy(tile[i*nr:i*nr+cols], c[i*ldc:i*ldc+cols])
	}
	kernel(rows, kb, a, aRow, aStep, bp, bStep, tile[:], nr, alpha)
	for i := range rows {
		copy(c[i*ldc:i*ldc+cols], tile[i*nr:i*nr+cols])
	}
}

// packB copies op(B)[pc:pc+kb, jc:jc+nb] into panels of nr columns, each
// kb rows of nr values, zero-padding the last panel.
func packB(dst []float32, trans bool, b []float32, n, k, pc, kb, jc, nb int) {
	for jr := 0; jr < nb; jr += nr {
		panel := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		if !trans { // B is k×n: a row of the panel is contiguous
			for p := range kb {
				row := b[(pc+p)*n+jc+jr:]
				d := panel[p*nr : (p+1)*nr]
				copy(d, row[:cols])
				clear(d[cols:])
			}
			continue
		}
		// B is n×k: op(B)[p][j] = B[j][p].
		if cols < nr {
			clear(panel)
		}
		for j := range cols {
			col := b[(jc+jr+j)*k+pc:]
			for p := range kb {
				panel[p*nr+j] = col[p]
			}
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

type buffers struct {
	pb     []float32
	packed PackedB
}

func (s *buffers) b(n int) []float32 {
	if cap(s.pb) < n {
		s.pb = make([]float32, n)
	}
	return s.pb[:n]
}

// scratch holds packing buffers: the LSTM calls Gemm once per time step,
// and allocating them each time would dominate the small products.
var scratch = sync.Pool{New: func() any { return new(buffers) }}

// UsePortable makes every product run the Go kernel (on) or the fastest
// kernel the CPU has (off), and reports whether the Go kernel was in use.
// The results are the same bits either way; this exists so tests, and a
// user doubting it, can check that on one machine. Not safe to call while
// products run.
func UsePortable(on bool) (was bool) {
	was = !useAsm
	useAsm = !on && hasAsm
	return was
}
