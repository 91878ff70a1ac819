package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Type is a column's value type.
type Type int

const (
	Float Type = iota
	Int
	Categorical
)

func (t Type) String() string {
	switch t {
	case Float:
		return "float64"
	case Int:
		return "int64"
	case Categorical:
		return "categorical"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// MarshalText makes types readable in JSON reports.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads what MarshalText wrote.
func (t *Type) UnmarshalText(b []byte) error {
	v, err := ParseType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseType accepts the names users type on the command line.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "float", "float64", "double", "number":
		return Float, nil
	case "int", "int64", "integer":
		return Int, nil
	case "categorical", "category", "string", "str", "cat":
		return Categorical, nil
	}
	return 0, fmt.Errorf("unknown column type %q (want float, int or categorical)", s)
}

// Column holds one typed column. Exactly one of Floats, Ints or Codes is set.
// Missing[i] marks a missing cell (nil when the column has none); a missing
// float is also NaN and a missing categorical code is -1.
type Column struct {
	Name    string
	Type    Type
	Floats  []float64
	Ints    []int64
	Codes   []int32
	Levels  []string // categorical: code -> text, in order of first appearance
	Missing []bool
}

// Len is the number of rows.
func (c *Column) Len() int {
	switch c.Type {
	case Int:
		return len(c.Ints)
	case Categorical:
		return len(c.Codes)
	}
	return len(c.Floats)
}

func (c *Column) capacity() int {
	switch c.Type {
	case Int:
		return cap(c.Ints)
	case Categorical:
		return cap(c.Codes)
	}
	return cap(c.Floats)
}

// IsMissing reports whether row i is missing.
func (c *Column) IsMissing(i int) bool { return c.Missing != nil && c.Missing[i] }

// Float returns row i as a float64 (NaN when missing; categorical codes as numbers).
func (c *Column) Float(i int) float64 {
	if c.IsMissing(i) {
		return math.NaN()
	}
	switch c.Type {
	case Int:
		return float64(c.Ints[i])
	case Categorical:
		return float64(c.Codes[i])
	}
	return c.Floats[i]
}

// String returns row i as text ("" when missing).
func (c *Column) String(i int) string {
	if c.IsMissing(i) {
		return ""
	}
	switch c.Type {
	case Int:
		return strconv.FormatInt(c.Ints[i], 10)
	case Categorical:
		return c.Levels[c.Codes[i]]
	}
	return strconv.FormatFloat(c.Floats[i], 'g', -1, 64)
}

// Table is a set of equally long typed columns read from one source.
type Table struct {
	Source  string
	Columns []Column
	// Lines[i] is the 1-based line in Source where row i starts, so later
	// stages (prediction, validation) can point users back at the file.
	Lines []int
}

// Rows is the number of rows.
func (t *Table) Rows() int { return len(t.Lines) }

// Column returns the column with the given name, or nil.
func (t *Table) Column(name string) *Column {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i]
		}
	}
	return nil
}

// Names lists the column names in file order.
func (t *Table) Names() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// Policy decides what happens to a row that does not parse.
type Policy int

const (
	// Fail stops at the first bad row with an error naming it.
	Fail Policy = iota
	// SetAside writes bad rows to an errors file and reads on.
	SetAside
)

// ParsePolicy accepts "fail" and "set-aside".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "fail":
		return Fail, nil
	case "set-aside", "setaside", "set_aside":
		return SetAside, nil
	}
	return 0, fmt.Errorf("unknown error policy %q (want fail or set-aside)", s)
}

func (p Policy) String() string {
	if p == SetAside {
		return "set-aside"
	}
	return "fail"
}

// CellError locates one problem in a file.
type CellError struct {
	File   string
	Line   int
	Column string // empty for whole-row problems
	Text   string
	Reason string
}

func (e *CellError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d", e.File, e.Line)
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", Cut(e.Column))
	}
	if e.Text != "" || e.Column != "" {
		fmt.Fprintf(&b, ": %q", Cut(e.Text))
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	return b.String()
}

