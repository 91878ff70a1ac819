package monitor

import (
	"math"
	"slices"
	"sort"
	"strconv"
)

// Column is one column's values: numbers (NaN missing) or categories
// ("" missing).
type Column struct {
	Name    string
	Numeric bool
	Num     []float64
	Cat     []string
}

// Result is one column's verdict, in the words of Evidently (and of the
// anchor, ../shared/bench/drift_anchor.py).
type Result struct {
	Column  string `json:"column"`
	Type    string `json:"type"` // num or cat
	NUnique int    `json:"n_unique"`
	// AtLeast: NUnique is a lower bound (a side has more distinct
	// numbers than it keeps).
	AtLeast   bool    `json:"n_unique_at_least,omitempty"`
	Test      string  `json:"test"` // ks, z, chisquare, wasserstein_norm, jensenshannon
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Drift     bool    `json:"drift"`
	PSI       float64 `json:"psi"`
	// Approx: computed from a summarised side (see ColumnProfile), not
	// from every value.
	Approx bool `json:"approx,omitempty"`
}

// Options adjust the default choice of tests.
type Options struct {
	// PSIBins is the number of reference quantile bins of the PSI
	// (default 10).
	PSIBins int
	// SharesChiSquare uses Evidently's categorical test, current counts
	// against the reference's shares taken as exact; the default compares
	// two samples (ChiSquare2), whose false-alarm rate is the nominal 5%.
	SharesChiSquare bool
	// Tests overrides the test of a column (one of Tests), Thresholds
	// its threshold.
	Tests      map[string]string
	Thresholds map[string]float64
	pDiv       float64 // Profile.Rule "any": p thresholds over this
}

// Compare tests one column of the current data against the reference
// (refRows: the reference's rows, which picks the family of tests), with
// Evidently's default rules: missing values dropped; a reference of at
// most 1000 rows gets p-value tests (KS for numbers with more than 5
// distinct values over both sides, the z-test for at most 2, chi-squared
// otherwise; drift at p < 0.05), a larger one distances (Wasserstein over
// the reference's standard deviation for such numbers, Jensen-Shannon
// otherwise; drift at >= 0.1).
func Compare(ref, cur Column, refRows int, o Options) Result {
	if o.PSIBins <= 0 {
		o.PSIBins = 10
	}
	r := Result{Column: ref.Name, Type: "cat"}
	numeric := ref.Numeric && cur.Numeric
	var rn, cn []float64
	var rk, ck []string
	if numeric {
		r.Type = "num"
		rn, cn = dropNaN(ref.Num), dropNaN(cur.Num)
		rk, ck = numKeys(rn), numKeys(cn)
	} else {
		rk, ck = catValues(ref), catValues(cur)
	}
	keys := union(rk, ck)
	r.NUnique = len(keys)
	small := refRows <= 1000
	switch {
	case numeric && r.NUnique > 5 && small:
		r.Test = "ks"
		_, r.Value = KS2(rn, cn)
	case numeric && r.NUnique > 5:
		r.Test = "wasserstein_norm"
		r.Value = Wasserstein(rn, cn) / math.Max(StdDev(rn), 0.001)
	case small && r.NUnique <= 2:
		r.Test = "z"
		// The share of values other than the first key on each side.
		var rFirst, cFirst float64
		if len(keys) > 0 {
			rFirst, cFirst = counts(rk, keys)[0], counts(ck, keys)[0]
		}
		nr, nc := float64(len(rk)), float64(len(ck))
		r.Value = ZTest(nr-rFirst, nr, nc-cFirst, nc)
	case small:
		r.Test = "chisquare"
		rc, cc := counts(rk, keys), counts(ck, keys)
		if o.SharesChiSquare {
			r.Value = ChiSquareShares(rc, cc)
		} else {
			r.Value = ChiSquare2(rc, cc)
		}
	default:
		r.Test = "jensenshannon"
		if numeric && len(union(rk, nil)) > 20 {
			edges := sturgesEdges(append(slices.Clone(rn), cn...))
			r.Value = JensenShannon(histogram(rn, edges), histogram(cn, edges))
		} else {
			r.Value = JensenShannon(counts(rk, keys), counts(ck, keys))
		}
	}
	switch r.Test {
	case "ks", "z", "chisquare":
		r.Threshold, r.Drift = 0.05, r.Value < 0.05
	default:
		r.Threshold, r.Drift = 0.1, r.Value >= 0.1
	}
	if numeric && len(union(rk, nil)) > o.PSIBins {
		edges := quantileEdges(rn, o.PSIBins)
		r.PSI = PSI(shares(histogram(rn, edges)), shares(histogram(cn, edges)))
	} else {
		r.PSI = PSI(shares(counts(rk, keys)), shares(counts(ck, keys)))
	}
	return r
}

