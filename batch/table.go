package batch

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/tabular"
)

// blockLines is how many records a table is read in at a time: memory
// holds one block, whatever the file's size.
const blockLines = 8192

// TableInput streams CSV files for a tabular model: every row is a record,
// identified by the idColumn's value ("" : the column "id" when there is
// one, else FILE:LINE). Files are read in blocks with the model's column
// types, so a cell that does not parse (or a malformed line) fails its own
// record only. A file whose columns do not fit the model's schema (a
// feature missing, or numeric in the model but mostly text in the file's
// first block) fails the whole job with the list of what is wrong.
func TableInput(paths []string, idColumn string, m *tabular.Model) (Source, Scorer, []Input, error) {
	src := &tableSource{m: m, idCol: idColumn, paths: paths, names: recordPrefixes(paths)}
	var inputs []Input
	for _, p := range paths {
		h, lines, err := hashAndCount(p)
		if err != nil {
			return nil, nil, nil, err
		}
		inputs = append(inputs, Input{Path: p, Hash: h})
		src.estimate += max(lines-1, 0)
		if err := checkSchema(p, m); err != nil {
			return nil, nil, nil, err
		}
	}
	return src, &tableScorer{m: m}, inputs, nil
}

// recordPrefixes names each input for its FILE:LINE record ids: the base
// name, unless two inputs share it (patients.csv in two directories), then
// the path as given, so that ids stay unique across the inputs of a job.
func recordPrefixes(paths []string) map[string]string {
	count := map[string]int{}
	for _, p := range paths {
		count[filepath.Base(p)]++
	}
	out := map[string]string{}
	for _, p := range paths {
		out[p] = filepath.Base(p)
		if count[filepath.Base(p)] > 1 {
			out[p] = filepath.ToSlash(filepath.Clean(p))
		}
	}
	return out
}

func hashAndCount(path string) (string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	lines := 0
	buf := make([]byte, 1<<20)
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		lines += bytes.Count(buf[:n], []byte{'\n'})
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), lines, nil
}

// checkSchema reads a file's header and first block: every feature must be
// there, and a numeric feature must not be text in most of its cells.
func checkSchema(path string, m *tabular.Model) error {
	br, err := openBlocks(path)
	if err != nil {
		return err
	}
	defer br.close()
	se := &tabular.SchemaError{Source: path}
	idx := map[string]int{}
	for i, c := range br.header {
		idx[c] = i
	}
	for _, f := range m.Schema.Features {
		if _, ok := idx[f.Name]; !ok {
			se.Missing = append(se.Missing, f.Name)
		}
	}
	if len(se.Missing) > 0 {
		return se
	}
	_, text, err := br.block(blockLines)
	if err != nil || text == nil {
		return err
	}
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	r.Read() // the header
	bad, seen := map[string]int{}, map[string]int{}
	for {
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			continue // a malformed line is one record's problem
		}
		for _, f := range m.Schema.Features {
			i := idx[f.Name]
			if f.Type == dataset.Categorical || i >= len(row) || slices.Contains(dataset.DefaultMissing, strings.TrimSpace(row[i])) {
				continue
			}
			seen[f.Name]++
			if _, err := strconv.ParseFloat(strings.TrimSpace(row[i]), 64); err != nil {
				bad[f.Name]++
			}
		}
	}
	for _, f := range m.Schema.Features {
		if seen[f.Name] > 0 && 2*bad[f.Name] > seen[f.Name] {
			se.Mistyped = append(se.Mistyped, fmt.Sprintf("%s (model: %s, data: text in %d of %d cells)", f.Name, f.Type, bad[f.Name], seen[f.Name]))
		}
	}
	if len(se.Mistyped) > 0 {
		return se
	}
	return nil
}

// blockReader cuts a CSV file into blocks of whole records (a quoted field
// may span lines), each readable on its own behind the header line.
type blockReader struct {
	f      *os.File
	r      *bufio.Reader
	head   string
	header []string
	line   int // lines consumed so far
}

func openBlocks(path string) (*blockReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// Through the same text reader as training (BOM, old Mac line
	// endings, UTF-8, bounded lines): a model reads what it was trained
	// on the way it was read then.
	b := &blockReader{f: f, r: bufio.NewReaderSize(dataset.NewTextReader(path, f, dataset.DefaultLimits), 1<<20)}
	head, err := b.r.ReadString('\n')
	if err != nil && (err != io.EOF || head == "") {
		f.Close()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty file", path)
		}
		return nil, err
	}
	b.line = 1
	b.head = strings.TrimRight(head, "\r\n")
	if b.header, err = csv.NewReader(strings.NewReader(b.head)).Read(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s:1: header: %w", path, err)
	}
	for i := range b.header {
		b.header[i] = strings.TrimSpace(b.header[i])
	}
	return b, nil
}