// Cut shortens a cell's or a name's text for a message: whatever a file
// holds, an error quotes at most 64 bytes of it and says how long it was.
func Cut(s string) string { return CutAt(s, 64) }

// CutAt keeps at most the first keep bytes of s (whole UTF-8 sequences),
// noting the full length when it cuts.
func CutAt(s string, keep int) string {
	if len(s) <= keep {
		return s
	}
	n := keep
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:n], len(s))
}

// DefaultMissing are the cell texts read as missing values.
var DefaultMissing = []string{"", "NA", "NaN"}

// ReadOptions configures ReadCSV. The zero value infers every type, fails on
// the first bad row and treats DefaultMissing as missing.
type ReadOptions struct {
	Types   map[string]Type // per-column overrides of the inferred type
	Missing []string        // nil means DefaultMissing
	OnError Policy
	// ErrorsTo receives set-aside rows as CSV (line, column, error, then the
	// row's own fields). Required with SetAside.
	ErrorsTo io.Writer
	// Checked: r is already text read through NewTextReader (a block of a
	// file a caller streams through one), so its checks are not repeated.
	Checked bool
	// MaxBadShare is the share of unparsable cells a column may have and
	// still be inferred numeric, those cells becoming errors; 0 means 0.02.
	MaxBadShare float64
}

// ReadReport says what ReadCSV did besides returning the table.
type ReadReport struct {
	Rows        int          `json:"rows"`
	SetAside    int          `json:"set_aside"`
	Errors      []*CellError `json:"-"` // the first maxKeptErrors set-aside problems
	ErrorsTotal int          `json:"errors"`
}

const maxKeptErrors = 100

// colStats accumulates what type inference needs from the first pass.
type colStats struct {
	missing, ints, floats, bad int
}

