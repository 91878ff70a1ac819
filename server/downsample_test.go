package server

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/reckon-ml/reckon/store"
)

// TestDownsample: at most n points, in step order, the first and the last
// kept, and every bucket's extremes (so the series' min and max) kept,
// checked against a direct scan.
func TestDownsample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ len, n int }{{10, 20}, {100000, 2000}, {5001, 7}, {3, 4}, {1000, 999}} {
		pts := make([]store.Point, tc.len)
		for i := range pts {
			pts[i] = store.Point{Key: "loss", Step: int64(i), Value: math.Sin(float64(i)/50) + rng.NormFloat64()}
		}
		if tc.len > 10 {
			pts[tc.len/3].Value, pts[tc.len/2].Value = 100, -100 // spikes
		}
		got := Downsample(pts, tc.n)
		if len(got) > max(tc.n, 4) || tc.len <= tc.n && len(got) != tc.len {
			t.Errorf("%d points to %d: %d", tc.len, tc.n, len(got))
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range pts {
			lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
		}
		glo, ghi := math.Inf(1), math.Inf(-1)
		for i, p := range got {
			glo, ghi = math.Min(glo, p.Value), math.Max(ghi, p.Value)
			if i > 0 && p.Step <= got[i-1].Step {
				t.Fatalf("%d/%d: out of order at %d", tc.len, tc.n, i)
			}
		}
		if glo != lo || ghi != hi || got[0] != pts[0] || got[len(got)-1] != pts[len(pts)-1] {
			t.Errorf("%d/%d: extremes %v..%v of %v..%v, or the ends lost", tc.len, tc.n, glo, ghi, lo, hi)
		}
	}
}

func BenchmarkDownsample(b *testing.B) {
	pts := make([]store.Point, 100000)
	for i := range pts {
		pts[i] = store.Point{Step: int64(i), Value: math.Sin(float64(i))}
	}
	for b.Loop() {
		Downsample(pts, 2000)
	}
}
