package monitor

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
)

// Bounds of a profile: it grows with the number of columns, never with
// the number of rows.
const (
	// MaxExact is how many distinct numbers a column keeps exactly (with
	// their counts). A reference of at most 1000 rows is always exact, so
	// the small-sample tests on it are exact.
	MaxExact = 1000
	// FineCells is how many equal-count cells a summarised reference
	// column is cut into, at its exact quantiles.
	FineCells = 1000
	// MaxLevels is how many categories a column counts; the rest are
	// counted together as Other.
	MaxLevels = 10000
)

// Profile summarises a table column by column, in bounded space: the
// reference side of drift tests, stored in a model artifact, or the
// current side, accumulated while streaming a batch. Two current profiles
// of the same reference merge exactly (counts add).
type Profile struct {
	Rows    int64 `json:"rows"`
	PSIBins int   `json:"psi_bins"`
	// Rule is the dataset verdict: "" for Evidently's (at least half the
	// columns drift), RuleAny for any column drifting, each p-value test
	// then at its threshold over the number of columns (Bonferroni), so
	// that the set's false alarms stay at the threshold: for a few
	// features of which one moving matters, such as per-track ones.
	Rule    string           `json:"rule,omitempty"`
	Columns []*ColumnProfile `json:"columns"`
}

// RuleAny is the Profile.Rule under which one drifting column is enough.
const RuleAny = "any"