// ReadCSV reads a CSV file with a header row into a typed table in two
// streaming passes: the first infers each column's type, the second parses
// into typed storage. Neither pass keeps the file's text, so a large file is
// held in memory once, as typed values. name is used in messages.
func ReadCSV(name string, r io.ReadSeeker, opt ReadOptions) (*Table, *ReadReport, error) {
	if opt.OnError == SetAside && opt.ErrorsTo == nil {
		return nil, nil, errors.New("dataset: set-aside policy needs an errors writer")
	}
	missing := opt.Missing
	if missing == nil {
		missing = DefaultMissing
	}
	isMissing := func(s string) bool { return slices.Contains(missing, s) }
	share := opt.MaxBadShare
	if share == 0 {
		share = 0.02
	}

	// Pass 1: header and type inference.
	cr, header, _, err := readHeader(name, r, "a header row", opt.Checked)
	if err != nil {
		return nil, nil, err
	}
	for col := range opt.Types {
		if !slices.Contains(header, col) {
			return nil, nil, fmt.Errorf("%s: type override for unknown column %q (columns: %s)", name, col, strings.Join(header, ", "))
		}
	}
	stats := make([]colStats, len(header))
	forced := make([]bool, len(header))
	for j, h := range header {
		_, forced[j] = opt.Types[h]
	}
	records := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if _, ok := err.(*csv.ParseError); ok {
				continue // reported with its line in pass 2
			}
			return nil, nil, csvErr(name, err)
		}
		records++
		if len(rec) != len(header) {
			continue
		}
		for j, s := range rec {
			if forced[j] {
				continue // typed by the caller: nothing to infer
			}
			st := &stats[j]
			switch {
			case isMissing(s):
				st.missing++
			case isInt(s):
				st.ints++
			case isFloat(s):
				st.floats++
			default:
				st.bad++
			}
		}
	}
	types := make([]Type, len(header))
	for j, h := range header {
		if t, ok := opt.Types[h]; ok {
			types[j] = t
			continue
		}
		types[j] = inferType(stats[j], share)
	}

	// Pass 2: typed parse.
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	cr = newCSVReader(name, r, opt.Checked)
	if _, err := cr.Read(); err != nil {
		return nil, nil, csvErr(name, err)
	}
	// Exact capacities from pass 1: appends never regrow, so peak memory is
	// the typed values themselves.
	t := &Table{Source: name, Columns: make([]Column, len(header)), Lines: make([]int, 0, records)}
	levels := make([]map[string]int32, len(header))
	for j := range header {
		c := Column{Name: header[j], Type: types[j]}
		switch types[j] {
		case Float:
			c.Floats = make([]float64, 0, records)
		case Int:
			c.Ints = make([]int64, 0, records)
		case Categorical:
			c.Codes = make([]int32, 0, records)
			levels[j] = map[string]int32{}
		}
		t.Columns[j] = c
	}
	rep := &ReadReport{}
	var ew *csv.Writer
	if opt.OnError == SetAside {
		ew = csv.NewWriter(opt.ErrorsTo)
		ew.Write(append([]string{"line", "column", "error"}, header...))
	}
	setAside := func(e *CellError, rec []string) error {
		if opt.OnError == Fail {
			return e
		}
		rep.SetAside++
		rep.ErrorsTotal++
		if len(rep.Errors) < maxKeptErrors {
			rep.Errors = append(rep.Errors, e)
		}
		return ew.Write(append([]string{strconv.Itoa(e.Line), e.Column, e.Reason}, rec...))
	}

	vals := make([]cell, len(header))
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, nil, csvErr(name, err)
			}
			ce := &CellError{File: name, Line: pe.Line, Reason: pe.Err.Error()}
			if pe.Column > 0 && pe.Column <= len(header) {
				ce.Column = header[pe.Column-1]
			}
			if err := setAside(ce, rec); err != nil {
				return nil, nil, err
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			ce := &CellError{File: name, Line: line, Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))}
			if err := setAside(ce, rec); err != nil {
				return nil, nil, err
			}
			continue
		}
		var bad *CellError
		for j, s := range rec {
			v, reason := parseCell(s, types[j], isMissing)
			if reason != "" {
				l, _ := cr.FieldPos(j)
				bad = &CellError{File: name, Line: l, Column: header[j], Text: s, Reason: reason}
				break
			}
			vals[j] = v
		}
		if bad != nil {
			if err := setAside(bad, rec); err != nil {
				return nil, nil, err
			}
			continue
		}
		row := len(t.Lines)
		for j := range t.Columns {
			appendCell(&t.Columns[j], levels[j], vals[j], rec[j], row)
		}
		t.Lines = append(t.Lines, line)
	}
	if ew != nil {
		ew.Flush()
		if err := ew.Error(); err != nil {
			return nil, nil, fmt.Errorf("writing errors file: %w", err)
		}
	}
	rep.Rows = t.Rows()
	return t, rep, nil
}

// readHeader starts a CSV read: it checks the header row and returns the
// reader positioned on the first data row, the header and its column index.
// expect says what an empty file should have held.
func readHeader(name string, r io.Reader, expect string, checked bool) (*csv.Reader, []string, map[string]int, error) {
	cr := newCSVReader(name, r, checked)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, nil, nil, fmt.Errorf("%s: file is empty (expected %s)", name, expect)
	}
	if err != nil {
		return nil, nil, nil, csvErr(name, err)
	}
	header = slices.Clone(header)
	if err := checkHeader(name, header); err != nil {
		return nil, nil, nil, err
	}
	col := make(map[string]int, len(header))
	for j, h := range header {
		col[strings.TrimSpace(h)] = j
	}
	return cr, header, col, nil
}

// requireColumns names every required column the header lacks.
func requireColumns(name string, header []string, col map[string]int, req ...string) error {
	var missing []string
	for _, c := range req {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s:1: missing required column(s) %s (have: %s)", name, strings.Join(missing, ", "), strings.Join(header, ", "))
	}
	return nil
}

