package monitor

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Tests are the names of the tests a column can be given; the first
// three are p-values (drift below the threshold), the rest distances
// (drift at or above it).
var Tests = []string{"ks", "z", "chisquare", "wasserstein_norm", "jensenshannon", "psi"}

// DefaultThreshold is the threshold of a test when none is given.
func DefaultThreshold(test string) float64 {
	switch test {
	case "ks", "z", "chisquare":
		return 0.05
	case "psi":
		return 0.25
	}
	return 0.1
}

func pTest(test string) bool { return test == "ks" || test == "z" || test == "chisquare" }

// CompareProfiles tests every column of the reference profile against the
// current profile's column of the same name (skip leaves columns out),
// with the rules of Compare and the overrides of o. A value computed from
// a summarised side (more than MaxExact distinct numbers, or more than
// MaxLevels categories) is marked approximate.
func CompareProfiles(ref, cur *Profile, skip []string, o Options) (*Report, error) {
	skipped := map[string]bool{}
	for _, s := range skip {
		if ref.Column(s) == nil {
			return nil, fmt.Errorf("--skip %s: the reference has no such column (it has %s)", s, strings.Join(names(ref), ", "))
		}
		skipped[s] = true
	}
	for col, test := range o.Tests {
		if ref.Column(col) == nil {
			return nil, fmt.Errorf("--test %s=%s: the reference has no column %q", col, test, col)
		}
		if !slices.Contains(Tests, test) {
			return nil, fmt.Errorf("--test %s=%s: no such test (the tests: %s)", col, test, strings.Join(Tests, ", "))
		}
	}
	for col := range o.Thresholds {
		if ref.Column(col) == nil {
			return nil, fmt.Errorf("--threshold %s: the reference has no column %q", col, col)
		}
	}
	rep := &Report{RefRows: int(ref.Rows), CurRows: int(cur.Rows), Histograms: map[string]Hist{}}
	for _, rc := range ref.Columns {
		if skipped[rc.Name] {
			continue
		}
		cc := cur.Column(rc.Name)
		if cc == nil {
			return nil, fmt.Errorf("the current data has no column %q, which the reference has (leave it out with --skip %s)", rc.Name, rc.Name)
		}
		if cc.Type != rc.Type {
			return nil, fmt.Errorf("column %q holds %s in the reference and %s in the current data", rc.Name, typeWord(rc.Type), typeWord(cc.Type))
		}
		ro := o
		if ref.Rule == RuleAny {
			ro.pDiv = float64(len(ref.Columns) - len(skipped))
		}
		r, err := compareProfile(rc, cc, ref.Rows, ro, ref.PSIBins)
		if err != nil {
			return nil, err
		}
		rep.Histograms[r.Column] = histOf(rc, cc)
		if r.Drift {
			rep.Drifted++
		}
		rep.Columns = append(rep.Columns, r)
	}
	rep.DatasetDrift = DatasetDrift(rep.Columns)
	if ref.Rule == RuleAny {
		rep.DatasetDrift = rep.Drifted > 0
	}
	return rep, nil
}

func names(p *Profile) []string {
	var out []string
	for _, c := range p.Columns {
		out = append(out, c.Name)
	}
	return out
}

func typeWord(t string) string {
	if t == "num" {
		return "numbers"
	}
	return "categories"
}

