package dataset

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestGroupSplitDeterministicAndOrderFree(t *testing.T) {
	var ids []string
	for i := range 90 {
		ids = append(ids, strings.Repeat("x", i%3)+string(rune('A'+i%26))+string(rune('a'+i/26)))
	}
	train, test := GroupSplit(ids, 0.2, 7)
	if len(train) != 72 || len(test) != 18 {
		t.Fatalf("sizes %d/%d", len(train), len(test))
	}
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	rev = append(rev, ids[:5]...) // repeated groups count once
	train2, test2 := GroupSplit(rev, 0.2, 7)
	if !slices.Equal(train, train2) || !slices.Equal(test, test2) {
		t.Error("input order or repeats changed the split")
	}
	_, test3 := GroupSplit(ids, 0.2, 8)
	if slices.Equal(test, test3) {
		t.Error("another seed gave the same split")
	}
	for _, id := range test {
		if slices.Contains(train, id) {
			t.Fatalf("%s on both sides", id)
		}
	}
}

func TestSplitTracksKeepsSourceFlightsTogether(t *testing.T) {
	ts := &TrackSet{Labels: map[string]TrackLabel{}}
	for f := range 10 {
		for r := range 3 {
			id := string(rune('a'+f)) + "_" + string(rune('0'+r))
			ts.Tracks = append(ts.Tracks, Track{ID: id})
			ts.Labels[id] = TrackLabel{TrackID: id, SourceTrack: string(rune('a' + f))}
		}
	}
	train, test := SplitTracks(ts, 0.2, 1)
	if len(test) != 6 || len(train) != 24 {
		t.Fatalf("sizes %d/%d, want whole flights: 2 of 10 flights in test", len(train), len(test))
	}
	for _, id := range test {
		for _, other := range train {
			if id[0] == other[0] {
				t.Fatalf("flight %c split across train and test", id[0])
			}
		}
	}
}

func classes(n0, n1 int) []int {
	y := make([]int, n0+n1)
	for i := range n1 {
		y[3*i%len(y)] = 1 // spread, not sorted; 3 is coprime with 569
	}
	return y
}

func TestStratifiedSplit(t *testing.T) {
	y := classes(357, 212)
	f := StratifiedSplit(y, 0.2, 3)
	count := func(rows []int, c int) (n int) {
		for _, r := range rows {
			if y[r] == c {
				n++
			}
		}
		return n
	}
	if len(f.Test)+len(f.Train) != len(y) {
		t.Fatal("rows lost")
	}
	for c := range 2 {
		total := count(f.Test, c) + count(f.Train, c)
		if got, want := count(f.Test, c), int(0.2*float64(total)+0.5); got != want {
			t.Errorf("class %d: %d in test, want %d", c, got, want)
		}
	}
	if g := StratifiedSplit(y, 0.2, 3); !slices.Equal(g.Test, f.Test) {
		t.Error("not deterministic")
	}
}

func TestRepeatedStratifiedKFold(t *testing.T) {
	y := classes(357, 212)
	folds, err := StratifiedKFold(y, 5, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(folds) != 15 {
		t.Fatalf("%d folds", len(folds))
	}
	for rep := range 3 {
		seen := make([]int, len(y))
		for _, f := range folds[5*rep : 5*rep+5] {
			if len(f.Test) < 113 || len(f.Test) > 114 {
				t.Errorf("test size %d", len(f.Test))
			}
			if len(f.Train)+len(f.Test) != len(y) {
				t.Errorf("fold does not cover the rows")
			}
			pos := 0
			for _, r := range f.Test {
				seen[r]++
				pos += y[r]
			}
			if pos < 42 || pos > 43 {
				t.Errorf("fold has %d of class 1, want 42-43 (212/5)", pos)
			}
		}
		for r, n := range seen {
			if n != 1 {
				t.Fatalf("repeat %d: row %d in %d test folds", rep, r, n)
			}
		}
	}
	if slices.Equal(folds[0].Test, folds[5].Test) {
		t.Error("repeats are identical")
	}
	if _, err := StratifiedKFold([]int{0, 0, 1}, 2, 1, 0); err == nil {
		t.Error("a class smaller than k was accepted")
	}
}

func TestReadFoldsShared(t *testing.T) {
	f, err := os.Open("../examples/tumor/breast_cancer_folds.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ff, err := ReadFolds(f.Name(), f, 569)
	if err != nil {
		t.Fatal(err)
	}
	if len(ff.Folds) != 15 || ff.Positive != "malignant" {
		t.Fatalf("%d folds, positive %q", len(ff.Folds), ff.Positive)
	}
	for i, fo := range ff.Folds {
		if len(fo.Train)+len(fo.Test) != 569 {
			t.Errorf("fold %d covers %d rows", i, len(fo.Train)+len(fo.Test))
		}
	}
}

func TestReadFoldsRejects(t *testing.T) {
	cases := map[string]string{
		`{"folds":[{"train":[0,1],"test":[2,9]}]}`: "row index 9 out of range",
		`{"folds":[{"train":[0,1],"test":[1,2]}]}`: "in both train and test",
		`{"folds":[{"train":[0,0],"test":[2]}]}`:   "repeated",
		`{"folds":[]}`:                             "no folds",
		`{"folds":[{"train":[],"test":[2]}]}`:      "empty",
		`[1,2]`:                                    "not a fold file",
	}
	for in, want := range cases {
		_, err := ReadFolds("f.json", strings.NewReader(in), 3)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}