// newCSVReader reads r through NewTextReader (BOM, line endings, UTF-8,
// bounded lines) with the default limits, unless checked: r is already
// such text (a block of a file streamed through one).
func newCSVReader(name string, r io.Reader, checked bool) *csv.Reader {
	if !checked {
		r = NewTextReader(name, r, DefaultLimits)
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

func csvErr(name string, err error) error {
	var te *TextError
	if errors.As(err, &te) {
		return te
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &CellError{File: name, Line: pe.Line, Reason: pe.Err.Error()}
	}
	return fmt.Errorf("%s: %w", name, err)
}

func checkHeader(name string, header []string) error {
	seen := map[string]int{}
	for j, h := range header {
		if strings.TrimSpace(h) == "" {
			return &CellError{File: name, Line: 1, Reason: fmt.Sprintf("header field %d is empty; every column needs a name", j+1)}
		}
		if len(h) > DefaultLimits.MaxName {
			return &CellError{File: name, Line: 1, Column: Cut(h), Reason: fmt.Sprintf("header field %d is a name of %d bytes (at most %d): is the first line really a header?", j+1, len(h), DefaultLimits.MaxName)}
		}
		if k, dup := seen[h]; dup {
			return &CellError{File: name, Line: 1, Column: h, Text: h, Reason: fmt.Sprintf("duplicate column name (fields %d and %d)", k+1, j+1)}
		}
		seen[h] = j
	}
	return nil
}

// inferType is numeric unless more than a small share of the non-missing
// cells fail to parse. A column that is numeric except for a few cells stays
// numeric, and those cells become errors, where pandas would silently turn
// the whole column into strings.
func inferType(st colStats, share float64) Type {
	numeric := st.ints + st.floats
	if numeric == 0 {
		if st.bad == 0 {
			return Float // entirely missing
		}
		return Categorical
	}
	allowed := max(1, int(share*float64(numeric+st.bad)))
	if st.bad > 0 && (numeric < 10 || st.bad > allowed) {
		return Categorical
	}
	if st.floats == 0 {
		return Int
	}
	return Float
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

func isFloat(s string) bool {
	v, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(v, 0)
}

type cell struct {
	f       float64
	i       int64
	missing bool
}

// parseCell returns the value of s for type t, or a reason it cannot be one.
func parseCell(s string, t Type, isMissing func(string) bool) (cell, string) {
	if isMissing(s) {
		return cell{missing: true, f: math.NaN()}, ""
	}
	switch t {
	case Int:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			if f, ferr := strconv.ParseFloat(s, 64); ferr == nil {
				switch {
				case math.IsInf(f, 0):
					return cell{}, "infinite value"
				case math.IsNaN(f):
					return cell{missing: true}, ""
				case f == math.Trunc(f) && math.Abs(f) < 1<<53:
					return cell{i: int64(f)}, "" // "3.0" in an integer column
				}
			}
			return cell{}, "not an integer"
		}
		return cell{i: v}, ""
	case Float:
		v, err := strconv.ParseFloat(s, 64)
		switch {
		case err != nil:
			return cell{}, "not a number"
		case math.IsInf(v, 0):
			return cell{}, "infinite value"
		case math.IsNaN(v):
			return cell{missing: true, f: v}, ""
		}
		return cell{f: v}, ""
	}
	return cell{}, ""
}

func appendCell(c *Column, levels map[string]int32, v cell, text string, row int) {
	if v.missing && c.Missing == nil {
		c.Missing = make([]bool, row, c.capacity())
	}
	if c.Missing != nil {
		c.Missing = append(c.Missing, v.missing)
	}
	switch c.Type {
	case Float:
		if v.missing {
			v.f = math.NaN()
		}
		c.Floats = append(c.Floats, v.f)
	case Int:
		c.Ints = append(c.Ints, v.i)
	case Categorical:
		code := int32(-1)
		if !v.missing {
			var ok bool
			if code, ok = levels[text]; !ok {
				code = int32(len(c.Levels))
				levels[text] = code
				c.Levels = append(c.Levels, strings.Clone(text))
			}
		}
		c.Codes = append(c.Codes, code)
	}
}
