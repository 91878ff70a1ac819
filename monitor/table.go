package monitor

import (
	"fmt"
	"math"

	"github.com/reckon-ml/reckon/dataset"
)

// Report is the drift of a whole table, in the anchor's words.
type Report struct {
	DatasetDrift bool            `json:"dataset_drift"`
	Drifted      int             `json:"drifted"`
	RefRows      int             `json:"ref_rows"`
	CurRows      int             `json:"cur_rows"`
	Columns      []Result        `json:"columns"`
	hists        map[string]Hist // for HTML
}

// CompareTables tests every column of the reference against the current
// table's column of the same name (skip names columns left out, such as
// ids or the target). A reference column the current table lacks is an
// error naming it; a column whose type differs between the two is
// compared as categories.
func CompareTables(ref, cur *dataset.Table, skip []string, o Options) (*Report, error) {
	skipped := map[string]bool{}
	for _, s := range skip {
		if ref.Column(s) == nil {
			return nil, fmt.Errorf("--skip %s: %s has no such column", s, ref.Source)
		}
		skipped[s] = true
	}
	rep := &Report{RefRows: ref.Rows(), CurRows: cur.Rows(), hists: map[string]Hist{}}
	for _, rc := range ref.Columns {
		if skipped[rc.Name] {
			continue
		}
		cc := cur.Column(rc.Name)
		if cc == nil {
			return nil, fmt.Errorf("%s: no column %q, which %s has (leave it out with --skip %s)", cur.Source, rc.Name, ref.Source, rc.Name)
		}
		a, b := fromDataset(rc), fromDataset(*cc)
		if a.Numeric != b.Numeric {
			a, b = asCategories(a), asCategories(b)
		}
		r := Compare(a, b, rep.RefRows, o)
		rep.hists[r.Column] = histOf(a, b)
		if r.Drift {
			rep.Drifted++
		}
		rep.Columns = append(rep.Columns, r)
	}
	rep.DatasetDrift = DatasetDrift(rep.Columns)
	return rep, nil
}

func fromDataset(c dataset.Column) Column {
	out := Column{Name: c.Name, Numeric: c.Type != dataset.Categorical}
	n := max(len(c.Floats), len(c.Ints), len(c.Codes))
	missing := func(i int) bool { return i < len(c.Missing) && c.Missing[i] }
	for i := range n {
		switch {
		case c.Type == dataset.Float:
			v := c.Floats[i]
			if missing(i) {
				v = math.NaN()
			}
			out.Num = append(out.Num, v)
		case c.Type == dataset.Int:
			v := float64(c.Ints[i])
			if missing(i) {
				v = math.NaN()
			}
			out.Num = append(out.Num, v)
		default:
			s := ""
			if !missing(i) {
				s = c.Levels[c.Codes[i]]
			}
			out.Cat = append(out.Cat, s)
		}
	}
	return out
}

func asCategories(c Column) Column {
	if !c.Numeric {
		return c
	}
	out := Column{Name: c.Name}
	for _, k := range c.Num {
		s := ""
		if !math.IsNaN(k) {
			s = numKeys([]float64{k})[0]
		}
		out.Cat = append(out.Cat, s)
	}
	return out
}
