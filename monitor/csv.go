package monitor

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"github.com/reckon-ml/reckon/dataset"
)

// SketchCSV streams a CSV file into the current side of ref, on workers
// goroutines (0: one per CPU) whose sketches are merged at the end: one
// pass, memory bounded by the columns, not the rows. Every reference
// column must be in the header; other columns are ignored. A cell of a
// numeric column that is not a number is an error naming the file, line
// and column.
func SketchCSV(ctx context.Context, name string, r io.Reader, ref *Profile, workers int) (*Profile, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	sketches := make([]*Sketch, workers)
	err := dataset.ScanCSV(ctx, name, r, func(header []string) ([]dataset.RowFunc, error) {
		at := map[string]int{}
		for j, h := range header {
			at[h] = j
		}
		idx := make([]int, len(ref.Columns))
		for i, c := range ref.Columns {
			j, ok := at[c.Name]
			if !ok {
				return nil, fmt.Errorf("%s:1: no column %q, which the reference has (have: %s)", name, c.Name, strings.Join(header, ", "))
			}
			idx[i] = j
		}
		var rows []dataset.RowFunc
		for w := range sketches {
			s := NewSketch(ref)
			sketches[w] = s
			rows = append(rows, func(line int, f [][]byte) error {
				s.rows++
				for i, j := range idx {
					b := f[j]
					if missingCell(b) {
						s.Missing(i)
						continue
					}
					if s.cat[i] != nil {
						s.cat[i].addBytes(b)
						continue
					}
					// No copy: ParseFloat keeps no reference to its
					// argument (its errors hold a copy).
					v, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
					if err != nil || math.IsInf(v, 0) {
						return fmt.Errorf("%d: column %s: %q is not a finite number, and the reference's %s holds numbers", line, ref.Columns[i].Name, dataset.Cut(string(b)), ref.Columns[i].Name)
					}
					s.num[i].add(v)
				}
				return nil
			})
		}
		return rows, nil
	})
	if err != nil {
		return nil, err
	}
	out := sketches[0].Profile()
	for _, s := range sketches[1:] {
		if out, err = Merge(out, s.Profile()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// missingCell is dataset.DefaultMissing: "", NA, NaN.
func missingCell(b []byte) bool {
	switch len(b) {
	case 0:
		return true
	case 2:
		return b[0] == 'N' && b[1] == 'A'
	case 3:
		return b[0] == 'N' && b[1] == 'a' && b[2] == 'N'
	}
	return false
}
