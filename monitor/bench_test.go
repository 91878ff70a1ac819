package monitor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkKS2 is the exact KS of a kept reference (1000 rows) against a
// large current batch, same distribution: its cost follows the band.
func BenchmarkKS2(b *testing.B) {
	for _, n := range []int{1000, 100000, 1000000} {
		rng := rand.New(rand.NewPCG(1, uint64(n)))
		ref, cur := make([]float64, 1000), make([]float64, n)
		for i := range ref {
			ref[i] = rng.NormFloat64()
		}
		for i := range cur {
			cur[i] = rng.NormFloat64()
		}
		b.Run(fmt.Sprintf("cur=%d", n), func(b *testing.B) {
			for b.Loop() {
				KS2(ref, cur)
			}
		})
	}
}

// BenchmarkSketch is the cost per value of sketching the anchor-like
// columns against a summarised reference (20,000 rows).
func BenchmarkSketch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	ref := ProfileReference(columns(rng, 20000, 0), 10)
	cur := columns(rng, 100000, 0)
	b.ResetTimer()
	for b.Loop() {
		sketchColumns(ref, cur)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(cur)*100000), "ns/value")
}
