package monitor

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// anchor is ../shared/bench/drift_anchor.py, run with Debian's python3
// and scipy; the test is skipped where they are missing.
func anchor(t *testing.T, args ...string) []byte {
	t.Helper()
	script := "../../shared/bench/drift_anchor.py"
	if _, err := os.Stat(script); err != nil {
		t.Skip("no ../shared/bench/drift_anchor.py")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import scipy, pandas").Run(); err != nil {
		t.Skip("the anchor needs Debian's python3-scipy and python3-pandas")
	}
	out, err := exec.Command("/usr/bin/python3", append([]string{script}, args...)...).Output()
	if err != nil {
		t.Fatalf("drift_anchor.py %v: %v", args, err)
	}
	return out
}

// readTable reads a CSV into columns: numeric when every non-empty value
// parses as a number.
func readTable(t *testing.T, path string) []Column {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(bufio.NewReader(f)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]Column, len(rows[0]))
	for j, name := range rows[0] {
		c := Column{Name: name, Numeric: true}
		for _, r := range rows[1:] {
			if r[j] != "" {
				if _, err := strconv.ParseFloat(r[j], 64); err != nil {
					c.Numeric = false
				}
			}
		}
		for _, r := range rows[1:] {
			if c.Numeric {
				v := math.NaN()
				if r[j] != "" {
					v, _ = strconv.ParseFloat(r[j], 64)
				}
				c.Num = append(c.Num, v)
			} else {
				c.Cat = append(c.Cat, r[j])
			}
		}
		cols[j] = c
	}
	return cols
}

// TestAnchorTables: the anchor's own tables (drift_anchor.py make, with a
// shifted, a swapped and a partly missing column) at 800 and 5,000 rows
// (and 100,000 with $RECKON_ANCHOR_LARGE):
// every column gets the anchor's test, its value within 1e-9 and its
// verdict, with Evidently's categorical form.
func TestAnchorTables(t *testing.T) {
	rowsList := []int{800, 5000}
	if testing.Short() {
		rowsList = []int{800}
	}
	if os.Getenv("RECKON_ANCHOR_LARGE") != "" {
		rowsList = append(rowsList, 100000) // a minute of the anchor's time
	}
	for _, rows := range rowsList {
		dir := t.TempDir()
		ref, cur := filepath.Join(dir, "ref.csv"), filepath.Join(dir, "cur.csv")
		anchor(t, "make", ref, cur, "--rows", strconv.Itoa(rows), "--seed", "11", "--shift", "num_0=0.5", "--swap", "cat_0", "--missing", "num_1=0.2")
		var want []Result
		for _, line := range bytes.Split(bytes.TrimSpace(anchor(t, "test", ref, cur)), []byte("\n")) {
			var r Result
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatal(err)
			}
			if r.Column != "" {
				want = append(want, r)
			}
		}
		rc, cc := readTable(t, ref), readTable(t, cur)
		if len(want) != len(rc) {
			t.Fatalf("%d rows: the anchor tested %d columns, the table has %d", rows, len(want), len(rc))
		}
		worst := 0.0
		var got []Result
		for j := range rc {
			g := Compare(rc[j], cc[j], rows, Options{SharesChiSquare: true})
			got = append(got, g)
			w := want[j]
			worst = math.Max(worst, math.Abs(g.Value-w.Value))
			if g.Column != w.Column || g.Test != w.Test || g.Drift != w.Drift || math.Abs(g.Value-w.Value) > 1e-9 || math.Abs(g.PSI-w.PSI) > 1e-9 {
				t.Errorf("%d rows, %s: %+v, anchor %+v", rows, w.Column, g, w)
			}
		}
		t.Logf("%d rows: %d columns as the anchor, largest difference %.3g, dataset drift %v", rows, len(got), worst, DatasetDrift(got))

		// The same through profiles, as reckon monitor and predict run:
		// within 1e-9 where the reference is kept exactly, 0.01 where it
		// is summarised.
		rep := viaProfiles(t, rc, cc, Options{SharesChiSquare: true})
		var exactWorst, approxWorst float64
		for j, g := range rep.Columns {
			w := want[j]
			d := math.Max(math.Abs(g.Value-w.Value), math.Abs(g.PSI-w.PSI))
			tol := 1e-9
			if g.Approx {
				tol = 0.01
				approxWorst = math.Max(approxWorst, d)
			} else {
				exactWorst = math.Max(exactWorst, d)
			}
			// A summarised value this close to its threshold may fall
			// either side of it.
			verdict := g.Drift == w.Drift || math.Abs(w.Value-w.Threshold) < tol
			if g.Column != w.Column || g.Test != w.Test || !verdict || d > tol {
				t.Errorf("%d rows, profiles, %s: %+v, anchor %+v", rows, w.Column, g, w)
			}
		}
		t.Logf("%d rows through profiles: largest difference %.3g exact, %.3g summarised", rows, exactWorst, approxWorst)
	}
}

// viaProfiles compares columns through a reference profile and a sketch
// of the current side.
func viaProfiles(t *testing.T, ref, cur []Column, o Options) *Report {
	t.Helper()
	rp := ProfileReference(ref, o.PSIBins)
	rep, err := CompareProfiles(rp, sketchColumns(rp, cur), nil, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
