// Package sgemm multiplies float32 matrices: C = alpha·op(A)·op(B) + beta·C
// on row-major slices, the one product the neural-network layers need.
//
// The work is blocked as in BLIS: panels of op(B) (16 columns wide) and of
// op(A) (6 rows high) are packed into contiguous buffers, and a 6×16
// micro-kernel accumulates one tile of C over a block of at most kc steps
// of the inner dimension. On amd64 CPUs with AVX2 and FMA the micro-kernel
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
	kc = 256 // inner-dimension block: a packed B panel of kc×nr stays in L1
	mc = 96  // rows of op(A) packed at once (16 panels, 96 KiB at kc)
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
	scale(c, beta)
	if m == 0 || n == 0 || k == 0 || alpha == 0 {
		return
	}
	buf := scratch.Get().(*buffers)
	defer scratch.Put(buf)
	buf.packed.Pack(transB, n, k, b)
	gemmPacked(buf, transA, m, alpha, a, &buf.packed, c)
}

// PackedB is op(B) packed for the micro-kernel, for a caller that
// multiplies by the same B many times (the LSTM's recurrent weights, once
// per time step). A product through it has the same bits as through Gemm.
type PackedB struct {
	n, k int
	data []float32
}

// Pack packs op(B), which is k×n (B stored n×k when trans), reusing p's
// memory.
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
	scale(c, beta)
	if m == 0 || n == 0 || k == 0 || alpha == 0 {
		return
	}
	buf := scratch.Get().(*buffers)
	defer scratch.Put(buf)
	gemmPacked(buf, transA, m, alpha, a, p, c)
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

func gemmPacked(buf *buffers, transA bool, m int, alpha float32, a []float32, p *PackedB, c []float32) {
	n, k := p.n, p.k
	off := 0
	for jc := 0; jc < n; jc += nc {
		nb := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kb := min(kc, k-pc)
			sz := roundUp(nb, nr) * kb
			pb := p.data[off : off+sz]
			off += sz
			for ic := 0; ic < m; ic += mc {
				ib := min(mc, m-ic)
				pa := buf.a(roundUp(ib, mr) * kb)
				packA(pa, transA, a, m, k, ic, ib, pc, kb)
				macro(pa, pb, ib, nb, kb, alpha, c[ic*n+jc:], n)
			}
		}
	}
}

// macro runs the micro-kernel over every tile of an ib×nb block of C whose
// op(A) and op(B) parts are packed in pa and pb.
func macro(pa, pb []float32, ib, nb, kb int, alpha float32, c []float32, ldc int) {
	var edge [mr * nr]float32
	for jr := 0; jr < nb; jr += nr {
		bp := pb[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		for ir := 0; ir < ib; ir += mr {
			ap := pa[ir*kb : (ir+mr)*kb]
			rows := min(mr, ib-ir)
			if rows == mr && cols == nr {
				kernel(kb, ap, bp, c[ir*ldc+jr:], ldc, alpha)
				continue
			}
			// A partial tile runs through a full one: same operations, the
			// padding's lanes discarded.
			clear(edge[:])
			for i := range rows {
				copy(edge[i*nr:i*nr+cols], c[(ir+i)*ldc+jr:(ir+i)*ldc+jr+cols])
			}
			kernel(kb, ap, bp, edge[:], nr, alpha)
			for i := range rows {
				copy(c[(ir+i)*ldc+jr:(ir+i)*ldc+jr+cols], edge[i*nr:i*nr+cols])
			}
		}
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

// packA copies op(A)[ic:ic+ib, pc:pc+kb] into panels of mr rows, each kb
// columns of mr values, zero-padding the last panel.
func packA(dst []float32, trans bool, a []float32, m, k, ic, ib, pc, kb int) {
	for ir := 0; ir < ib; ir += mr {
		panel := dst[ir*kb : (ir+mr)*kb]
		rows := min(mr, ib-ir)
		if trans { // A is k×m: a column of the panel is contiguous
			for p := range kb {
				col := a[(pc+p)*m+ic+ir:]
				d := panel[p*mr : (p+1)*mr]
				copy(d, col[:rows])
				clear(d[rows:])
			}
			continue
		}
		if rows < mr {
			clear(panel)
		}
		for i := range rows {
			row := a[(ic+ir+i)*k+pc:]
			for p := range kb {
				panel[p*mr+i] = row[p]
			}
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

type buffers struct {
	pa     []float32
	packed PackedB
}

func (s *buffers) a(n int) []float32 {
	if cap(s.pa) < n {
		s.pa = make([]float32, n)
	}
	return s.pa[:n]
}

// scratch holds packing buffers: the LSTM calls Gemm once per time step,
// and allocating 100 KiB each time would dominate the small products.
var scratch = sync.Pool{New: func() any { return new(buffers) }}
