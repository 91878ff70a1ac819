package batch

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/tabular"
)

// NamedBytes is one input file's content.
type NamedBytes struct {
	Name string
	Data []byte
}

// TableInput reads CSV files for a tabular model: every row is a record,
// identified by the idColumn's value ("" : the column "id" when there is
// one, else FILE:LINE). Rows the reader sets aside (malformed lines, cells
// of the wrong type) become failed records; a file whose columns do not fit
// the model's schema fails the whole job with the list of what is wrong.
func TableInput(files []NamedBytes, idColumn string, m *tabular.Model) ([]Record, Scorer, []Input, error) {
	var recs []Record
	var inputs []Input
	sc := &tableScorer{m: m}
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		inputs = append(inputs, Input{Path: f.Name, Hash: hex.EncodeToString(sum[:])})
		var aside bytes.Buffer
		t, _, err := dataset.ReadCSV(f.Name, bytes.NewReader(f.Data), dataset.ReadOptions{OnError: dataset.SetAside, ErrorsTo: &aside})
		if err != nil {
			return nil, nil, nil, err
		}
		fr, err := m.Schema.Encode(t)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s does not fit the model's schema: %w", f.Name, err)
		}
		idCol := idColumn
		if idCol == "" && t.Column("id") != nil {
			idCol = "id"
		}
		var ids *dataset.Column
		if idCol != "" {
			if ids = t.Column(idCol); ids == nil {
				return nil, nil, nil, fmt.Errorf("%s: no id column %q (columns: %s)", f.Name, idCol, strings.Join(t.Names(), ", "))
			}
		}
		base := filepath.Base(f.Name)
		var all []asideRow
		offset := sc.rows
		for i := 0; i < fr.Rows; i++ {
			id := base + ":" + strconv.Itoa(t.Lines[i])
			if ids != nil {
				id = ids.String(i)
			}
			all = append(all, asideRow{t.Lines[i], Record{ID: id, Index: offset + i}})
		}
		bad, err := setAside(aside.Bytes(), base, idCol)
		if err != nil {
			return nil, nil, nil, err
		}
		all = append(all, bad...)
		slices.SortStableFunc(all, func(a, b asideRow) int { return a.line - b.line })
		for _, l := range all {
			recs = append(recs, l.rec)
		}
		sc.x = append(sc.x, fr.X...)
		sc.rows += fr.Rows
		sc.cols, sc.cat = fr.Cols, fr.Categorical
	}
	markDuplicates(recs)
	return recs, sc, inputs, nil
}

// asideRow is a record with the source line it starts on.
type asideRow struct {
	line int
	rec  Record
}

// setAside turns the reader's set-aside rows (line, column, error, the
// row's fields) into failed records.
func setAside(b []byte, base, idCol string) ([]asideRow, error) {
	if len(b) == 0 {
		return nil, nil
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	var header []string
	var out []asideRow
	for {
		row, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if header == nil && len(row) >= 3 && row[0] == "line" {
			header = row
			continue
		}
		if len(row) < 3 {
			continue
		}
		line, _ := strconv.Atoi(row[0])
		id := base + ":" + row[0]
		if idCol != "" {
			if i := slices.Index(header, idCol); i >= 0 && i < len(row) && strings.TrimSpace(row[i]) != "" {
				id = strings.TrimSpace(row[i])
			}
		}
		var reason string
		if row[1] != "" {
			cell := ""
			if i := slices.Index(header, row[1]); i >= 3 && i < len(row) {
				cell = fmt.Sprintf(" %q", row[i])
			}
			reason = fmt.Sprintf("line %s: column %q:%s %s", row[0], row[1], cell, row[2])
		} else {
			reason = fmt.Sprintf("line %s: %s", row[0], row[2])
		}
		out = append(out, asideRow{line, Record{ID: id, Index: -1, Stage: "read", Reason: reason}})
	}
}

// markDuplicates fails every record whose id was seen before: merged
// shards must hold each record once.
func markDuplicates(recs []Record) {
	first := map[string]int{}
	for i := range recs {
		if j, ok := first[recs[i].ID]; ok {
			if recs[i].Stage == "" {
				recs[i].Stage, recs[i].Reason, recs[i].Index = "validate", fmt.Sprintf("duplicate record id (first at record %d)", j+1), -1
			}
			continue
		}
		first[recs[i].ID] = i
	}
}

type tableScorer struct {
	m          *tabular.Model
	x          []float64
	rows, cols int
	cat        []bool
}

func (s *tableScorer) Columns() []string {
	cols := []string{"prediction"}
	for _, c := range s.m.Schema.Classes {
		cols = append(cols, "p_"+c)
	}
	return cols
}

func (s *tableScorer) Worker() (func([]Record) []Outcome, error) {
	m, err := s.m.Replica()
	if err != nil {
		return nil, err
	}
	return func(recs []Record) []Outcome {
		f := &tabular.Frame{Rows: len(recs), Cols: s.cols, Categorical: s.cat}
		consecutive := true
		for i := 1; i < len(recs) && consecutive; i++ {
			consecutive = recs[i].Index == recs[i-1].Index+1
		}
		if lo, hi := recs[0].Index, recs[len(recs)-1].Index; consecutive {
			// Consecutive rows (the usual case): a view, no copy.
			f.X = s.x[lo*s.cols : (hi+1)*s.cols : (hi+1)*s.cols]
		} else {
			f.X = make([]float64, 0, len(recs)*s.cols)
			for _, r := range recs {
				f.X = append(f.X, s.x[r.Index*s.cols:(r.Index+1)*s.cols]...)
			}
		}
		out := make([]Outcome, len(recs))
		p, err := m.ProbaThreads(f, 1)
		if err != nil {
			for i := range out {
				out[i] = Outcome{Stage: "predict", Reason: err.Error()}
			}
			return out
		}
		K := len(m.Schema.Classes)
		cls := m.Decide(p, len(recs))
		// All numbers of the chunk go into one buffer and one string; the
		// fields are slices of it (two allocations per chunk, not per
		// number).
		buf := make([]byte, 0, len(p)*14)
		ends := make([]int, len(p))
		for i, v := range p {
			buf = strconv.AppendFloat(buf, v, 'g', 10, 64)
			ends[i] = len(buf)
		}
		str := string(buf)
		fields := make([]string, len(recs)*(K+1))
		start := 0
		for i := range recs {
			f := fields[i*(K+1) : (i+1)*(K+1) : (i+1)*(K+1)]
			f[0] = m.Schema.Classes[cls[i]]
			for k := 0; k < K; k++ {
				f[k+1] = str[start:ends[i*K+k]]
				start = ends[i*K+k]
			}
			out[i] = Outcome{Fields: f}
		}
		return out
	}, nil
}

// FrameScorer scores the rows of an encoded frame (record Index = row).
func FrameScorer(m *tabular.Model, f *tabular.Frame) Scorer {
	return &tableScorer{m: m, x: f.X, rows: f.Rows, cols: f.Cols, cat: f.Categorical}
}
