package dataset

import (
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestScanCSVAgreesWithEncodingCSV: records, fields and line numbers as
// encoding/csv reads them, for quoted commas, doubled quotes, newlines in
// quotes, CRLF and empty lines, with blocks small enough to cut anywhere.
func TestScanCSVAgreesWithEncodingCSV(t *testing.T) {
	defer func(n int) { scanBlock = n }(scanBlock)
	rng := rand.New(rand.NewPCG(1, 2))
	cell := func() string {
		switch rng.IntN(8) {
		case 0:
			return `"a,b"`
		case 1:
			return `"say ""hi"""`
		case 2:
			return "\"two\nlines\""
		case 3:
			return ""
		default:
			return fmt.Sprint(rng.NormFloat64())
		}
	}
	var b strings.Builder
	b.WriteString("x,y,z\n")
	for i := range 3000 {
		if i%97 == 0 {
			b.WriteString("\n")
		}
		b.WriteString(cell() + "," + cell() + "," + cell())
		if i%5 == 0 {
			b.WriteString("\r")
		}
		b.WriteString("\n")
	}
	text := b.String()
	cr := csv.NewReader(strings.NewReader(text))
	var want []string
	if _, err := cr.Read(); err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := cr.Read()
		if err != nil {
			break
		}
		line, _ := cr.FieldPos(0)
		want = append(want, fmt.Sprintf("%06d %q", line, rec))
	}
	for _, block := range []int{64, 1000, 1 << 20} {
		scanBlock = block
		got := make([][]string, 3)
		err := ScanCSV(context.Background(), "t.csv", strings.NewReader(text), func(h []string) ([]RowFunc, error) {
			if !slices.Equal(h, []string{"x", "y", "z"}) {
				t.Fatalf("header %q", h)
			}
			var rows []RowFunc
			for w := range got {
				rows = append(rows, func(line int, f [][]byte) error {
					var rec []string
					for _, x := range f {
						rec = append(rec, string(x))
					}
					got[w] = append(got[w], fmt.Sprintf("%06d %q", line, rec))
					return nil
				})
			}
			return rows, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		all := append(append(got[0], got[1]...), got[2]...)
		sort.Strings(all)
		if !slices.Equal(all, want) {
			for i := range min(len(all), len(want)) {
				if all[i] != want[i] {
					t.Fatalf("blocks of %d: record %d is %s, encoding/csv: %s", block, i, all[i], want[i])
				}
			}
			t.Fatalf("blocks of %d: %d records, encoding/csv %d", block, len(all), len(want))
		}
	}
}

// TestScanCSVErrors: the first bad record in file order, named by line.
func TestScanCSVErrors(t *testing.T) {
	defer func(n int) { scanBlock = n }(scanBlock)
	scanBlock = 32
	many := "a,b\n" + strings.Repeat("1,2\n", 200)
	for _, tc := range []struct{ in, want string }{
		{many + "1,2,3\n" + strings.Repeat("1,2\n", 50) + "4\n", "t.csv:202: 3 fields, the header has 2"},
		{"a,b\n1,\"open\n2,3\n", "t.csv:2: a quoted field is not closed"},
		{"a,b\n1,\"x\"y\n", "t.csv:2: text after a quoted field's closing quote"},
		{"", "t.csv: empty file: no header line"},
		{"a,a\n1,2\n", "duplicate column name"},
	} {
		err := ScanCSV(context.Background(), "t.csv", strings.NewReader(tc.in), func(h []string) ([]RowFunc, error) {
			f := func(int, [][]byte) error { return nil }
			return []RowFunc{f, f, f}, nil
		})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.30q: %v, want %q", tc.in, err, tc.want)
		}
	}
}
