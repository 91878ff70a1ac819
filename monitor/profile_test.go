package monitor

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// columns draws a table of the kinds of columns the anchor makes, with a
// few missing values, and optionally shifted.
func columns(rng *rand.Rand, n int, shift float64) []Column {
	num := func(name string, f func() float64) Column {
		c := Column{Name: name, Numeric: true}
		for range n {
			v := f()
			if rng.Float64() < 0.02 {
				v = math.NaN()
			}
			c.Num = append(c.Num, v)
		}
		return c
	}
	cols := []Column{
		num("normal", func() float64 { return 10 + 2*rng.NormFloat64() + 2*shift }),
		num("lognormal", func() float64 { return math.Exp(1 + 0.6*rng.NormFloat64() + shift) }),
		num("ints4", func() float64 { return float64(rng.IntN(4)) + math.Round(shift) }),
		num("binary", func() float64 { return float64(rng.IntN(2)) }),
		num("grid", func() float64 { return math.Round(100*rng.Float64()+10*shift) / 4 }),
		drawCategories(rng, n, shift > 0),
	}
	return cols
}

// TestProfilesAgreeWithValues: the profile path (the reference summarised
// at training, the current side sketched while streaming) gives Compare's
// test, its value within 1e-9 where it says it is exact and within 0.01
// where it says it is approximate, and the same PSI, over references
// either side of the exact limits.
func TestProfilesAgreeWithValues(t *testing.T) {
	var exactWorst, approxWorst float64
	approxCount := 0
	for _, tc := range []struct{ ref, cur int }{{50, 70}, {800, 800}, {1000, 3000}, {1001, 500}, {5000, 5000}, {20000, 4000}} {
		for _, shift := range []float64{0, 0.5} {
			rng := rand.New(rand.NewPCG(uint64(tc.ref), uint64(tc.cur)))
			ref, cur := columns(rng, tc.ref, 0), columns(rng, tc.cur, shift)
			o := Options{PSIBins: 10}
			rep := viaProfiles(t, ref, cur, o)
			for j, g := range rep.Columns {
				w := Compare(ref[j], cur[j], tc.ref, o)
				name := fmt.Sprintf("%d/%d rows, shift %g, %s", tc.ref, tc.cur, shift, w.Column)
				d := math.Max(math.Abs(g.Value-w.Value), math.Abs(g.PSI-w.PSI))
				tol := 1e-9
				if g.Approx {
					tol = 0.01
					approxWorst = math.Max(approxWorst, d)
					approxCount++
				} else {
					exactWorst = math.Max(exactWorst, d)
				}
				if g.Test != w.Test || d > tol {
					t.Errorf("%s: profiles %+v, values %+v", name, g, w)
				}
				if g.Drift != w.Drift && math.Abs(w.Value-w.Threshold) > tol {
					t.Errorf("%s: verdict %v, from the values %v", name, g.Drift, w.Drift)
				}
				if !g.AtLeast && g.NUnique != w.NUnique || g.AtLeast && g.NUnique > w.NUnique {
					t.Errorf("%s: %d distinct values, from the values %d", name, g.NUnique, w.NUnique)
				}
			}
		}
	}
	if approxCount == 0 {
		t.Fatal("no summarised column: the test no longer covers them")
	}
	t.Logf("largest difference %.3g where exact, %.3g where summarised (%d values)", exactWorst, approxWorst, approxCount)
}