// compareProfile is Compare on summaries.
func compareProfile(ref, cur *ColumnProfile, refRows int64, o Options, storedBins int) (Result, error) {
	r := Result{Column: ref.Name, Type: ref.Type}
	numeric := ref.Numeric()
	keys, rc, cc, keysExact := keyCounts(ref, cur)
	r.NUnique = len(keys)
	if numeric && !keysExact {
		r.NUnique, r.AtLeast = max(r.NUnique, MaxExact+1), true
	}
	small := refRows <= 1000
	switch {
	case numeric && r.NUnique > 5 && small:
		r.Test = "ks"
	case numeric && r.NUnique > 5:
		r.Test = "wasserstein_norm"
	case small && r.NUnique <= 2:
		r.Test = "z"
	case small:
		r.Test = "chisquare"
	default:
		r.Test = "jensenshannon"
	}
	if t, ok := o.Tests[ref.Name]; ok {
		r.Test = t
	}
	r.Threshold = DefaultThreshold(r.Test)
	if pTest(r.Test) && o.pDiv > 0 {
		r.Threshold /= o.pDiv
	}
	if t, ok := o.Thresholds[ref.Name]; ok {
		r.Threshold = t
	}
	if !numeric && (r.Test == "ks" || r.Test == "wasserstein_norm") {
		return r, fmt.Errorf("column %q: %s needs numbers; %s holds categories", ref.Name, r.Test, ref.Name)
	}
	if !numeric && !keysExact {
		r.Approx = true // categories beyond MaxLevels counted as one
	}
	// A p-value test or a distance on shares of binned numbers, for a
	// column with more distinct numbers than kept: Sturges bins over both
	// sides, as the anchor bins the Jensen-Shannon of many-valued numbers.
	binned := func() {
		edges := sturgesEdgesOf(ref, cur)
		rc, cc = binCounts(ref, edges), binCounts(cur, edges)
		r.Approx = r.Approx || !ref.Exact || !cur.Exact
	}
	empty := ref.Count == 0 || cur.Count == 0
	switch r.Test {
	case "ks":
		if !empty {
			r.Value = ksProfiles(ref, cur)
		} else {
			r.Value = 1
		}
		r.Approx = !ref.Exact
	case "wasserstein_norm":
		if !empty {
			w, exact := wassersteinProfiles(ref, cur)
			r.Value, r.Approx = w/math.Max(ref.Std, 0.001), !exact
		}
	case "z":
		if numeric && !keysExact {
			return r, fmt.Errorf("column %q: the z-test needs at most a few distinct values; %s has more than %d", ref.Name, ref.Name, MaxExact)
		}
		var rFirst, cFirst float64
		if len(keys) > 0 {
			rFirst, cFirst = rc[0], cc[0]
		}
		nr, nc := sum(rc), sum(cc)
		r.Value = ZTest(nr-rFirst, nr, nc-cFirst, nc)
	case "chisquare":
		if numeric && (!keysExact || len(keys) > 20) {
			binned()
		}
		switch {
		case empty:
			r.Value = 1
		case o.SharesChiSquare:
			r.Value = ChiSquareShares(rc, cc)
		default:
			r.Value = ChiSquare2(rc, cc)
		}
	case "jensenshannon":
		if numeric && (!keysExact || len(ref.Values) > 20) {
			binned()
		}
		if !empty {
			r.Value = JensenShannon(rc, cc)
		}
	}
	r.PSI, r.Approx = psiProfiles(ref, cur, o.PSIBins, storedBins, keys, rc, cc, r.Approx)
	if r.Test == "psi" {
		r.Value = r.PSI
	}
	if math.IsNaN(r.Value) {
		r.Value = 1 // no evidence either way (an empty side)
	}
	if pTest(r.Test) {
		r.Drift = r.Value < r.Threshold
	} else {
		r.Drift = r.Value >= r.Threshold
	}
	return r, nil
}

// keyCounts are the sorted distinct values of both sides (as text, the
// anchor's order) with each side's counts; exact is false when a side
// has more distinct values than it keeps.
func keyCounts(ref, cur *ColumnProfile) (keys []string, rc, cc []float64, exact bool) {
	side := func(c, other *ColumnProfile) map[string]float64 {
		m := map[string]float64{}
		switch {
		case !c.Numeric():
			for i, s := range c.Levels {
				m[s] += float64(c.Counts[i])
			}
			if c.Other > 0 {
				m["(other)"] += float64(c.Other)
			}
		case c.Exact:
			for i, v := range c.Values {
				m[numKeys([]float64{v})[0]] += float64(c.Counts[i])
			}
		case other.Exact:
			// Many values on this side, few on the other: this side's
			// counts at the other's values (exact at the reference's
			// edges), and the rest together.
			var n float64
			for _, v := range other.Values {
				k := below(c, math.Nextafter(v, math.Inf(1))) - below(c, v)
				m[numKeys([]float64{v})[0]] += k
				n += k
			}
			m["(other)"] += float64(c.Count) - n
		}
		return m
	}
	a, b := side(ref, cur), side(cur, ref)
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rc, cc = append(rc, a[k]), append(cc, b[k])
	}
	return keys, rc, cc, ref.Exact && cur.Exact
}

