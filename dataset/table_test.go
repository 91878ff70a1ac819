package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
)

func readString(t *testing.T, s string, opt ReadOptions) (*Table, *ReadReport, error) {
	t.Helper()
	return ReadCSV("test.csv", strings.NewReader(s), opt)
}

func TestReadCSVInfersTypesAndMissing(t *testing.T) {
	f, err := os.Open("testdata/mixed.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, rep, err := ReadCSV("testdata/mixed.csv", f, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Type{"id": Int, "score": Float, "count": Int, "city": Categorical, "flag": Categorical, "empty": Float}
	for name, typ := range want {
		if c := tab.Column(name); c == nil || c.Type != typ {
			t.Errorf("column %s: got %v, want %v", name, c, typ)
		}
	}
	if rep.Rows != 4 || tab.Rows() != 4 {
		t.Fatalf("rows %d", rep.Rows)
	}
	score := tab.Column("score")
	if !score.IsMissing(2) || !math.IsNaN(score.Floats[2]) || score.Floats[3] != 2.25 {
		t.Errorf("score: %v %v", score.Floats, score.Missing)
	}
	if c := tab.Column("count"); !c.IsMissing(3) || c.Ints[1] != 4 {
		t.Errorf("count: %v %v", c.Ints, c.Missing)
	}
	city := tab.Column("city")
	if city.String(0) != "Paris" || city.String(2) != "Paris" || city.Codes[0] != city.Codes[2] || len(city.Levels) != 3 {
		t.Errorf("city: %v %v", city.Codes, city.Levels)
	}
	if tab.Lines[0] != 2 || tab.Lines[3] != 5 {
		t.Errorf("lines %v", tab.Lines)
	}
}

func TestReadCSVOverride(t *testing.T) {
	tab, _, err := readString(t, "zip,v\n01234,1\n98765,2\n", ReadOptions{Types: map[string]Type{"zip": Categorical, "v": Float}})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Column("zip").String(0) != "01234" || tab.Column("v").Type != Float {
		t.Errorf("override not applied: %+v", tab.Columns)
	}
	_, _, err = readString(t, "a\n1\n", ReadOptions{Types: map[string]Type{"b": Int}})
	if err == nil || !strings.Contains(err.Error(), `unknown column "b"`) {
		t.Errorf("override of unknown column: %v", err)
	}
}

// numericWithBadCell builds a 60-row numeric CSV whose line `line` has text
// bad in column "b".
func numericWithBadCell(line int, bad string) string {
	var sb strings.Builder
	sb.WriteString("a,b,label\n")
	for i := 2; i <= 61; i++ {
		b := fmt.Sprintf("%d.5", i)
		if i == line {
			b = bad
		}
		fmt.Fprintf(&sb, "%d,%s,%s\n", i, b, []string{"x", "y"}[i%2])
	}
	return sb.String()
}

// A column that is numeric except for a few cells stays numeric and the
// cells are errors; pandas would silently make it a string column.
func TestReadCSVBadNumberFails(t *testing.T) {
	_, _, err := readString(t, numericWithBadCell(37, "12.x3"), ReadOptions{})
	var ce *CellError
	if !errors.As(err, &ce) {
		t.Fatalf("got %v, want a CellError", err)
	}
	if ce.Line != 37 || ce.Column != "b" || ce.Text != "12.x3" || ce.File != "test.csv" {
		t.Errorf("error %+v", ce)
	}
	for _, part := range []string{"test.csv:37", `column "b"`, `"12.x3"`} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("message %q lacks %q", err, part)
		}
	}
}

func TestReadCSVSetAside(t *testing.T) {
	var errs bytes.Buffer
	tab, rep, err := readString(t, numericWithBadCell(37, "12.x3"), ReadOptions{OnError: SetAside, ErrorsTo: &errs})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows() != 59 || rep.SetAside != 1 || tab.Column("b").Type != Float {
		t.Errorf("rows %d set aside %d type %v", tab.Rows(), rep.SetAside, tab.Column("b").Type)
	}
	recs, err := csv.NewReader(&errs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("errors file has %d records, want header + 1", len(recs))
	}
	if got := strings.Join(recs[1], ","); got != "37,b,not a number,37,12.x3,y" {
		t.Errorf("errors row %q", got)
	}
	for _, line := range tab.Lines {
		if line == 37 {
			t.Error("line 37 is still in the table")
		}
	}
}