// TestMergeIsExact: a batch sketched in shards and merged (through JSON,
// as shards write them) is the batch sketched whole.
func TestMergeIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ref := ProfileReference(columns(rng, 5000, 0), 10)
	cur := columns(rng, 3000, 0.5)
	sketch := func(from, to int) *Profile {
		s := NewSketch(ref)
		for row := from; row < to; row++ {
			s.Row()
			for i, c := range cur {
				if c.Numeric {
					s.Number(i, c.Num[row])
				} else {
					s.Category(i, c.Cat[row])
				}
			}
		}
		b, err := json.Marshal(s.Profile())
		if err != nil {
			t.Fatal(err)
		}
		var p Profile
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	whole := sketch(0, 3000)
	merged := sketch(0, 1000)
	for _, part := range [][2]int{{1000, 1700}, {1700, 3000}} {
		var err error
		if merged, err = Merge(merged, sketch(part[0], part[1])); err != nil {
			t.Fatal(err)
		}
	}
	if merged.Rows != whole.Rows {
		t.Fatalf("rows %d, whole %d", merged.Rows, whole.Rows)
	}
	for i, w := range whole.Columns {
		m := merged.Columns[i]
		if fmt.Sprint(m.CellN, m.Counts, m.Levels, m.Values, m.Missing, m.Count, m.Min, m.Max) != fmt.Sprint(w.CellN, w.Counts, w.Levels, w.Values, w.Missing, w.Count, w.Min, w.Max) {
			t.Errorf("%s: merged counts differ from the whole batch's", w.Name)
		}
		for j := range w.CellSum {
			if math.Abs(m.CellSum[j]-w.CellSum[j]) > 1e-12*math.Abs(w.CellSum[j]) {
				t.Errorf("%s: cell %d sums to %v merged, %v whole", w.Name, j, m.CellSum[j], w.CellSum[j])
			}
		}
	}
	a, err := CompareProfiles(ref, whole, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := CompareProfiles(ref, merged, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Columns {
		if math.Abs(a.Columns[i].Value-b.Columns[i].Value) > 1e-12 || a.Columns[i].Drift != b.Columns[i].Drift {
			t.Errorf("%s: %+v merged, %+v whole", a.Columns[i].Column, b.Columns[i], a.Columns[i])
		}
	}
	other := ProfileReference(columns(rng, 100, 0), 10)
	if _, err := Merge(whole, NewSketch(other).Profile()); err == nil {
		t.Error("merged the sketches of two references")
	}
}

// TestOverrides: a column's test and threshold can be chosen, and a test
// that cannot apply is refused with the column's name.
func TestOverrides(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ref, cur := columns(rng, 5000, 0), columns(rng, 5000, 0.5)
	rp := ProfileReference(ref, 10)
	cp := sketchColumns(rp, cur)
	rep, err := CompareProfiles(rp, cp, nil, Options{
		Tests:      map[string]string{"normal": "ks", "cat": "chisquare", "lognormal": "psi"},
		Thresholds: map[string]float64{"normal": 0.001},
	})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Result{}
	for _, r := range rep.Columns {
		byName[r.Column] = r
	}
	if r := byName["normal"]; r.Test != "ks" || r.Threshold != 0.001 || !r.Drift {
		t.Errorf("normal: %+v", r)
	}
	if r := byName["cat"]; r.Test != "chisquare" || r.Threshold != 0.05 || !r.Drift {
		t.Errorf("cat: %+v", r)
	}
	if r := byName["lognormal"]; r.Test != "psi" || r.Value != r.PSI || r.Threshold != 0.25 || !r.Drift {
		t.Errorf("lognormal: %+v", r)
	}
	for _, o := range []Options{
		{Tests: map[string]string{"cat": "ks"}},
		{Tests: map[string]string{"normal": "t-test"}},
		{Tests: map[string]string{"nope": "ks"}},
		{Thresholds: map[string]float64{"nope": 1}},
	} {
		if _, err := CompareProfiles(rp, cp, nil, o); err == nil {
			t.Errorf("%+v: no error", o)
		} else {
			t.Log(err)
		}
	}
}

func sketchColumns(ref *Profile, cur []Column) *Profile {
	s := NewSketch(ref)
	for i, c := range cur {
		if c.Numeric {
			for _, v := range c.Num {
				s.Number(i, v)
			}
		} else {
			for _, v := range c.Cat {
				s.Category(i, v)
			}
		}
	}
	s.rows = int64(max(len(cur[0].Num), len(cur[0].Cat)))
	return s.Profile()
}

// TestCellIndex: the coarse index finds the cell the binary search finds,
// for values at, between and beyond the edges.
func TestCellIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var random [][]float64
	for k := range 200 {
		c := Column{Name: "x", Numeric: true}
		lo, span := rng.NormFloat64()*math.Pow(10, float64(rng.IntN(6))), math.Pow(10, float64(rng.IntN(8)-3))
		for range 2000 {
			c.Num = append(c.Num, lo+span*rng.Float64())
		}
		if k%2 == 0 {
			c.Num[0] = lo + span // the top edge exactly at the index's end
		}
		random = append(random, ProfileReference([]Column{c}, 10).Columns[0].Edges)
	}
	for _, edges := range append(random, [][]float64{
		ProfileReference([]Column{columns(rng, 20000, 0)[1]}, 10).Columns[0].Edges, // lognormal quantiles
		ProfileReference([]Column{columns(rng, 20000, 0)[0]}, 10).Columns[0].Edges, // normal quantiles
		{-1e300, -1, 0, 1e-300, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 1e300},
	}...) {
		a := newNumAcc(edges)
		if len(edges) > 16 && a.lut == nil {
			t.Fatal("no index")
		}
		var probes []float64
		for i, e := range edges {
			probes = append(probes, e, math.Nextafter(e, math.Inf(-1)), math.Nextafter(e, math.Inf(1)))
			if i > 0 {
				probes = append(probes, (e+edges[i-1])/2)
			}
		}
		for range 500 {
			probes = append(probes, edges[0]+(edges[len(edges)-1]-edges[0])*(1.2*rng.Float64()-0.1))
		}
		probes = append(probes, math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64)
		for _, v := range probes {
			if got, want := a.cell(v), cell(edges, v); got != want {
				t.Fatalf("%v in %d edges: cell %d, the search says %d", v, len(edges), got, want)
			}
		}
	}
}

// TestCategoryCode: counting by code is counting by name.
func TestCategoryCode(t *testing.T) {
	levels := []string{"a", "b", "c"}
	ref := ProfileReference([]Column{{Name: "k", Cat: []string{"a", "b", "c", "b"}}}, 10)
	byName, byCode := NewSketch(ref), NewSketch(ref)
	rng := rand.New(rand.NewPCG(9, 9))
	for range 1000 {
		code := rng.IntN(6) - 1 // -1 missing, 3 and 4 unseen
		name := "(unseen)"
		switch {
		case code < 0:
			name = ""
		case code < 3:
			name = levels[code]
		}
		byName.Category(0, name)
		byCode.CategoryCode(0, code, levels, "(unseen)")
	}
	a, b := byName.Profile().Columns[0], byCode.Profile().Columns[0]
	if fmt.Sprint(a.Levels, a.Counts, a.Missing) != fmt.Sprint(b.Levels, b.Counts, b.Missing) {
		t.Errorf("by code %v %v %d, by name %v %v %d", b.Levels, b.Counts, b.Missing, a.Levels, a.Counts, a.Missing)
	}
}