// ColumnProfile is one column's summary.
//
// Numbers are counted in the cells of a layout of sorted edges E taken
// from the reference: cell 0 holds values below E[0], cell 2i+1 values
// equal to E[i], cell 2i values between E[i-1] and E[i], cell 2k values
// above E[k-1]. The reference's edges are all its distinct values when it
// has at most MaxExact of them (tests on it are then exact), else its
// quantiles at i/FineCells, plus its PSI edges. With a count and a sum per
// cell on both sides, the distribution functions are exact at every edge
// and their integrals exact over every cell: the KS distance of an exact
// reference is exact, and the Wasserstein distance is exact except inside
// cells where the two functions cross (there it is interpolated).
type ColumnProfile struct {
	Name    string  `json:"name"`
	Type    string  `json:"type"` // num or cat
	Count   int64   `json:"count"`
	Missing int64   `json:"missing"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Sum     float64 `json:"sum"`
	// Std is the population standard deviation (reference only).
	Std float64 `json:"std,omitempty"`
	// Exact: Values (numbers) or Levels (categories) list every distinct
	// value, with Counts.
	Exact  bool      `json:"exact"`
	Values []float64 `json:"values,omitempty"`
	Levels []string  `json:"levels,omitempty"`
	Counts []int64   `json:"counts,omitempty"`
	// Other counts categories beyond the first MaxLevels.
	Other   int64     `json:"other,omitempty"`
	Edges   []float64 `json:"edges,omitempty"`
	CellN   []int64   `json:"cell_n,omitempty"`
	CellSum []float64 `json:"cell_sum,omitempty"`
	// PSIEdges are the reference's inner quantile edges for its PSIBins
	// (the outer ones are infinite), when it has more distinct values.
	PSIEdges []float64 `json:"psi_edges,omitempty"`
}

// Numeric reports whether the column holds numbers.
func (c *ColumnProfile) Numeric() bool { return c.Type == "num" }

// Column returns the named column's profile, or nil.
func (p *Profile) Column(name string) *ColumnProfile {
	for _, c := range p.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ProfileReference summarises whole reference columns. Numbers are
// sorted to place the cells at exact quantiles, so it needs the column in
// memory, as training has it; psiBins (default 10) fixes the PSI edges.
func ProfileReference(cols []Column, psiBins int) *Profile {
	if psiBins <= 0 {
		psiBins = 10
	}
	p := &Profile{PSIBins: psiBins}
	for _, c := range cols {
		p.Rows = max(p.Rows, int64(max(len(c.Num), len(c.Cat))))
		if !c.Numeric {
			a := newCatAcc()
			for _, s := range c.Cat {
				if s == "" {
					a.missing++
				} else {
					a.add(s)
				}
			}
			p.Columns = append(p.Columns, a.profile(c.Name))
			continue
		}
		x := dropNaN(c.Num)
		sort.Float64s(x)
		p.Columns = append(p.Columns, profileSorted(c.Name, x, int64(len(c.Num)-len(x)), psiBins))
	}
	return p
}

// profileSorted summarises a numeric column from its sorted values (NaNs
// dropped, missing of them).
func profileSorted(name string, x []float64, missing int64, psiBins int) *ColumnProfile {
	distinct := 0
	for i := range x {
		if i == 0 || x[i] != x[i-1] {
			distinct++
		}
	}
	var edges, psi []float64
	if distinct <= MaxExact {
		edges = slices.Compact(slices.Clone(x))
	} else {
		for i := 0; i <= FineCells; i++ {
			edges = append(edges, quantile(x, float64(i)/FineCells))
		}
	}
	if distinct > psiBins {
		q := quantileEdgesSorted(x, psiBins)
		psi = slices.Clone(q[1 : len(q)-1])
		edges = append(edges, psi...)
	}
	sort.Float64s(edges)
	edges = slices.Compact(edges)
	a := newNumAcc(edges)
	for _, v := range x {
		a.add(v)
	}
	a.missing = missing
	cp := a.profile(name)
	if len(x) > 0 {
		cp.Std = StdDev(x)
	}
	cp.PSIEdges = psi
	return cp
}

// Sketch accumulates the current side of a reference profile, one value
// at a time, in the reference's layout. It is not safe for concurrent
// use: give each goroutine its own and Merge their profiles.
type Sketch struct {
	ref  *Profile
	rows int64
	num  []*numAcc // by reference column; nil for categories
	cat  []*catAcc
}

// NewSketch starts an empty current side of ref.
func NewSketch(ref *Profile) *Sketch {
	s := &Sketch{ref: ref, num: make([]*numAcc, len(ref.Columns)), cat: make([]*catAcc, len(ref.Columns))}
	for i, c := range ref.Columns {
		if c.Numeric() {
			s.num[i] = newNumAcc(c.Edges)
		} else {
			s.cat[i] = newCatAcc()
		}
	}
	return s
}

// Row counts one row (call once per row, besides the values).
func (s *Sketch) Row() { s.rows++ }

// Number adds a value to numeric column i (NaN is missing).
func (s *Sketch) Number(i int, v float64) {
	if math.IsNaN(v) {
		s.num[i].missing++
		return
	}
	s.num[i].add(v)
}

// Category adds a value to categorical column i ("" is missing).
func (s *Sketch) Category(i int, v string) {
	if v == "" {
		s.cat[i].missing++
		return
	}
	s.cat[i].add(v)
}

// CategoryCode adds categorical column i's value by its code in the
// caller's levels (code < 0: missing; len(levels) or more: other, named
// unseen), without hashing the name again for a code seen before.
func (s *Sketch) CategoryCode(i, code int, levels []string, unseen string) {
	a := s.cat[i]
	if code < 0 {
		a.missing++
		return
	}
	code = min(code, len(levels))
	if code < len(a.byCode) && a.byCode[code] > 0 {
		a.counts[a.byCode[code]-1]++
		return
	}
	name := unseen
	if code < len(levels) {
		name = levels[code]
	}
	a.add(name)
	if k, ok := a.index[name]; ok {
		if code >= len(a.byCode) {
			a.byCode = append(a.byCode, make([]int, code+1-len(a.byCode))...)
		}
		a.byCode[code] = k + 1
	}
}

// Missing adds a missing value to column i.
func (s *Sketch) Missing(i int) {
	if s.num[i] != nil {
		s.num[i].missing++
	} else {
		s.cat[i].missing++
	}
}

// Profile is what the sketch has seen.
func (s *Sketch) Profile() *Profile {
	p := &Profile{Rows: s.rows, PSIBins: s.ref.PSIBins, Rule: s.ref.Rule}
	for i, c := range s.ref.Columns {
		if s.num[i] != nil {
			p.Columns = append(p.Columns, s.num[i].profile(c.Name))
		} else {
			p.Columns = append(p.Columns, s.cat[i].profile(c.Name))
		}
	}
	return p
}

// ErrLayout marks profiles that cannot be merged.
var ErrLayout = errors.New("profiles of different references")

// Merge adds b's counts to a copy of a: the profile of both batches, as
// if they had been streamed as one. Both must be current sides of the
// same reference (the same columns and cells).
func Merge(a, b *Profile) (*Profile, error) {
	if len(a.Columns) != len(b.Columns) {
		return nil, fmt.Errorf("%w: %d columns against %d", ErrLayout, len(a.Columns), len(b.Columns))
	}
	out := &Profile{Rows: a.Rows + b.Rows, PSIBins: a.PSIBins, Rule: a.Rule}
	for i, x := range a.Columns {
		y := b.Columns[i]
		if x.Name != y.Name || x.Type != y.Type || !slices.Equal(x.Edges, y.Edges) {
			return nil, fmt.Errorf("%w: column %d is %s (%s, %d edges) in one, %s (%s, %d edges) in the other",
				ErrLayout, i+1, x.Name, x.Type, len(x.Edges), y.Name, y.Type, len(y.Edges))
		}
		if x.Numeric() {
			acc := accOf(x)
			acc.merge(accOf(y))
			out.Columns = append(out.Columns, acc.profile(x.Name))
		} else {
			acc := catAccOf(x)
			acc.merge(catAccOf(y))
			out.Columns = append(out.Columns, acc.profile(x.Name))
		}
	}
	return out, nil
}

// numAcc counts numbers in a layout of edges.
type numAcc struct {
	edges   []float64
	cellN   []int64
	cellSum []float64
	// offEdge counts the distinct values that are not edges (those are
	// counted by their point cells); nil once it outgrows MaxExact.
	offEdge  map[float64]int64
	n        int64
	missing  int64
	min, max float64
	sum      float64
	// A coarse index into edges: values in bucket b of lutN equal-width
	// buckets over [lo, hi] have their first edge >= v in
	// edges[lut[b]:lut[b+1]+1], so the search is a few steps, not ten.
	lut    []int32
	lo, dw float64
}

const lutN = 4096

func newNumAcc(edges []float64) *numAcc {
	k := 2*len(edges) + 1
	a := &numAcc{edges: edges, cellN: make([]int64, k), cellSum: make([]float64, k),
		offEdge: map[float64]int64{}, min: math.Inf(1), max: math.Inf(-1)}
	if len(edges) > 16 {
		lo, hi := edges[0], edges[len(edges)-1]
		if w := (hi - lo) / lutN; w > 0 && !math.IsInf(w, 0) {
			a.lo, a.dw = lo, 1/w
			a.lut = make([]int32, lutN+2)
			j := 0
			for b := range a.lut {
				x := lo + float64(b)/a.dw
				for j < len(edges) && edges[j] < x {
					j++
				}
				a.lut[b] = int32(j)
			}
		}
	}
	return a
}

// cell is the index of v's cell (see ColumnProfile).
func cell(edges []float64, v float64) int {
	return cellIn(edges, v, 0, len(edges))
}

// cellIn is cell, knowing that the first edge >= v is in edges[lo:hi+1].
func cellIn(edges []float64, v float64, lo, hi int) int {
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if edges[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(edges) && edges[lo] == v {
		return 2*lo + 1
	}
	return 2 * lo
}

func (a *numAcc) cell(v float64) int {
	if a.lut == nil {
		return cell(a.edges, v)
	}
	f := (v - a.lo) * a.dw
	if f < 0 {
		return 0
	}
	// Rounding may put v a bucket off, at either border (the top edge
	// itself may land at lutN): widen by one each side.
	b := int(min(f, lutN-1))
	return cellIn(a.edges, v, int(a.lut[max(b-1, 0)]), min(int(a.lut[b+2]), len(a.edges)))
}

func (a *numAcc) add(v float64) {
	a.n++
	a.sum += v
	if v < a.min {
		a.min = v
	}
	if v > a.max {
		a.max = v
	}
	c := a.cell(v)
	a.cellN[c]++
	a.cellSum[c] += v
	if c&1 == 0 && a.offEdge != nil {
		a.offEdge[v]++
		if len(a.offEdge) > MaxExact {
			a.offEdge = nil
		}
	}
}

func (a *numAcc) merge(b *numAcc) {
	a.n += b.n
	a.missing += b.missing
	a.sum += b.sum
	a.min, a.max = math.Min(a.min, b.min), math.Max(a.max, b.max)
	for i := range a.cellN {
		a.cellN[i] += b.cellN[i]
		a.cellSum[i] += b.cellSum[i]
	}
	if a.offEdge == nil || b.offEdge == nil {
		a.offEdge = nil
		return
	}
	for v, n := range b.offEdge {
		a.offEdge[v] += n
	}
	if len(a.offEdge) > MaxExact {
		a.offEdge = nil
	}
}

func (a *numAcc) profile(name string) *ColumnProfile {
	c := &ColumnProfile{Name: name, Type: "num", Count: a.n, Missing: a.missing, Sum: a.sum,
		Edges: a.edges, CellN: slices.Clone(a.cellN), CellSum: slices.Clone(a.cellSum)}
	if a.n > 0 {
		c.Min, c.Max = a.min, a.max
	}
	if a.offEdge == nil {
		return c
	}
	all := maps.Clone(a.offEdge)
	for i, e := range a.edges {
		if n := a.cellN[2*i+1]; n > 0 {
			all[e] = n
		}
	}
	if len(all) > MaxExact {
		return c
	}
	c.Exact = true
	c.Values = slices.Sorted(maps.Keys(all))
	for _, v := range c.Values {
		c.Counts = append(c.Counts, all[v])
	}
	return c
}

func accOf(c *ColumnProfile) *numAcc {
	a := newNumAcc(c.Edges)
	copy(a.cellN, c.CellN)
	copy(a.cellSum, c.CellSum)
	a.n, a.missing, a.sum = c.Count, c.Missing, c.Sum
	if c.Count > 0 {
		a.min, a.max = c.Min, c.Max
	}
	a.offEdge = nil
	if c.Exact {
		a.offEdge = map[float64]int64{}
		for i, v := range c.Values {
			if _, on := slices.BinarySearch(c.Edges, v); !on {
				a.offEdge[v] = c.Counts[i]
			}
		}
	}
	return a
}

// catAcc counts categories, the first MaxLevels by name.
type catAcc struct {
	index   map[string]int
	levels  []string
	counts  []int64
	other   int64
	missing int64
	byCode  []int // CategoryCode's cache: code -> index+1 (0: not yet)
}

func newCatAcc() *catAcc { return &catAcc{index: map[string]int{}} }

func (a *catAcc) add(s string) {
	if i, ok := a.index[s]; ok {
		a.counts[i]++
		return
	}
	a.insert(s, 1)
}

func (a *catAcc) addBytes(b []byte) {
	if i, ok := a.index[string(b)]; ok { // no allocation for the lookup
		a.counts[i]++
		return
	}
	a.insert(string(b), 1)
}

func (a *catAcc) insert(s string, n int64) {
	if len(a.levels) >= MaxLevels {
		a.other += n
		return
	}
	a.index[s] = len(a.levels)
	a.levels = append(a.levels, s)
	a.counts = append(a.counts, n)
}

func (a *catAcc) merge(b *catAcc) {
	a.missing += b.missing
	a.other += b.other
	for i, s := range b.levels {
		if j, ok := a.index[s]; ok {
			a.counts[j] += b.counts[i]
		} else {
			a.insert(s, b.counts[i])
		}
	}
}

func (a *catAcc) profile(name string) *ColumnProfile {
	c := &ColumnProfile{Name: name, Type: "cat", Missing: a.missing, Other: a.other, Exact: a.other == 0}
	order := make([]int, len(a.levels))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(i, j int) bool { return a.levels[order[i]] < a.levels[order[j]] })
	for _, i := range order {
		c.Levels = append(c.Levels, a.levels[i])
		c.Counts = append(c.Counts, a.counts[i])
		c.Count += a.counts[i]
	}
	c.Count += a.other
	return c
}

func catAccOf(c *ColumnProfile) *catAcc {
	a := newCatAcc()
	for i, s := range c.Levels {
		a.insert(s, c.Counts[i])
	}
	a.other, a.missing = c.Other, c.Missing
	return a
}

// Without is p less the named columns (ids, the target), each of which
// must be in p.
func Without(p *Profile, skip []string) (*Profile, error) {
	out := &Profile{Rows: p.Rows, PSIBins: p.PSIBins, Rule: p.Rule}
	for _, s := range skip {
		if p.Column(s) == nil {
			return nil, fmt.Errorf("--skip %s: the reference has no such column (it has %s)", s, strings.Join(names(p), ", "))
		}
	}
	for _, c := range p.Columns {
		if !slices.Contains(skip, c.Name) {
			out.Columns = append(out.Columns, c)
		}
	}
	return out, nil
}