// cumulative is the count of values in cells 0..j, for every j.
func cumulative(c *ColumnProfile) []int64 {
	out := make([]int64, len(c.CellN))
	var s int64
	for j, n := range c.CellN {
		s += n
		out[j] = s
	}
	return out
}

// ksProfiles is the KS p-value from the cells: the distribution functions
// are exact at every edge, on both sides of it, and an exact reference is
// constant between its edges, so there the largest distance is exact.
func ksProfiles(ref, cur *ColumnProfile) float64 {
	m, n := ref.Count, cur.Count
	fr, fc := cumulative(ref), cumulative(cur)
	var best int64
	for j := range fr {
		d := n*fr[j] - m*fc[j]
		if d < 0 {
			d = -d
		}
		best = max(best, d)
	}
	_, p := ksFromLattice(int(m), int(n), best)
	return p
}

// wassersteinProfiles is the first Wasserstein distance: exact from the
// distinct values when both sides keep them, else from the cells (exact
// where the two functions do not cross inside a cell).
func wassersteinProfiles(ref, cur *ColumnProfile) (float64, bool) {
	if ref.Exact && cur.Exact {
		return wassersteinCounts(ref.Values, ref.Counts, cur.Values, cur.Counts), true
	}
	lo, hi := math.Min(ref.Min, cur.Min), math.Max(ref.Max, cur.Max)
	e := ref.Edges
	m, n := float64(ref.Count), float64(cur.Count)
	var fr, fc float64 // counts below the cell
	var area float64
	for j := range ref.CellN {
		var a, b float64
		switch {
		case len(e) == 0:
			a, b = lo, hi
		case j == 0:
			a, b = lo, e[0]
		case j == 2*len(e):
			a, b = e[len(e)-1], hi
		case j%2 == 1: // a point: no width
			fr += float64(ref.CellN[j])
			fc += float64(cur.CellN[j])
			continue
		default:
			a, b = e[j/2-1], e[j/2]
		}
		w := b - a
		if w > 0 {
			// ∫_a^b F = F(a)(b-a) + Σ_{a<=x<b} (b-x) / n, from a count and a sum.
			intF := fr/m*w + (float64(ref.CellN[j])*b-ref.CellSum[j])/m
			intG := fc/n*w + (float64(cur.CellN[j])*b-cur.CellSum[j])/n
			dA := fr/m - fc/n
			dB := (fr+float64(ref.CellN[j]))/m - (fc+float64(cur.CellN[j]))/n
			d := math.Abs(intF - intG)
			if dA*dB < 0 { // they cross: as if linear between the ends
				d = math.Max(d, w*(dA*dA+dB*dB)/(2*(math.Abs(dA)+math.Abs(dB))))
			}
			area += d
		}
		fr += float64(ref.CellN[j])
		fc += float64(cur.CellN[j])
	}
	return area, false
}

// wassersteinCounts is Wasserstein on distinct sorted values with counts.
func wassersteinCounts(xv []float64, xn []int64, yv []float64, yn []int64) float64 {
	var m, n float64
	for _, c := range xn {
		m += float64(c)
	}
	for _, c := range yn {
		n += float64(c)
	}
	var i, j int
	var fx, fy, area, last float64
	first := true
	for i < len(xv) || j < len(yv) {
		var v float64
		switch {
		case j >= len(yv) || (i < len(xv) && xv[i] <= yv[j]):
			v = xv[i]
		default:
			v = yv[j]
		}
		if !first {
			area += math.Abs(fx/m-fy/n) * (v - last)
		}
		first, last = false, v
		if i < len(xv) && xv[i] == v {
			fx += float64(xn[i])
			i++
		}
		if j < len(yv) && yv[j] == v {
			fy += float64(yn[j])
			j++
		}
	}
	return area
}