func (b *blockReader) close() { b.f.Close() }

// block returns the file line of the block's first record and the block as
// CSV text with the header first; nil at the end of the file.
func (b *blockReader) block(records int) (int, []byte, error) {
	var buf bytes.Buffer
	buf.WriteString(b.head)
	buf.WriteByte('\n')
	first, n := b.line+1, 0
	inQuotes := false
	for n < records || inQuotes {
		s, err := b.r.ReadString('\n')
		if s != "" {
			b.line++
			buf.WriteString(s)
			if !strings.HasSuffix(s, "\n") {
				buf.WriteByte('\n')
			}
			if strings.Count(s, `"`)%2 == 1 {
				inQuotes = !inQuotes
			}
			if !inQuotes && strings.TrimSpace(s) != "" {
				n++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, nil, err
		}
	}
	if n == 0 {
		return 0, nil, nil
	}
	return first, buf.Bytes(), nil
}

// tableSource reads the files block by block.
type tableSource struct {
	m        *tabular.Model
	idCol    string
	paths    []string
	names    map[string]string // path -> the prefix of its FILE:LINE ids
	estimate int
	file     int
	br       *blockReader
	any      bool // the current file gave a block
	buf      []Record
}

func (s *tableSource) Estimate() int { return s.estimate }

func (s *tableSource) Next(n int) ([]Record, error) {
	for len(s.buf) == 0 {
		if s.br == nil {
			if s.file == len(s.paths) {
				return nil, nil
			}
			br, err := openBlocks(s.paths[s.file])
			if err != nil {
				return nil, err
			}
			s.br = br
		}
		first, text, err := s.br.block(blockLines)
		if err != nil {
			return nil, err
		}
		if text == nil {
			s.br.close()
			if !s.any {
				return nil, fmt.Errorf("%s: no records after the header row", s.paths[s.file])
			}
			s.br, s.file, s.any = nil, s.file+1, false
			continue
		}
		s.any = true
		if s.buf, err = s.records(s.paths[s.file], first, text); err != nil {
			return nil, err
		}
	}
	k := min(n, len(s.buf))
	out := s.buf[:k:k]
	s.buf = s.buf[k:]
	return out, nil
}

// records parses one block: valid rows encoded with the model's schema,
// set-aside rows as failed records, in line order.
func (s *tableSource) records(path string, first int, text []byte) ([]Record, error) {
	types := map[string]dataset.Type{}
	for _, c := range s.br.header {
		types[c] = dataset.Categorical // ids, the target, other columns: text
	}
	for _, f := range s.m.Schema.Features {
		if f.Type == dataset.Categorical {
			types[f.Name] = dataset.Categorical
		} else {
			types[f.Name] = dataset.Float
		}
	}
	var aside bytes.Buffer
	t, _, err := dataset.ReadCSV(path, bytes.NewReader(text), dataset.ReadOptions{Types: types, OnError: dataset.SetAside, ErrorsTo: &aside, Checked: true})
	if err != nil {
		return nil, err
	}
	// The target plays no part in prediction (it may be empty or hold
	// other labels in new data).
	t.Columns = slices.DeleteFunc(t.Columns, func(c dataset.Column) bool { return c.Name == s.m.Schema.Target })
	fr, err := s.m.Schema.Encode(t)
	if err != nil {
		return nil, fmt.Errorf("%s does not fit the model's schema: %w", path, err)
	}
	global := func(rel int) int { return first + rel - 2 }
	idCol := s.idCol
	if idCol == "" && t.Column("id") != nil {
		idCol = "id"
	}
	var ids *dataset.Column
	if idCol != "" {
		if ids = t.Column(idCol); ids == nil {
			return nil, fmt.Errorf("%s: no id column %q (columns: %s)", path, idCol, strings.Join(s.br.header, ", "))
		}
	}
	base := s.names[path]
	var all []asideRow
	for i := 0; i < fr.Rows; i++ {
		id := base + ":" + strconv.Itoa(global(t.Lines[i]))
		if ids != nil && !ids.IsMissing(i) {
			id = ids.String(i)
		}
		all = append(all, asideRow{global(t.Lines[i]), Record{ID: id, Row: fr.X[i*fr.Cols : (i+1)*fr.Cols]}})
	}
	bad, err := setAside(aside.Bytes(), base, idCol, global)
	if err != nil {
		return nil, err
	}
	all = append(all, bad...)
	slices.SortStableFunc(all, func(a, b asideRow) int { return a.line - b.line })
	recs := make([]Record, len(all))
	for i, a := range all {
		recs[i] = a.rec
	}
	return recs, nil
}

// asideRow is a record with the source line it starts on.
type asideRow struct {
	line int
	rec  Record
}

// setAside turns the reader's set-aside rows (line, column, error, the
// row's fields) into failed records; global maps block lines to file lines.
func setAside(b []byte, base, idCol string, global func(int) int) ([]asideRow, error) {
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
		rel, _ := strconv.Atoi(row[0])
		line := global(rel)
		id := base + ":" + strconv.Itoa(line)
		if idCol != "" {
			if i := slices.Index(header, idCol); i >= 3 && i < len(row) && strings.TrimSpace(row[i]) != "" {
				id = strings.TrimSpace(row[i])
			}
		}
		var reason string
		if row[1] != "" {
			cell := ""
			if i := slices.Index(header, row[1]); i >= 3 && i < len(row) {
				cell = fmt.Sprintf(" %q", row[i])
			}
			reason = fmt.Sprintf("line %d: column %q:%s %s", line, row[1], cell, row[2])
		} else {
			reason = fmt.Sprintf("line %d: %s", line, row[2])
		}
		out = append(out, asideRow{line, Record{ID: id, Stage: "read", Reason: reason}})
	}
}