// DatasetDrift is Evidently's verdict: at least half the columns drift.
func DatasetDrift(rs []Result) bool {
	n := 0
	for _, r := range rs {
		if r.Drift {
			n++
		}
	}
	return len(rs) > 0 && float64(n) >= 0.5*float64(len(rs))
}

func dropNaN(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) {
			out = append(out, x)
		}
	}
	return out
}

// numKeys are the values as exact keys (strconv 'g' -1 round-trips).
func numKeys(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return out
}

func catValues(c Column) []string {
	var out []string
	if c.Numeric {
		return numKeys(dropNaN(c.Num))
	}
	for _, s := range c.Cat {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// union is the sorted distinct values of a and b.
func union(a, b []string) []string {
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func counts(v, keys []string) []float64 {
	idx := make(map[string]int, len(keys))
	for i, k := range keys {
		idx[k] = i
	}
	out := make([]float64, len(keys))
	for _, s := range v {
		out[idx[s]]++
	}
	return out
}

func shares(c []float64) []float64 {
	s := sum(c)
	out := make([]float64, len(c))
	for i := range c {
		out[i] = c[i] / s
	}
	return out
}

// histogram counts v in the bins [e_i, e_i+1), the last one closed
// (numpy.histogram with explicit edges).
func histogram(v, edges []float64) []float64 {
	x := slices.Clone(v)
	sort.Float64s(x)
	out := make([]float64, len(edges)-1)
	for i := range out {
		lo := sort.SearchFloat64s(x, edges[i]) // first >= e_i
		var hi int
		if i == len(out)-1 {
			hi = sort.Search(len(x), func(k int) bool { return x[k] > edges[i+1] })
		} else {
			hi = sort.SearchFloat64s(x, edges[i+1])
		}
		out[i] = float64(hi - lo)
	}
	return out
}

// sturgesEdges are numpy's "sturges" bin edges over v: ceil(range / width)
// equal bins, width = range / (log2(n) + 1), spaced as numpy.linspace.
func sturgesEdges(v []float64) []float64 {
	lo, hi := slices.Min(v), slices.Max(v)
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	width := (hi - lo) / (math.Log2(float64(len(v))) + 1)
	k := int(math.Ceil((hi - lo) / width))
	return linspace(lo, hi, k+1)
}

func linspace(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	step := (hi - lo) / float64(n-1)
	for i := range out {
		out[i] = float64(i)*step + lo
	}
	out[n-1] = hi
	return out
}

// quantileEdges are the reference's quantiles at 0, 1/bins, ..., 1
// (numpy.quantile, linear), distinct, the outer ones opened to infinity.
func quantileEdges(v []float64, bins int) []float64 {
	x := slices.Clone(v)
	sort.Float64s(x)
	return quantileEdgesSorted(x, bins)
}

// quantileEdgesSorted is quantileEdges of sorted x.
func quantileEdgesSorted(x []float64, bins int) []float64 {
	var edges []float64
	step := 1 / float64(bins)
	for i := 0; i <= bins; i++ {
		q := float64(i) * step
		if i == bins {
			q = 1
		}
		edges = append(edges, quantile(x, q))
	}
	edges = slices.Compact(edges)
	edges[0], edges[len(edges)-1] = math.Inf(-1), math.Inf(1)
	return edges
}

// quantile of sorted x, numpy's linear method (its lerp included).
func quantile(x []float64, q float64) float64 {
	pos := q * float64(len(x)-1)
	i := int(math.Floor(pos))
	if i >= len(x)-1 {
		return x[len(x)-1]
	}
	t := pos - float64(i)
	a, b := x[i], x[i+1]
	d := b - a
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}
