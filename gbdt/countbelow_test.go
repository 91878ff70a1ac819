package gbdt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestCountBelow checks both searches against counting, on ties, NaN and
// infinities.
func TestCountBelow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 70; n++ {
		thr := make([]float64, n)
		for i := range thr {
			thr[i] = float64(i) * 0.5
		}
		vals := []float64{math.NaN(), math.Inf(-1), math.Inf(1), -1, 0, thr[n-1], thr[n/2], thr[n/2] + 0.25}
		for range 20 {
			vals = append(vals, r.Float64()*float64(n))
		}
		for i := 0; i+4 <= len(vals); i += 4 {
			a0, a1, a2, a3 := countBelow4(thr, vals[i], vals[i+1], vals[i+2], vals[i+3])
			for k, got := range []int{a0, a1, a2, a3} {
				want := 0
				for _, th := range thr {
					if th < vals[i+k] {
						want++
					}
				}
				if got != want || countBelow(thr, vals[i+k]) != want {
					t.Fatalf("n=%d v=%v: countBelow4 %d, countBelow %d, want %d", n, vals[i+k], got, countBelow(thr, vals[i+k]), want)
				}
			}
		}
	}
}