type tableScorer struct {
	m *tabular.Model
}

func (s *tableScorer) Columns() []string {
	cols := []string{"prediction"} // a regression's predicted value
	if s.m.Schema.Regression() {
		return cols
	}
	for _, c := range s.m.Schema.Classes {
		cols = append(cols, "p_"+c)
	}
	return cols
}

// adjacent reports whether b's row starts right where a's ends in memory
// (rows of one block are: their slices keep the block's capacity), so a
// chunk can be viewed instead of copied.
func adjacent(a, b []float64) bool {
	if cap(a) <= len(a) || len(b) == 0 {
		return false
	}
	return &a[:len(a)+1][len(a)] == &b[0]
}

func (s *tableScorer) Worker() (func([]Record) []Outcome, error) {
	m, err := s.m.Replica()
	if err != nil {
		return nil, err
	}
	cols := len(m.Schema.Features)
	cat := make([]bool, cols)
	for j, f := range m.Schema.Features {
		cat[j] = f.Type == dataset.Categorical
	}
	return func(recs []Record) []Outcome {
		f := &tabular.Frame{Rows: len(recs), Cols: cols, Categorical: cat}
		contiguous := true
		for i := 1; i < len(recs) && contiguous; i++ {
			contiguous = adjacent(recs[i-1].Row, recs[i].Row)
		}
		if contiguous {
			first := recs[0].Row
			f.X = first[: len(recs)*cols : len(recs)*cols]
		} else {
			f.X = make([]float64, 0, len(recs)*cols)
			for _, r := range recs {
				f.X = append(f.X, r.Row...)
			}
		}
		out := make([]Outcome, len(recs))
		if m.Schema.Regression() {
			return predictValues(m, f, out)
		}
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
			fl := fields[i*(K+1) : (i+1)*(K+1) : (i+1)*(K+1)]
			fl[0] = m.Schema.Classes[cls[i]]
			for k := 0; k < K; k++ {
				fl[k+1] = str[start:ends[i*K+k]]
				start = ends[i*K+k]
			}
			out[i] = Outcome{Fields: fl}
		}
		return out
	}, nil
}

// predictValues fills out with a regression's predicted values, one field
// each (full precision: a value read back is the value predicted).
func predictValues(m *tabular.Model, f *tabular.Frame, out []Outcome) []Outcome {
	v, err := m.PredictThreads(f, 1)
	if err != nil {
		for i := range out {
			out[i] = Outcome{Stage: "predict", Reason: err.Error()}
		}
		return out
	}
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			out[i] = Outcome{Stage: "predict", Reason: fmt.Sprintf("non-finite prediction %g", x)}
			continue
		}
		out[i] = Outcome{Fields: []string{strconv.FormatFloat(x, 'g', -1, 64)}}
	}
	return out
}

// FrameRecords are the rows of an encoded frame as records (ids 0, 1, ...),
// viewing the frame's memory: for benchmarks.
func FrameRecords(f *tabular.Frame) []Record {
	recs := make([]Record, f.Rows)
	for i := range recs {
		recs[i] = Record{ID: strconv.Itoa(i), Row: f.X[i*f.Cols : (i+1)*f.Cols]}
	}
	return recs
}

// FrameScorer scores records made by FrameRecords (or TableInput) with m.
func FrameScorer(m *tabular.Model) Scorer { return &tableScorer{m: m} }

// Reference implements Profiler: the model's training profile.
func (s *tableScorer) Reference() *monitor.Profile { return s.m.Reference }

// Observe implements Profiler: the row's features and predicted class.
func (s *tableScorer) Observe(sk *monitor.Sketch, r Record, o Outcome) {
	if r.Stage != "" || o.Stage != "" || len(o.Fields) == 0 {
		return
	}
	s.m.Observe(sk, r.Row, o.Fields[0])
}
