package monitor

import (
	"math/rand/v2"
	"testing"
)

// the anchor's eight categories and their shares
var (
	catShares = []float64{0.3, 0.2, 0.15, 0.1, 0.1, 0.07, 0.05, 0.03}
	catLevels = []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"}
)

// drawCategories is n draws of the anchor's categories; swap exchanges the
// two most frequent.
func drawCategories(rng *rand.Rand, n int, swap bool) Column {
	c := Column{Name: "cat"}
	for range n {
		u, k := rng.Float64(), 0
		for k < len(catShares)-1 && u >= catShares[k] {
			u -= catShares[k]
			k++
		}
		if swap && k < 2 {
			k = 1 - k
		}
		c.Cat = append(c.Cat, catLevels[k])
	}
	return c
}

// TestFalseAlarms: same-distribution pairs of 800 rows (the anchor's
// eight categories and shares; a normal column) flagged by each p-value
// test. The two-sample chi-squared keeps near the nominal 5%; Evidently's
// shares form, which takes the reference's shares as exact, flags several
// times as often. A fixed seed: the rates are the same on every run.
func TestFalseAlarms(t *testing.T) {
	trials := 1000 // fewer would let sampling noise (about 0.7% at 1000) cross 6%
	rng := rand.New(rand.NewPCG(1, 2))
	normal := func(n int) Column {
		c := Column{Name: "num", Numeric: true}
		for range n {
			c.Num = append(c.Num, rng.NormFloat64())
		}
		return c
	}
	binary := func(n int) Column {
		c := Column{Name: "flag"}
		for range n {
			v := "no"
			if rng.Float64() < 0.3 {
				v = "yes"
			}
			c.Cat = append(c.Cat, v)
		}
		return c
	}
	var two, evidently, ks, z int
	for range trials {
		ref, cur := drawCategories(rng, 800, false), drawCategories(rng, 800, false)
		if Compare(ref, cur, 800, Options{}).Drift {
			two++
		}
		if Compare(ref, cur, 800, Options{SharesChiSquare: true}).Drift {
			evidently++
		}
		if Compare(normal(800), normal(800), 800, Options{}).Drift {
			ks++
		}
		if r := Compare(binary(800), binary(800), 800, Options{}); r.Test != "z" {
			t.Fatalf("a binary column got %s", r.Test)
		} else if r.Drift {
			z++
		}
	}
	rate := func(n int) float64 { return float64(n) / float64(trials) }
	t.Logf("false alarms over %d pairs of 800 rows: two-sample chi-squared %.1f%%, Evidently's shares form %.1f%%, KS %.1f%%, z-test %.1f%%",
		trials, 100*rate(two), 100*rate(evidently), 100*rate(ks), 100*rate(z))
	if rate(two) > 0.06 || rate(ks) > 0.06 || rate(z) > 0.06 {
		t.Errorf("two-sample chi-squared %.3f, KS %.3f, z-test %.3f: want at most 6%%", rate(two), rate(ks), rate(z))
	}
	if rate(evidently) < 2*rate(two) {
		t.Errorf("the shares form flags %.3f, the two-sample form %.3f: want the shares form's excess reproduced", rate(evidently), rate(two))
	}
}

// TestPower: at 800 rows a 0.5 standard-deviation shift of a numeric
// column's mean, and a swap of the two most frequent categories, are each
// flagged in at least 99 of 100 trials.
func TestPower(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	normal := func(n int, shift float64) Column {
		c := Column{Name: "num", Numeric: true}
		for range n {
			c.Num = append(c.Num, 10+2*(rng.NormFloat64()+shift))
		}
		return c
	}
	var shifted, swapped int
	for range 100 {
		if Compare(normal(800, 0), normal(800, 0.5), 800, Options{}).Drift {
			shifted++
		}
		if Compare(drawCategories(rng, 800, false), drawCategories(rng, 800, true), 800, Options{}).Drift {
			swapped++
		}
	}
	t.Logf("flagged of 100: mean shift 0.5 sd %d, top-two categories swapped %d", shifted, swapped)
	if shifted < 99 || swapped < 99 {
		t.Errorf("flagged %d and %d of 100: want at least 99 each", shifted, swapped)
	}
}

// TestLargeSameDistributionNotFlagged: with 100,000 rows on each side no
// distance test flags a same-distribution pair.
func TestLargeSameDistributionNotFlagged(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 100000
	num := func() Column {
		c := Column{Name: "num", Numeric: true}
		for range n {
			c.Num = append(c.Num, rng.ExpFloat64())
		}
		return c
	}
	cat := func() Column {
		c := Column{Name: "cat"}
		for range n {
			c.Cat = append(c.Cat, []string{"a", "b", "c", "d"}[rng.IntN(4)])
		}
		return c
	}
	for _, r := range []Result{Compare(num(), num(), n, Options{}), Compare(cat(), cat(), n, Options{})} {
		t.Logf("%s: %s %.4g", r.Column, r.Test, r.Value)
		if r.Drift || (r.Test != "wasserstein_norm" && r.Test != "jensenshannon") {
			t.Errorf("%+v: want a distance test, no drift", r)
		}
	}
}
