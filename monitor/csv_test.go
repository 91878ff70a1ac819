package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestProfileCSV: a reference streamed from CSV on several goroutines
// (more than one block) is the profile of its columns in memory, with
// pandas' typing: a column with one text cell, late in the file, is read
// again as text; ids can be skipped.
func TestProfileCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n := 150000 // about 6 MB: two blocks at least
	cols := columns(rng, n, 0)
	var b bytes.Buffer
	b.WriteString("id,normal,lognormal,ints4,binary,grid,cat,mixed\n")
	mixed := Column{Name: "mixed"}
	for i := range n {
		fmt.Fprintf(&b, "%d", i)
		for _, c := range cols {
			b.WriteByte(',')
			if c.Numeric {
				if !math.IsNaN(c.Num[i]) {
					b.WriteString(strconv.FormatFloat(c.Num[i], 'g', -1, 64))
				}
			} else {
				fmt.Fprintf(&b, "%q", c.Cat[i]) // quoted
			}
		}
		m := strconv.Itoa(i % 7)
		if i == n-10 {
			m = "seven"
		}
		mixed.Cat = append(mixed.Cat, m)
		b.WriteString("," + m + "\n")
	}
	got, err := ProfileCSV(context.Background(), "t.csv", bytes.NewReader(b.Bytes()), []string{"id"}, 10, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := ProfileReference(append(cols, mixed), 10)
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		for i := range want.Columns {
			g, _ := json.Marshal(got.Columns[i])
			w, _ := json.Marshal(want.Columns[i])
			if !bytes.Equal(g, w) {
				t.Errorf("%s: streamed %.300s\nin memory %.300s", want.Columns[i].Name, g, w)
			}
		}
		t.Fatalf("profiles differ (rows %d, %d)", got.Rows, want.Rows)
	}
	if _, err := ProfileCSV(context.Background(), "t.csv", strings.NewReader("a,b\n1,2\n"), []string{"c"}, 10, 2); err == nil || !strings.Contains(err.Error(), "--skip c") {
		t.Errorf("skipping a missing column: %v", err)
	}
}
