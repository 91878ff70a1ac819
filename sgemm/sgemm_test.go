package sgemm

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactFMA is x*y+z computed exactly with math/big and rounded once to the
// nearest float32 (ties to even): the independent reference for fma32.
func exactFMA(x, y, z float32) float32 {
	const prec = 1200 // enough for any exact sum of float32 products
	p := new(big.Float).SetPrec(prec).SetFloat64(float64(x))
	p.Mul(p, new(big.Float).SetPrec(prec).SetFloat64(float64(y)))
	p.Add(p, new(big.Float).SetPrec(prec).SetFloat64(float64(z)))
	f, _ := p.Float32()
	return f
}

func TestFMA32MatchesExactRounding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := [][3]float32{
		// x*y = 2^-24 - 9*2^-70, so the exact sum lies just below the tie
		// 1 + 2^-23 + 2^-24 and rounds down; the sum rounded to float64 is
		// the tie itself, which rounds to even, up. A float64 sum fails here.
		{2 - 3*0x1p-22, (1 + 3*0x1p-23) * 0x1p-25, 1 + 0x1p-23},
		{-(2 - 3*0x1p-22), (1 + 3*0x1p-23) * 0x1p-25, -(1 + 0x1p-23)},
		{1 + 0x1p-23, 1 + 0x1p-23, -1},
		{0x1p-75, 0x1p-75, 0},                      // underflow to a subnormal
		{0x1p-70, 0x1p-70, 0x1p-149},               // tiny plus the smallest subnormal
		{3e38, 3e38, 0},                            // overflow
		{float32(math.Inf(1)), 1, 1},               // infinity
		{float32(math.Inf(1)), 0, 1},               // NaN
		{float32(math.Copysign(0, -1)), 1, 0},      // signed zero
		{1 + 0x1p-23, -(1 - 0x1p-24), 1 - 0x1p-23}, // cancellation
	}
	for range 200000 {
		x := math.Float32frombits(r.Uint32())
		y := math.Float32frombits(r.Uint32())
		z := math.Float32frombits(r.Uint32())
		cases = append(cases, [3]float32{x, y, z})
		// Near-ties: z close to -x*y so that the low bits decide.
		m := (1 + float32(r.IntN(1<<12))*0x1p-23)
		cases = append(cases, [3]float32{m, 1 + float32(r.IntN(1<<12))*0x1p-23, -float32(r.IntN(4)) * 0.5})
	}
	for _, c := range cases {
		got := fma32(c[0], c[1], c[2])
		if c[0] != c[0] || c[1] != c[1] || c[2] != c[2] || math.IsInf(float64(c[0]), 0) || math.IsInf(float64(c[1]), 0) || math.IsInf(float64(c[2]), 0) {
			continue // checked below against the float64 FMA, whose special values agree
		}
		want := exactFMA(c[0], c[1], c[2])
		if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
			t.Fatalf("fma32(%g, %g, %g) = %g (%#x), exact rounding gives %g (%#x)", c[0], c[1], c[2], got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	if got := fma32(float32(math.Inf(1)), 0, 1); got == got {
		t.Errorf("inf*0+1 = %g, want NaN", got)
	}
	if got := fma32(float32(math.Inf(1)), 2, 1); !math.IsInf(float64(got), 1) {
		t.Errorf("inf*2+1 = %g, want +Inf", got)
	}
}

// naive is C = alpha·op(A)·op(B) + beta·C in float64, the reference.
func naive(transA, transB bool, m, n, k int, alpha float32, a, b []float32, beta float32, c []float32) []float64 {
	out := make([]float64, m*n)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				av := a[i*k+p]
				if transA {
					av = a[p*m+i]
				}
				bv := b[p*n+j]
				if transB {
					bv = b[j*k+p]
				}
				s += float64(av) * float64(bv)
			}
			cv := 0.0
			if beta != 0 {
				cv = float64(beta) * float64(c[i*n+j])
			}
			out[i*n+j] = float64(alpha)*s + cv
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// shapes covers full and partial tiles, several kc blocks, several mc
// blocks and more than one nc block, and the LSTM's own products.
var shapes = [][3]int{
	{1, 1, 1}, {6, 16, 1}, {5, 15, 3}, {7, 17, 2}, {13, 33, 257}, {100, 40, 300},
	{97, 1030, 5}, {32, 256, 64}, {16, 64, 256}, {64, 256, 95}, {12, 256, 130}, {3, 2, 600},
}

func TestGemmMatchesFloat64Reference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {-0.5, 2}} {
					a, b, c := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
					want := naive(ta, tb, m, n, k, ab[0], a, b, ab[1], c)
					Gemm(ta, tb, m, n, k, ab[0], a, b, ab[1], c)
					for i, w := range want {
						// float32 accumulation over k terms of unit size.
						tol := 1e-5 * math.Sqrt(float64(k)) * (1 + math.Abs(w))
						if d := math.Abs(float64(c[i]) - w); d > tol {
							t.Fatalf("m=%d n=%d k=%d transA=%v transB=%v alpha=%g beta=%g: c[%d] = %g, want %g", m, n, k, ta, tb, ab[0], ab[1], i, c[i], w)
						}
					}
				}
			}
		}
	}
}

