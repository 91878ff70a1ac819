package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Fold is one train/test partition of row indices (0-based, sorted).
type Fold struct {
	Train []int `json:"train"`
	Test  []int `json:"test"`
}

// splitRand is the one generator every split uses, so a seed means the same
// thing everywhere.
func splitRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5eed5eed5eed5eed))
}

// GroupSplit puts every distinct group on one side: the groups are sorted,
// shuffled with seed and the first round(testFrac*n) go to test. The result
// depends only on the set of groups and the seed, never on their order.
func GroupSplit(groups []string, testFrac float64, seed uint64) (train, test []string) {
	u := slices.Clone(groups)
	slices.SortFunc(u, compareIDs)
	u = slices.Compact(u)
	r := splitRand(seed)
	r.Shuffle(len(u), func(i, j int) { u[i], u[j] = u[j], u[i] })
	nTest := testCount(len(u), testFrac)
	test, train = slices.Clone(u[:nTest]), slices.Clone(u[nTest:])
	slices.SortFunc(test, compareIDs)
	slices.SortFunc(train, compareIDs)
	return train, test
}

func testCount(n int, frac float64) int {
	k := int(math.Round(frac * float64(n)))
	if n >= 2 {
		k = min(max(k, 1), n-1)
	}
	return k
}

// SplitTracks splits labelled tracks by group (the source flight for
// forecast cuts), returning the ids of each side.
func SplitTracks(ts *TrackSet, testFrac float64, seed uint64) (train, test []string) {
	tracks, labels := ts.Labelled()
	groupOf := map[string][]string{}
	var groups []string
	for i, t := range tracks {
		g := labels[i].Group()
		if _, ok := groupOf[g]; !ok {
			groups = append(groups, g)
		}
		groupOf[g] = append(groupOf[g], t.ID)
	}
	gTrain, gTest := GroupSplit(groups, testFrac, seed)
	for _, g := range gTrain {
		train = append(train, groupOf[g]...)
	}
	for _, g := range gTest {
		test = append(test, groupOf[g]...)
	}
	return train, test
}

// byClass returns the row indices of each class in class order; classes are
// the distinct values of y (missing rows, y < 0, are left out).
func byClass(y []int) [][]int {
	var classes []int
	for _, c := range y {
		if c >= 0 {
			classes = append(classes, c)
		}
	}
	slices.Sort(classes)
	classes = slices.Compact(classes)
	idx := make([][]int, len(classes))
	for i, c := range y {
		if c >= 0 {
			k, _ := slices.BinarySearch(classes, c)
			idx[k] = append(idx[k], i)
		}
	}
	return idx
}

// StratifiedSplit holds out about testFrac of each class.
func StratifiedSplit(y []int, testFrac float64, seed uint64) Fold {
	r := splitRand(seed)
	var f Fold
	for _, rows := range byClass(y) {
		rows = slices.Clone(rows)
		r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		k := testCount(len(rows), testFrac)
		f.Test = append(f.Test, rows[:k]...)
		f.Train = append(f.Train, rows[k:]...)
	}
	slices.Sort(f.Test)
	slices.Sort(f.Train)
	return f
}

// StratifiedKFold returns k*repeats folds. In each repeat every class is
// shuffled and dealt round-robin over the k folds, continuing the deal
// across classes so fold sizes differ by at most one.
func StratifiedKFold(y []int, k, repeats int, seed uint64) ([]Fold, error) {
	classes := byClass(y)
	for c, rows := range classes {
		if len(rows) < k {
			return nil, fmt.Errorf("class %d has %d rows, fewer than the %d folds", c, len(rows), k)
		}
	}
	if k < 2 || repeats < 1 {
		return nil, fmt.Errorf("need k >= 2 and repeats >= 1, got %d and %d", k, repeats)
	}
	r := splitRand(seed)
	var folds []Fold
	for range repeats {
		assign := make([][]int, k)
		next := 0
		for _, rows := range classes {
			rows = slices.Clone(rows)
			r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			for _, row := range rows {
				assign[next] = append(assign[next], row)
				next = (next + 1) % k
			}
		}
		for i := range k {
			var f Fold
			for j := range k {
				if j == i {
					f.Test = append(f.Test, assign[j]...)
				} else {
					f.Train = append(f.Train, assign[j]...)
				}
			}
			slices.Sort(f.Test)
			slices.Sort(f.Train)
			folds = append(folds, f)
		}
	}
	return folds, nil
}

