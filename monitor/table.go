package monitor

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/reckon-ml/reckon/dataset"
)

// Report is the drift of a whole table, in the anchor's words.
type Report struct {
	DatasetDrift bool                         `json:"dataset_drift"`
	Drifted      int                          `json:"drifted"`
	RefRows      int                          `json:"ref_rows"`
	CurRows      int                          `json:"cur_rows"`
	Columns      []Result                     `json:"columns"`
	profiles     map[string][2]*ColumnProfile // for HTML
}

// CompareTables tests every column of the reference table against the
// current table's column of the same name (skip leaves columns out, such
// as ids or the target), through their profiles.
func CompareTables(ref, cur *dataset.Table, skip []string, o Options) (*Report, error) {
	rp, err := ProfileTable(ref, skip, o.PSIBins)
	if err != nil {
		return nil, err
	}
	cp, err := SketchTable(cur, rp)
	if err != nil {
		return nil, err
	}
	return CompareProfiles(rp, cp, nil, o)
}

// ProfileTable is the reference profile of a table's columns but skip.
func ProfileTable(t *dataset.Table, skip []string, psiBins int) (*Profile, error) {
	for _, s := range skip {
		if t.Column(s) == nil {
			return nil, fmt.Errorf("--skip %s: %s has no such column", s, t.Source)
		}
	}
	var cols []Column
	for _, c := range t.Columns {
		if !slices.Contains(skip, c.Name) {
			cols = append(cols, fromDataset(c))
		}
	}
	p := ProfileReference(cols, psiBins)
	p.Rows = int64(t.Rows())
	return p, nil
}

// SketchTable is the current side of ref for a table: each reference
// column from the table's column of the same name, read as the reference
// reads it (numbers as numbers, anything else as text).
func SketchTable(t *dataset.Table, ref *Profile) (*Profile, error) {
	s := NewSketch(ref)
	for i, rc := range ref.Columns {
		c := t.Column(rc.Name)
		if c == nil {
			return nil, fmt.Errorf("%s: no column %q, which the reference has (leave it out with --skip %s)", t.Source, rc.Name, rc.Name)
		}
		for row := range t.Rows() {
			switch {
			case c.IsMissing(row):
				s.Missing(i)
			case !rc.Numeric():
				s.Category(i, c.String(row))
			case c.Type == dataset.Categorical:
				text := c.String(row)
				v, err := strconv.ParseFloat(text, 64)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: column %s: %q is not a number, and the reference's %s holds numbers", t.Source, t.Lines[row], rc.Name, dataset.Cut(text), rc.Name)
				}
				s.Number(i, v)
			default:
				s.Number(i, c.Float(row))
			}
		}
	}
	s.rows = int64(t.Rows())
	return s.Profile(), nil
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