func TestBetaZeroOverwritesNaN(t *testing.T) {
	c := []float32{float32(math.NaN()), float32(math.NaN())}
	Gemm(false, false, 1, 2, 1, 1, []float32{2}, []float32{3, 4}, 0, c)
	if c[0] != 6 || c[1] != 8 {
		t.Fatalf("got %v, want [6 8]", c)
	}
}

func TestShortSlicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a short slice")
		}
	}()
	Gemm(false, false, 2, 2, 2, 1, make([]float32, 3), make([]float32, 4), 0, make([]float32, 4))
}

// TestKernelsAgreeBitForBit runs every shape through the assembly kernel
// and the Go kernel and wants identical bits: a model trained on one CPU
// must be the model trained on another.
func TestKernelsAgreeBitForBit(t *testing.T) {
	if !useAsm {
		t.Skip("this CPU runs the Go kernel only")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			a, b, c0 := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
			c1 := append([]float32(nil), c0...)
			Gemm(tr[0], tr[1], m, n, k, 0.7, a, b, 1, c0)
			useAsm = false
			Gemm(tr[0], tr[1], m, n, k, 0.7, a, b, 1, c1)
			useAsm = true
			for i := range c0 {
				if math.Float32bits(c0[i]) != math.Float32bits(c1[i]) {
					t.Fatalf("m=%d n=%d k=%d trans=%v: entry %d is %g in assembly, %g in Go", m, n, k, tr, i, c0[i], c1[i])
				}
			}
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	// The 2-layer, hidden-64 LSTM's products at batch 32 and T=120.
	for _, bc := range []struct {
		name    string
		ta, tb  bool
		m, n, k int
	}{
		{"step_32x256x64", false, false, 32, 256, 64},
		{"inputs_3840x256x64", false, false, 3840, 256, 64},
		{"dh_32x64x256_tB", false, true, 32, 64, 256},
		{"wgrad_64x256x3808_tA", true, false, 64, 256, 3808},
		{"dx_3840x64x256_tB", false, true, 3840, 64, 256},
	} {
		for _, asm := range []bool{true, false} {
			if asm && !useAsm {
				continue
			}
			b.Run(fmt.Sprintf("%s/%s", bc.name, map[bool]string{true: "avx2", false: "go"}[asm]), func(b *testing.B) {
				saved := useAsm
				useAsm = asm
				defer func() { useAsm = saved }()
				r := rand.New(rand.NewPCG(1, 1))
				x, y, z := randSlice(r, bc.m*bc.k), randSlice(r, bc.k*bc.n), make([]float32, bc.m*bc.n)
				for b.Loop() {
					Gemm(bc.ta, bc.tb, bc.m, bc.n, bc.k, 1, x, y, 1, z)
				}
				b.ReportMetric(2*float64(bc.m*bc.n*bc.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
			})
		}
	}
}

func TestPackedMatchesGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var p PackedB
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		for _, tr := range [][2]bool{{false, false}, {true, true}} {
			a, b, c0 := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
			c1 := append([]float32(nil), c0...)
			Gemm(tr[0], tr[1], m, n, k, 1.5, a, b, 1, c0)
			p.Pack(tr[1], n, k, b) // reused across shapes on purpose
			p.Mul(tr[0], m, 1.5, a, 1, c1)
			for i := range c0 {
				if math.Float32bits(c0[i]) != math.Float32bits(c1[i]) {
					t.Fatalf("m=%d n=%d k=%d trans=%v: entry %d is %g packed, %g from Gemm", m, n, k, tr, i, c1[i], c0[i])
				}
			}
		}
	}
}

// The Go kernel writes x*y+z only when the compiler fuses it; where it
// does not, the expression must round differently on the probe cases, or
// the probe could not tell.
func TestFusionProbe(t *testing.T) {
	t.Logf("compiler fuses kernelFused's multiply-adds: %v; kernel %s", goFuses, Kernel())
	x, y, z := float32(2-3*0x1p-22), float32((1+3*0x1p-23)*0x1p-25), float32(1+0x1p-23)
	unfused := float32(x*y) + z
	if unfused == fma32(x, y, z) {
		t.Fatal("the probe case rounds the same fused and unfused")
	}
	// Whichever Go kernel runs, it is kernelGo bit for bit.
	r := rand.New(rand.NewPCG(13, 14))
	for _, sh := range shapes {
		m, n, k := sh[0], sh[1], sh[2]
		a, b, c0 := randSlice(r, m*k), randSlice(r, k*n), randSlice(r, m*n)
		c1 := append([]float32(nil), c0...)
		was := UsePortable(true)
		Gemm(false, false, m, n, k, 0.3, a, b, 1, c0)
		saved := goFuses
		goFuses = false
		Gemm(false, false, m, n, k, 0.3, a, b, 1, c1)
		goFuses = saved
		UsePortable(was)
		for i := range c0 {
			if math.Float32bits(c0[i]) != math.Float32bits(c1[i]) {
				t.Fatalf("m=%d n=%d k=%d: entry %d is %g from %s, %g from kernelGo", m, n, k, i, c0[i], portableName(), c1[i])
			}
		}
	}
}
