package store

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// DiffRow is one line of two runs side by side.
type DiffRow struct {
	Key     string `json:"key"`
	A       string `json:"a"`
	B       string `json:"b"`
	Differs bool   `json:"differs"`
}

// RunDiff lines up two runs.
type RunDiff struct {
	A    string    `json:"a"`
	B    string    `json:"b"`
	Rows []DiffRow `json:"rows"`
}

// Diff lines up identity, parameters, inputs and last metrics of two runs
// ("-" where one has no value); metrics differ beyond a relative 1e-12.
func Diff(a, b Run) RunDiff {
	d := RunDiff{A: a.ID, B: b.ID}
	add := func(k, x, y string) { d.Rows = append(d.Rows, DiffRow{k, x, y, x != y}) }
	add("name", a.Name, b.Name)
	add("status", string(a.Status), string(b.Status))
	add("code", a.CodeVersion, b.CodeVersion)
	add("seed", fmt.Sprint(a.Seed), fmt.Sprint(b.Seed))
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	strs := func(prefix string, x, y map[string]string) {
		keys := slices.Sorted(maps.Keys(x))
		for k := range y {
			if _, ok := x[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			add(prefix+k, dash(x[k]), dash(y[k]))
		}
	}
	strs("param ", a.Params, b.Params)
	strs("input ", a.Inputs, b.Inputs)
	keys := map[string]bool{}
	for _, m := range []map[string]float64{a.Last, b.Last} {
		for k := range m {
			if !strings.HasPrefix(k, FoldPrefix) {
				keys[k] = true
			}
		}
	}
	num := func(m map[string]float64, k string) string {
		v, ok := m[k]
		if !ok {
			return "-"
		}
		return fmt.Sprintf("%.6g", v)
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		row := DiffRow{"metric " + k, num(a.Last, k), num(b.Last, k), false}
		x, okx := a.Last[k]
		y, oky := b.Last[k]
		row.Differs = okx != oky || (okx && math.Abs(x-y) > 1e-12*math.Max(1, math.Abs(x)))
		d.Rows = append(d.Rows, row)
	}
	return d
}

// ParseSort reads a run ordering written metric:KEY (ascending) or
// metric:KEY:desc into the query.
func (q *Query) ParseSort(s string) error {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || parts[0] != "metric" || parts[1] == "" || len(parts) > 3 || (len(parts) == 3 && parts[2] != "asc" && parts[2] != "desc") {
		return fmt.Errorf("%q: want metric:KEY or metric:KEY:desc", s)
	}
	q.SortMetric, q.Desc = parts[1], len(parts) == 3 && parts[2] == "desc"
	return nil
}
