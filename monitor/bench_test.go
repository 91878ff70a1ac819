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
