package monitor

import (
	"errors"
	"fmt"
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
	Rows    int64            `json:"rows"`
	PSIBins int              `json:"psi_bins"`
	Columns []*ColumnProfile `json:"columns"`
}

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
			q := quantileEdges(x, psiBins)
			psi = slices.Clone(q[1 : len(q)-1])
			edges = append(edges, psi...)
		}
		sort.Float64s(edges)
		edges = slices.Compact(edges)
		a := newNumAcc(edges)
		for _, v := range x {
			a.add(v)
		}
		a.missing = int64(len(c.Num) - len(x))
		cp := a.profile(c.Name)
		if len(x) > 0 {
			cp.Std = StdDev(x)
		}
		cp.PSIEdges = psi
		p.Columns = append(p.Columns, cp)
	}
	return p
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

// CategoryBytes is Category without allocating for a level seen before.
func (s *Sketch) CategoryBytes(i int, v []byte) {
	if len(v) == 0 {
		s.cat[i].missing++
		return
	}
	s.cat[i].addBytes(v)
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
	p := &Profile{Rows: s.rows, PSIBins: s.ref.PSIBins}
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
	out := &Profile{Rows: a.Rows + b.Rows, PSIBins: a.PSIBins}
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
	edges    []float64
	cellN    []int64
	cellSum  []float64
	distinct map[float64]int64 // nil once it outgrows MaxExact
	n        int64
	missing  int64
	min, max float64
	sum      float64
}

func newNumAcc(edges []float64) *numAcc {
	k := 2*len(edges) + 1
	return &numAcc{edges: edges, cellN: make([]int64, k), cellSum: make([]float64, k),
		distinct: map[float64]int64{}, min: math.Inf(1), max: math.Inf(-1)}
}

// cell is the index of v's cell (see ColumnProfile).
func cell(edges []float64, v float64) int {
	lo, hi := 0, len(edges) // first edge >= v
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

func (a *numAcc) add(v float64) {
	a.n++
	a.sum += v
	a.min = math.Min(a.min, v)
	a.max = math.Max(a.max, v)
	c := cell(a.edges, v)
	a.cellN[c]++
	a.cellSum[c] += v
	if a.distinct != nil {
		a.distinct[v]++
		if len(a.distinct) > MaxExact {
			a.distinct = nil
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
	if a.distinct == nil || b.distinct == nil {
		a.distinct = nil
		return
	}
	for v, n := range b.distinct {
		a.distinct[v] += n
	}
	if len(a.distinct) > MaxExact {
		a.distinct = nil
	}
}

func (a *numAcc) profile(name string) *ColumnProfile {
	c := &ColumnProfile{Name: name, Type: "num", Count: a.n, Missing: a.missing, Sum: a.sum,
		Edges: a.edges, CellN: slices.Clone(a.cellN), CellSum: slices.Clone(a.cellSum)}
	if a.n > 0 {
		c.Min, c.Max = a.min, a.max
	}
	if a.distinct != nil {
		c.Exact = true
		for v := range a.distinct {
			c.Values = append(c.Values, v)
		}
		sort.Float64s(c.Values)
		for _, v := range c.Values {
			c.Counts = append(c.Counts, a.distinct[v])
		}
	}
	return c
}

func accOf(c *ColumnProfile) *numAcc {
	a := &numAcc{edges: c.Edges, cellN: slices.Clone(c.CellN), cellSum: slices.Clone(c.CellSum),
		n: c.Count, missing: c.Missing, sum: c.Sum, min: math.Inf(1), max: math.Inf(-1)}
	if c.Count > 0 {
		a.min, a.max = c.Min, c.Max
	}
	if c.Exact {
		a.distinct = make(map[float64]int64, len(c.Values))
		for i, v := range c.Values {
			a.distinct[v] = c.Counts[i]
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
	out := &Profile{Rows: p.Rows, PSIBins: p.PSIBins}
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
