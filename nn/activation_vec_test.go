package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVectorActivationsMatchScalar wants the assembly's sigmoid and tanh
// to be the scalar functions bit for bit, across every branch: tiny,
// saturated and underflowing arguments, signed zeros and the cut-offs.
func TestVectorActivationsMatchScalar(t *testing.T) {
	if !useAVX2 {
		t.Skip("no vector activations on this CPU")
	}
	r := rand.New(rand.NewPCG(11, 12))
	xs := []float32{0, float32(math.Copysign(0, -1)), 0.01, -0.01, 0.0099999, -0.0099999, 9, -9, 9.000001, -9.000001,
		87.3, -87.3, -87.29, -87.31, 88, -88, 1e-30, -1e-30, 1e30, -1e30, float32(math.Inf(1)), float32(math.Inf(-1)), 1, -1, 0.5}
	for range 100000 {
		xs = append(xs, float32(r.NormFloat64()*3), float32(r.NormFloat64()*0.01), float32(r.NormFloat64()*40))
	}
	for len(xs)%8 != 3 { // leave a tail for the scalar loop
		xs = append(xs, float32(r.NormFloat64()))
	}
	for _, f := range []struct {
		name   string
		vec    func(dst, src []float32)
		scalar func(float32) float32
	}{{"sigmoid", sigmoidSlice, sigmoid32}, {"tanh", tanhSlice, tanh32}} {
		got := make([]float32, len(xs))
		f.vec(got, xs)
		for i, x := range xs {
			if want := f.scalar(x); math.Float32bits(got[i]) != math.Float32bits(want) {
				t.Fatalf("%s(%g): vector %g (%#x), scalar %g (%#x)", f.name, x, got[i], math.Float32bits(got[i]), want, math.Float32bits(want))
			}
		}
		in := append([]float32(nil), xs...) // in place
		f.vec(in, in)
		for i := range in {
			if math.Float32bits(in[i]) != math.Float32bits(got[i]) {
				t.Fatalf("%s in place differs at %d", f.name, i)
			}
		}
	}
}

func BenchmarkActivations(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200-100) / 20
	}
	y := make([]float32, len(x))
	for _, v := range []bool{true, false} {
		name := map[bool]string{true: "avx2", false: "go"}[v]
		b.Run("sigmoid/"+name, func(b *testing.B) {
			saved := useAVX2
			useAVX2 = v && useAVX2
			defer func() { useAVX2 = saved }()
			for b.Loop() {
				sigmoidSlice(y, x)
			}
		})
		b.Run("tanh/"+name, func(b *testing.B) {
			saved := useAVX2
			useAVX2 = v && useAVX2
			defer func() { useAVX2 = saved }()
			for b.Loop() {
				tanhSlice(y, x)
			}
		})
	}
}
