package monitor

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
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

// chunked numbers: appending never copies what is already there.
type chunks [][]float64

const chunkLen = 1 << 16

func (c *chunks) add(v float64) {
	if n := len(*c); n == 0 || len((*c)[n-1]) == chunkLen {
		*c = append(*c, make([]float64, 0, chunkLen))
	}
	last := &(*c)[len(*c)-1]
	*last = append(*last, v)
}

// refWorker is one goroutine's share of a reference table.
type refWorker struct {
	rows    int64
	nums    []chunks
	missing []int64
	cats    []*catAcc
}

// ProfileCSV is the reference profile of a CSV table (its columns but
// skip), read in one pass on workers goroutines (0: one per CPU): numbers
// are kept (8 bytes each) and sorted once per column, as ProfileReference
// needs; categories are counted. A column is numeric when every cell that
// is not missing is a number, as pandas reads it; a column found to hold
// text after numbers is read again from the start as text, which is what
// r's Seek is for.
func ProfileCSV(ctx context.Context, name string, r io.ReadSeeker, skip []string, psiBins, workers int) (*Profile, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var header []string
	var text []atomic.Bool // a column found to hold text
	var keep []int         // header indices profiled
	ws := make([]*refWorker, workers)
	scan := func(asText map[int]bool) error {
		return dataset.ScanCSV(ctx, name, r, func(h []string) ([]dataset.RowFunc, error) {
			if header == nil {
				header = h
				text = make([]atomic.Bool, len(h))
				for _, s := range skip {
					if !slices.Contains(h, s) {
						return nil, fmt.Errorf("--skip %s: %s has no such column (have: %s)", s, name, strings.Join(h, ", "))
					}
				}
				for j, c := range h {
					if !slices.Contains(skip, c) {
						keep = append(keep, j)
					}
				}
			}
			var rows []dataset.RowFunc
			for w := range ws {
				if ws[w] == nil {
					ws[w] = &refWorker{nums: make([]chunks, len(h)), missing: make([]int64, len(h)), cats: make([]*catAcc, len(h))}
				}
				rw := ws[w]
				rows = append(rows, func(line int, f [][]byte) error {
					if asText == nil {
						rw.rows++
					}
					for _, j := range keep {
						b := f[j]
						if asText != nil {
							if asText[j] {
								if missingCell(b) {
									rw.missing[j]++
								} else {
									rw.cats[j].addBytes(b)
								}
							}
							continue
						}
						if missingCell(b) {
							rw.missing[j]++
							continue
						}
						if text[j].Load() {
							continue
						}
						v, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
						if err != nil || math.IsInf(v, 0) {
							text[j].Store(true)
							continue
						}
						rw.nums[j].add(v)
					}
					return nil
				})
			}
			return rows, nil
		})
	}
	if err := scan(nil); err != nil {
		return nil, err
	}
	asText := map[int]bool{}
	for _, j := range keep {
		if text[j].Load() {
			asText[j] = true
		}
	}
	if len(asText) > 0 {
		for _, rw := range ws {
			for j := range asText {
				rw.nums[j], rw.missing[j], rw.cats[j] = nil, 0, newCatAcc()
			}
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		if err := scan(asText); err != nil {
			return nil, err
		}
	}
	if psiBins <= 0 {
		psiBins = 10
	}
	p := &Profile{PSIBins: psiBins}
	for _, rw := range ws {
		p.Rows += rw.rows
	}
	for _, j := range keep {
		var missing int64
		for _, rw := range ws {
			missing += rw.missing[j]
		}
		if asText[j] {
			acc := newCatAcc()
			for _, rw := range ws {
				acc.merge(rw.cats[j])
			}
			acc.missing = missing
			p.Columns = append(p.Columns, acc.profile(header[j]))
			continue
		}
		n := 0
		for _, rw := range ws {
			for _, c := range rw.nums[j] {
				n += len(c)
			}
		}
		x := make([]float64, 0, n)
		for _, rw := range ws {
			for _, c := range rw.nums[j] {
				x = append(x, c...)
			}
			rw.nums[j] = nil // free as we go: one column's copy at a time
		}
		slices.Sort(x)
		p.Columns = append(p.Columns, profileSorted(header[j], x, missing, psiBins))
	}
	return p, nil
}