// FoldFile is the format of shared/data/breast_cancer_folds.json.
type FoldFile struct {
	Protocol string `json:"protocol"`
	Positive string `json:"positive"`
	Folds    []Fold `json:"folds"`
}

// ReadFolds reads a fold file and checks it against a table of nRows rows:
// indices in range, no repeats, train and test disjoint.
func ReadFolds(name string, r io.Reader, nRows int) (*FoldFile, error) {
	var ff FoldFile
	dec := json.NewDecoder(r)
	if err := dec.Decode(&ff); err != nil {
		return nil, fmt.Errorf("%s: not a fold file: %w", name, err)
	}
	if len(ff.Folds) == 0 {
		return nil, fmt.Errorf("%s: no folds", name)
	}
	seen := make([]int8, nRows)
	for i, f := range ff.Folds {
		if len(f.Train) == 0 || len(f.Test) == 0 {
			return nil, fmt.Errorf("%s: fold %d has an empty train or test side", name, i)
		}
		clear(seen)
		for side, rows := range [][]int{f.Train, f.Test} {
			for _, row := range rows {
				if row < 0 || row >= nRows {
					return nil, fmt.Errorf("%s: fold %d: row index %d out of range for %d rows", name, i, row, nRows)
				}
				if seen[row] != 0 {
					what := "repeated"
					if int(seen[row]) != side+1 {
						what = "in both train and test"
					}
					return nil, fmt.Errorf("%s: fold %d: row index %d is %s", name, i, row, what)
				}
				seen[row] = int8(side + 1)
			}
		}
	}
	return &ff, nil
}

// ParseCV reads repeated k-fold written as KxR (5x3: 5 folds, 3 repeats).
func ParseCV(s string) (k, r int, err error) {
	ks, rs, ok := strings.Cut(s, "x")
	k, err1 := strconv.Atoi(ks)
	r, err2 := strconv.Atoi(rs)
	if !ok || err1 != nil || err2 != nil || k < 2 || r < 1 {
		return 0, 0, fmt.Errorf("%q: want KxR, e.g. 5x3 (5 folds, 3 repeats)", s)
	}
	return k, r, nil
}

// FoldPlan says how to cross-validate: the folds of a fold file (File and
// its contents Body), else repeated stratified k-fold (CV as KxR, Seed).
// Neither: no cross-validation.
type FoldPlan struct {
	CV   string
	Seed uint64
	File string
	Body []byte
	// Field names CV in its errors as the user wrote it ("--cv",
	// "p.yaml: split.cv:"); "" for none.
	Field string
	// Plain folds ignore the labels: shuffled K-fold for a numeric target
	// (y, all one stratum, then only gives the row count).
	Plain bool
}

// Build returns the plan's folds over the class labels y and a one-line
// description for reports; no folds (nil) when the plan asks for none.
func (p FoldPlan) Build(y []int) ([]Fold, string, error) {
	if p.File != "" {
		ff, err := ReadFolds(p.File, bytes.NewReader(p.Body), len(y))
		if err != nil {
			return nil, "", err
		}
		return ff.Folds, fmt.Sprintf("%d folds from %s", len(ff.Folds), p.File), nil
	}
	if p.CV == "" {
		return nil, "", nil
	}
	k, r, err := ParseCV(p.CV)
	if err != nil {
		if p.Field != "" {
			err = fmt.Errorf("%s %w", p.Field, err)
		}
		return nil, "", err
	}
	if p.Plain {
		// One stratum: a shuffled K-fold of the rows.
		folds, err := StratifiedKFold(make([]int, len(y)), k, r, p.Seed)
		if err != nil {
			return nil, "", err
		}
		return folds, fmt.Sprintf("%d-fold x %d (seed %d)", k, r, p.Seed), nil
	}
	folds, err := StratifiedKFold(y, k, r, p.Seed)
	if err != nil {
		return nil, "", err
	}
	return folds, fmt.Sprintf("stratified %d-fold x %d (seed %d)", k, r, p.Seed), nil
}
