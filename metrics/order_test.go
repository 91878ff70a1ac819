package metrics

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestNth: the selection agrees with sorting, ties and all.
func TestNth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 60; n++ {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.IntN(7))
		}
		sorted := slices.Sorted(slices.Values(v))
		for k := range n {
			if got := Nth(slices.Clone(v), k); got != sorted[k] {
				t.Fatalf("n %d, k %d: %v, sorted %v", n, k, got, sorted[k])
			}
		}
	}
}
