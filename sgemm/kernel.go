package sgemm

import "math"

// kernelGo is the micro-kernel in Go: for each of the rows×16 entries,
// acc = fma(op(A)[i][p], op(B)[p][j], acc) for p = 0..k-1 from acc = 0,
// then c = fma(alpha, acc, c). op(A)[i][p] is a[i*aRow+p*aStep] and
// op(B)[p][j] is b[p*bStep+j]. The assembly kernel does exactly this, lane
// by lane, so the two agree bit for bit.
func kernelGo(rows, k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc int, alpha float32) {
	var acc [mr * nr]float32
	for p := range k {
		bp := b[p*bStep : p*bStep+nr]
		for i := range rows {
			ai := a[i*aRow+p*aStep]
			row := acc[i*nr : (i+1)*nr]
			for j, bj := range bp {
				row[j] = fma32(ai, bj, row[j])
			}
		}
	}
	for i := range rows {
		crow := c[i*ldc : i*ldc+nr]
		for j := range crow {
			crow[j] = fma32(alpha, acc[i*nr+j], crow[j])
		}
	}
}

// kernelFused is kernelGo with x*y+z written as such. Where the compiler
// emits one fused multiply-add instruction for it (Go does where the
// instruction always exists: arm64, ppc64le, s390x, riscv64, and amd64
// built with GOAMD64=v3, though there only when no load is folded into
// the addition), it is kernelGo's arithmetic at several times the speed.
// goFuses checks that on this very function.
//
//go:noinline
func kernelFused(rows, k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc int, alpha float32) {
	var acc [mr * nr]float32
	for p := range k {
		bp := b[p*bStep : p*bStep+nr]
		for i := range rows {
			ai := a[i*aRow+p*aStep]
			row := acc[i*nr : (i+1)*nr]
			for j, bj := range bp {
				row[j] = ai*bj + row[j]
			}
		}
	}
	for i := range rows {
		crow := c[i*ldc : i*ldc+nr]
		for j := range crow {
			crow[j] = alpha*acc[i*nr+j] + crow[j]
		}
	}
}

// goFuses is whether kernelFused rounds like kernelGo, tried on cases where
// a fused and an unfused multiply-add differ, in both of its expressions.
var goFuses = func() bool {
	x, y, z := float32(2-3*0x1p-22), float32((1+3*0x1p-23)*0x1p-25), float32(1+0x1p-23)
	b := make([]float32, 2*nr)
	b[0], b[nr] = 1, y
	var c [nr]float32
	// Inner: acc = z*1, then x*y + acc.
	kernelFused(1, 2, []float32{z, x}, 1, 1, b, nr, c[:], nr, 1)
	if c[0] != fma32(x, y, z) {
		return false
	}
	// Outer: c = alpha*acc + c with acc = y*1, alpha = x, c = z.
	b[0] = y
	c[0] = z
	kernelFused(1, 1, []float32{1}, 1, 1, b, nr, c[:], nr, x)
	return c[0] == fma32(x, y, z)
}()

// fma32 returns x*y+z rounded once to float32, as the FMA instruction does.
//
// x*y is exact in float64 (24+24 bits of 53). The sum with z is rounded to
// float64 in round-to-odd mode, emulated with TwoSum's exact error; a
// round-to-odd result with at least two bits more than float32 then rounds
// to the nearest float32 exactly as the exact sum would (Boldo and
// Melquiond, "Emulation of FMA and correctly rounded sums", 2008). Rounding
// the float64 sum to nearest instead would round twice and differ in rare
// ties.
func fma32(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	zz := float64(z)
	s := p + zz
	// Rounding twice differs from rounding once only when s lands exactly
	// on a midpoint between two float32s (rounding to float64 is monotonic
	// and keeps every midpoint). Among normal float32s that shows in s's
	// low 29 mantissa bits; subnormals take the slow path.
	if bits := math.Float64bits(s); bits&(1<<29-1) != 1<<28 && math.Abs(s) >= 0x1p-126 || math.IsInf(s, 0) || s != s {
		return float32(s)
	}
	bv := s - p
	err := (p - (s - bv)) + (zz - bv)
	if bits := math.Float64bits(s); err != 0 && bits&1 == 0 {
		// Step one ulp towards the exact value to make the last bit odd.
		if (err > 0) == (s > 0) {
			bits++
		} else {
			bits--
		}
		s = math.Float64frombits(bits)
	}
	return float32(s)
}

// portable is the Go kernel this build runs: kernelFused where the
// compiler fuses its multiply-adds, else kernelGo.
func portable(rows, k int, a []float32, aRow, aStep int, b []float32, bStep int, c []float32, ldc int, alpha float32) {
	if goFuses {
		kernelFused(rows, k, a, aRow, aStep, b, bStep, c, ldc, alpha)
		return
	}
	kernelGo(rows, k, a, aRow, aStep, b, bStep, c, ldc, alpha)
}

func portableName() string {
	if goFuses {
		return "go-fused"
	}
	return "go"
}