func TestReadCSVManyBadCellsMakeCategorical(t *testing.T) {
	s := "v\n" + strings.Repeat("1\n", 20) + strings.Repeat("abc\n", 5)
	tab, _, err := readString(t, s, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Column("v").Type != Categorical {
		t.Errorf("type %v, want categorical for 20%% text", tab.Column("v").Type)
	}
}

func TestReadCSVStructuralErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty file", "", "file is empty"},
		{"duplicate header", "a,b,a\n1,2,3\n", `duplicate column name`},
		{"empty header", "a,,c\n1,2,3\n", "header field 2 is empty"},
		{"ragged row", "a,b\n1,2\n3\n", "test.csv:3: has 1 fields, the header has 2"},
		{"bare quote", "a,b\n1,2\n3,x\"y\n", "test.csv:3"},
		{"infinite", "a\n" + strings.Repeat("1\n", 12) + "inf\n", `test.csv:14: column "a": "inf": infinite value`},
		{"int with fraction", "a\n" + strings.Repeat("1\n", 12) + "2.5\n", ""},
	}
	for _, c := range cases {
		_, _, err := readString(t, c.in, ReadOptions{})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: unexpected error %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func TestReadCSVHeaderOnlyAndBOM(t *testing.T) {
	tab, _, err := readString(t, "\ufeffa,b\n", ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Rows() != 0 || tab.Columns[0].Name != "a" {
		t.Errorf("rows %d, first column %q", tab.Rows(), tab.Columns[0].Name)
	}
}

func TestReadCSVQuotedMultiline(t *testing.T) {
	tab, _, err := readString(t, "note,v\n\"two\nlines\",1\nplain,x\n", ReadOptions{Types: map[string]Type{"v": Categorical}})
	if err != nil {
		t.Fatal(err)
	}
	if tab.Column("note").String(0) != "two\nlines" || tab.Lines[1] != 4 {
		t.Errorf("note %q, lines %v", tab.Column("note").String(0), tab.Lines)
	}
}

func TestTumorExample(t *testing.T) {
	f, err := os.Open("../examples/tumor/breast_cancer_wisconsin_clean.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, _, err := ReadCSV(f.Name(), f, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := Summarize(tab, "")
	if s.Rows != 569 || s.Target != "diagnosis" || s.ClassBalance["malignant"] != 212 || s.ClassBalance["benign"] != 357 {
		t.Errorf("rows %d target %q balance %v", s.Rows, s.Target, s.ClassBalance)
	}
	for _, c := range s.Columns[:30] {
		if c.Type != Float || c.Missing != 0 {
			t.Errorf("column %s: %v, %d missing", c.Name, c.Type, c.Missing)
		}
	}
	// Spot values against the file (row 0) and sklearn's column means.
	if v := tab.Column("mean_radius").Floats[0]; v != 17.99 {
		t.Errorf("mean_radius[0] = %g", v)
	}
	if m := *s.Columns[0].Mean; math.Abs(m-14.127291739894552) > 1e-9 {
		t.Errorf("mean of mean_radius %.15g, numpy gives 14.127291739894552", m)
	}
}

func TestTableHash(t *testing.T) {
	h := func(s string) string {
		tab, _, err := readString(t, s, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tab.Hash()
	}
	base := h("a,b\n1.0,x\n2,y\n")
	if got := h("a,b\n1,x\n2.00,y\n"); got != base {
		t.Error("number formatting changed the hash")
	}
	if got := h("b,a\nx,1.0\ny,2\n"); got != base {
		t.Error("column order changed the hash")
	}
	if got := h("a,b\n2,y\n1,x\n"); got == base {
		t.Error("row order did not change the hash (splits refer to row positions)")
	}
	if got := h("a,b\n1,x\n3,y\n"); got == base {
		t.Error("a changed value kept the hash")
	}
	if got := h("a,b\n1,x\nNA,y\n"); got == h("a,b\n1,x\n,y\n") && got == base {
		t.Error("missing value collides with a number")
	}
	if !strings.HasPrefix(base, "sha256:") || len(base) != 7+64 {
		t.Errorf("hash %q", base)
	}
}

// The reader streams: after a read, the live heap holds the typed values
// (8 bytes a cell plus the line index), not the file's text.
func TestReadCSVHoldsOnlyTypedValues(t *testing.T) {
	const rows, cols = 50000, 20
	var sb strings.Builder
	for j := range cols {
		fmt.Fprintf(&sb, "column_number_%d,", j)
	}
	sb.WriteString("y\n")
	for i := range rows {
		for j := range cols {
			fmt.Fprintf(&sb, "%.9f,", float64(i*cols+j)/7)
		}
		sb.WriteString("1\n")
	}
	text := sb.String()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab, _, err := ReadCSV("big.csv", strings.NewReader(text), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	typed := int64(rows * (cols + 2) * 8)
	t.Logf("text %d bytes, typed values %d bytes, live heap growth %d bytes", len(text), typed, live)
	if live > typed*5/4 {
		t.Errorf("reading kept %d bytes live for %d bytes of typed values", live, typed)
	}
	runtime.KeepAlive(tab)
	runtime.KeepAlive(text)
}