// below is the number of values < x: exact from the distinct values or at
// an edge, else interpolated inside the cell holding x.
func below(c *ColumnProfile, x float64) float64 {
	if math.IsInf(x, -1) {
		return 0
	}
	if math.IsInf(x, 1) {
		return float64(c.Count)
	}
	if c.Exact && c.Numeric() {
		i := sort.SearchFloat64s(c.Values, x)
		var s int64
		for _, n := range c.Counts[:i] {
			s += n
		}
		return float64(s)
	}
	e := c.Edges
	j := cell(e, x)
	var s int64
	for _, n := range c.CellN[:j] {
		s += n
	}
	if j%2 == 1 {
		return float64(s)
	}
	var a, b float64
	switch {
	case len(e) == 0:
		a, b = c.Min, c.Max
	case j == 0:
		a, b = c.Min, e[0]
	case j == 2*len(e):
		a, b = e[len(e)-1], c.Max
	default:
		a, b = e[j/2-1], e[j/2]
	}
	f := 0.0
	switch {
	case x <= a:
	case x >= b:
		f = 1
	default:
		f = (x - a) / (b - a)
	}
	return float64(s) + f*float64(c.CellN[j])
}

// binCounts are the counts in [e_i, e_i+1), the last bin closed.
func binCounts(c *ColumnProfile, edges []float64) []float64 {
	out := make([]float64, len(edges)-1)
	for i := range out {
		hi := below(c, edges[i+1])
		if i == len(out)-1 {
			hi = below(c, math.Nextafter(edges[i+1], math.Inf(1)))
		}
		out[i] = hi - below(c, edges[i])
	}
	return out
}

// sturgesEdgesOf are numpy's Sturges edges over both sides together.
func sturgesEdgesOf(ref, cur *ColumnProfile) []float64 {
	lo, hi := ref.Min, ref.Max
	if cur.Count > 0 {
		lo, hi = math.Min(lo, cur.Min), math.Max(hi, cur.Max)
	}
	if ref.Count == 0 {
		lo, hi = cur.Min, cur.Max
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	width := (hi - lo) / (math.Log2(float64(ref.Count+cur.Count)) + 1)
	return linspace(lo, hi, int(math.Ceil((hi-lo)/width))+1)
}

// psiProfiles is the PSI on the reference's quantile bins (numbers with
// more distinct values than bins) or on the shares of each value.
func psiProfiles(ref, cur *ColumnProfile, bins, storedBins int, keys []string, rc, cc []float64, approx bool) (float64, bool) {
	if bins <= 0 {
		bins = 10
	}
	many := ref.Numeric() && (!ref.Exact || len(ref.Values) > bins)
	if !many {
		if len(keys) == 0 {
			return 0, approx
		}
		return PSI(shares(rc), shares(cc)), approx
	}
	var inner []float64
	if bins == storedBins {
		inner = ref.PSIEdges
	} else {
		for i := 1; i < bins; i++ {
			inner = append(inner, quantileOf(ref, float64(i)*(1/float64(bins))))
		}
		inner = slices.Compact(inner)
		approx = approx || !ref.Exact
	}
	// The counts are exact at the reference's edges, and anywhere on a
	// side that keeps its distinct values.
	for _, e := range inner {
		if _, found := slices.BinarySearch(ref.Edges, e); !found && (!ref.Exact || !cur.Exact) {
			approx = true
		}
	}
	edges := append(append([]float64{math.Inf(-1)}, inner...), math.Inf(1))
	return PSI(shares(binCounts(ref, edges)), shares(binCounts(cur, edges))), approx
}

// quantileOf is numpy's linear quantile of the reference: exact from its
// distinct values, else interpolated inside a cell.
func quantileOf(c *ColumnProfile, q float64) float64 {
	pos := q * float64(c.Count-1)
	i := int64(math.Floor(pos))
	at := func(k int64) float64 { return valueAt(c, k) }
	if i >= c.Count-1 {
		return at(c.Count - 1)
	}
	t := pos - float64(i)
	a, b := at(i), at(i+1)
	d := b - a
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}

// valueAt is the k-th smallest value (from 0).
func valueAt(c *ColumnProfile, k int64) float64 {
	if c.Exact {
		var s int64
		for i, n := range c.Counts {
			s += n
			if k < s {
				return c.Values[i]
			}
		}
		return c.Max
	}
	var s int64
	e := c.Edges
	for j, n := range c.CellN {
		if k < s+n {
			if j%2 == 1 {
				return e[j/2]
			}
			a, b := c.Min, c.Max
			if j > 0 {
				a = e[j/2-1]
			}
			if j < 2*len(e) {
				b = e[j/2]
			}
			return a + (b-a)*(float64(k-s)+0.5)/float64(n)
		}
		s += n
	}
	return c.Max
}
