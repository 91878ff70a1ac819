// Package monitor tells whether new data has drifted from what a model
// was trained on: per column a statistical test or distance, chosen as
// Evidently chooses by default, and a verdict for the batch. It is pure:
// numbers in, verdicts out. Every statistic is checked against scipy on
// recorded fixtures (testdata/scipy.json, made by testdata/fixtures.py).
package monitor

import (
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/mathext"
)

// KS2 is the two-sample Kolmogorov-Smirnov test, two-sided: the largest
// distance d between the samples' empirical distribution functions and its
// exact p-value, the share of the C(m+n, n) orderings of the pooled sample
// whose distance is at least d (scipy.stats.ks_2samp's method "exact"; it
// uses this for samples of up to 10,000, the sizes of a kept reference;
// for larger ones scipy switches to an asymptotic form, while this stays
// exact, at a cost of about max(m,n) * d * min(m,n) steps).
// The samples need not be sorted; NaNs must have been dropped.
func KS2(a, b []float64) (d, p float64) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 1
	}
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Float64s(x)
	sort.Float64s(y)
	m, n := len(x), len(y)
	// d on the lattice of multiples of 1/lcm(m, n), counted in integers so
	// that ties between the samples are exact: at each distinct value the
	// difference n*Fx - m*Fy moves by n per x and -m per y.
	var i, j int
	var diff, best int64
	for i < m || j < n {
		var v float64
		switch {
		case j >= n || (i < m && x[i] <= y[j]):
			v = x[i]
		default:
			v = y[j]
		}
		for i < m && x[i] == v {
			diff += int64(n)
			i++
		}
		for j < n && y[j] == v {
			diff -= int64(m)
			j++
		}
		if diff < 0 && -diff > best {
			best = -diff
		} else if diff > best {
			best = diff
		}
	}
	return ksFromLattice(m, n, best)
}

// ksFromLattice is the KS distance and p-value from the largest
// |n*Fx - m*Fy| over the pooled values, counted in integers.
func ksFromLattice(m, n int, best int64) (d, p float64) {
	g := gcd(m, n)
	h := best / int64(g) // d * lcm(m, n)
	d = float64(best) / float64(m) / float64(n)
	if h == 0 {
		return d, 1
	}
	return d, ksOutside(m, n, g, h)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ksOutside is the probability that a uniformly random lattice path from
// (0,0) to (m,n) leaves the band |x*n/g - y*m/g| < h at some point. The
// walk is counted in proportions (each count divided by its binomial
// coefficient, so every value stays in [0, 1]): A(x,y) = x/(x+y) A(x-1,y)
// + y/(x+y) A(x,y-1), zero outside the band.
func ksOutside(m, n, g int, h int64) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := int64(m/g), int64(n/g)
	col := make([]float64, n+1) // A(x, y) for the current x, every y
	// x = 0: inside while y*mg < h.
	for y := 0; y <= n; y++ {
		if int64(y)*mg < h {
			col[y] = 1
		}
	}
	for x := 1; x <= m; x++ {
		// y inside when |x*ng - y*mg| < h.
		lo := (int64(x)*ng - h) / mg // y > (x*ng - h)/mg
		if int64(x)*ng-h >= 0 {
			lo++
		} else {
			lo = 0
		}
		hi := (int64(x)*ng + h - 1) / mg // y*mg < x*ng + h
		if hi > int64(n) {
			hi = int64(n)
		}
		if lo > hi {
			return 1
		}
		// The band only moves up as x grows, so only its rows are
		// visited: below lo nothing is read again, and above the last
		// column's hi the entries were never set (zero). That makes the
		// cost m times the band's width, about m*d*n, not m*n.
		prev := 0.0 // A(x, y-1): zero below the band
		for y := int(lo); y <= int(hi); y++ {
			v := (col[y]*float64(x) + prev*float64(y)) / float64(x+y)
			col[y], prev = v, v
		}
	}
	return math.Max(0, math.Min(1, 1-col[n]))
}

