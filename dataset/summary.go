package dataset

import (
	"slices"

	"github.com/reckon-ml/reckon/metrics"
)

// ColumnSummary describes one column for `reckon data inspect`.
type ColumnSummary struct {
	Name    string         `json:"name"`
	Type    Type           `json:"type"`
	Missing int            `json:"missing"`
	Min     *float64       `json:"min,omitempty"`
	Max     *float64       `json:"max,omitempty"`
	Mean    *float64       `json:"mean,omitempty"`
	Std     *float64       `json:"std,omitempty"`
	Levels  int            `json:"distinct"`
	Counts  map[string]int `json:"counts,omitempty"` // categorical with at most maxListedLevels levels
}

// TableSummary is the inspection report of a table.
type TableSummary struct {
	Source       string          `json:"source"`
	Rows         int             `json:"rows"`
	Hash         string          `json:"hash"`
	Columns      []ColumnSummary `json:"columns"`
	Target       string          `json:"target,omitempty"`
	ClassBalance map[string]int  `json:"class_balance,omitempty"`
}

const maxListedLevels = 50

// Summarize computes per-column statistics. target names the class column
// to report the balance of; "" picks the last column when it looks like a
// class label (categorical, or integer with at most 20 distinct values).
func Summarize(t *Table, target string) TableSummary {
	s := TableSummary{Source: t.Source, Rows: t.Rows(), Hash: t.Hash()}
	for i := range t.Columns {
		s.Columns = append(s.Columns, summarizeColumn(&t.Columns[i]))
	}
	if target == "" && len(s.Columns) > 0 {
		last := s.Columns[len(s.Columns)-1]
		if last.Type == Categorical || (last.Type == Int && last.Levels <= 20) {
			target = last.Name
		}
	}
	if c := t.Column(target); c != nil {
		s.Target = target
		s.ClassBalance = map[string]int{}
		for i := range c.Len() {
			if !c.IsMissing(i) {
				s.ClassBalance[c.String(i)]++
			}
		}
	}
	return s
}

func summarizeColumn(c *Column) ColumnSummary {
	cs := ColumnSummary{Name: c.Name, Type: c.Type}
	n := c.Len()
	for i := range n {
		if c.IsMissing(i) {
			cs.Missing++
		}
	}
	if c.Type == Categorical {
		cs.Levels = len(c.Levels)
		if cs.Levels <= maxListedLevels {
			cs.Counts = map[string]int{}
			for _, code := range c.Codes {
				if code >= 0 {
					cs.Counts[c.Levels[code]]++
				}
			}
		}
		return cs
	}
	var vals []float64
	for i := range n {
		if !c.IsMissing(i) {
			vals = append(vals, c.Float(i))
		}
	}
	if len(vals) == 0 {
		return cs
	}
	lo, hi := slices.Min(vals), slices.Max(vals)
	mean, std := meanStd(vals)
	cs.Min, cs.Max, cs.Mean, cs.Std = &lo, &hi, &mean, &std
	slices.Sort(vals)
	cs.Levels = len(slices.Compact(vals))
	return cs
}

// meanStd is metrics.MeanSD (the sample standard deviation, n-1).
func meanStd(v []float64) (mean, std float64) { return metrics.MeanSD(v) }