// ZTest is the two-sided z-test of the difference between two
// proportions (k1 of n1 against k2 of n2) with the pooled variance; 1 when
// both are all one value.
func ZTest(k1, n1, k2, n2 float64) float64 {
	p1, p2 := k1/n1, k2/n2
	pool := (k1 + k2) / (n1 + n2)
	se := math.Sqrt(pool * (1 - pool) * (1/n1 + 1/n2))
	if se == 0 {
		return 1
	}
	return math.Erfc(math.Abs((p1-p2)/se) / math.Sqrt2)
}

// ChiSquareShares is Pearson's chi-squared test of current counts against
// the reference's shares taken as exact (scipy.stats.chisquare(cur,
// ref*len(cur)/len(ref)), Evidently's form): a category the reference
// lacks makes the statistic infinite, p 0.
func ChiSquareShares(ref, cur []float64) float64 {
	nr, nc := sum(ref), sum(cur)
	var stat float64
	for i := range cur {
		e := ref[i] * nc / nr
		d := cur[i] - e
		stat += d * d / e
	}
	if math.IsNaN(stat) {
		return math.NaN()
	}
	return chi2SF(stat, float64(len(cur)-1))
}

// ChiSquare2 is Pearson's chi-squared test of homogeneity of the 2 x k
// table of the reference's and the current counts, without continuity
// correction (scipy.stats.chi2_contingency(..., correction=False)):
// both sides are samples, so its false-alarm rate is the nominal one.
// Categories absent from both are dropped.
func ChiSquare2(ref, cur []float64) float64 {
	nr, nc := sum(ref), sum(cur)
	total := nr + nc
	var stat float64
	k := 0
	for i := range ref {
		col := ref[i] + cur[i]
		if col == 0 {
			continue
		}
		k++
		for _, o := range [2][2]float64{{ref[i], nr}, {cur[i], nc}} {
			e := col * o[1] / total
			d := o[0] - e
			stat += d * d / e
		}
	}
	if k < 2 {
		return 1
	}
	return chi2SF(stat, float64(k-1))
}

func chi2SF(x, df float64) float64 {
	if math.IsInf(x, 1) {
		return 0
	}
	return mathext.GammaIncRegComp(df/2, x/2)
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// Wasserstein is the first Wasserstein distance between two samples (the
// area between their distribution functions).
func Wasserstein(a, b []float64) float64 {
	xv, xn := distinctCounts(a)
	yv, yn := distinctCounts(b)
	return wassersteinCounts(xv, xn, yv, yn)
}

// distinctCounts are v's sorted distinct values and how often each occurs.
func distinctCounts(v []float64) ([]float64, []int64) {
	x := slices.Clone(v)
	sort.Float64s(x)
	var vals []float64
	var n []int64
	for i, e := range x {
		if i > 0 && e == x[i-1] {
			n[len(n)-1]++
			continue
		}
		vals, n = append(vals, e), append(n, 1)
	}
	return vals, n
}

// StdDev is the population standard deviation.
func StdDev(v []float64) float64 {
	mean := sum(v) / float64(len(v))
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss / float64(len(v)))
}

// JensenShannon is the Jensen-Shannon distance (log base 2) between two
// distributions given as counts or shares (each normalised to sum 1), as
// scipy.spatial.distance.jensenshannon(p, q, 2).
func JensenShannon(p, q []float64) float64 {
	sp, sq := sum(p), sum(q)
	var js float64
	for i := range p {
		a, b := p[i]/sp, q[i]/sq
		mid := (a + b) / 2
		if a > 0 {
			js += a * math.Log2(a/mid)
		}
		if b > 0 {
			js += b * math.Log2(b/mid)
		}
	}
	return math.Sqrt(math.Max(js/2, 0))
}

// PSI is the population stability index of two distributions given as
// shares, each floored at 1e-4 so that an empty bin counts but does not
// make it infinite.
func PSI(ref, cur []float64) float64 {
	var s float64
	for i := range ref {
		r, c := math.Max(ref[i], 1e-4), math.Max(cur[i], 1e-4)
		s += (r - c) * math.Log(r/c)
	}
	return s
}
