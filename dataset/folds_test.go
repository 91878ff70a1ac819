package dataset

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseCV(t *testing.T) {
	for _, c := range []struct {
		in   string
		k, r int
		ok   bool
	}{
		{"5x3", 5, 3, true}, {"2x1", 2, 1, true}, {"10x10", 10, 10, true},
		{"1x3", 0, 0, false}, {"5x0", 0, 0, false}, {"5", 0, 0, false}, {"x", 0, 0, false}, {"5x3x1", 0, 0, false}, {"", 0, 0, false},
	} {
		k, r, err := ParseCV(c.in)
		if (err == nil) != c.ok || k != c.k || r != c.r {
			t.Errorf("ParseCV(%q) = %d, %d, %v", c.in, k, r, err)
		}
		if err != nil && !strings.Contains(err.Error(), "want KxR") {
			t.Errorf("ParseCV(%q): unhelpful error %v", c.in, err)
		}
	}
}

func TestFoldPlanBuild(t *testing.T) {
	y := make([]int, 20)
	for i := range y {
		y[i] = i % 2
	}
	folds, desc, err := FoldPlan{CV: "5x2", Seed: 3}.Build(y)
	if err != nil || len(folds) != 10 || desc != "stratified 5-fold x 2 (seed 3)" {
		t.Fatalf("k-fold: %d folds, %q, %v", len(folds), desc, err)
	}
	// The same folds as StratifiedKFold itself.
	want, _ := StratifiedKFold(y, 5, 2, 3)
	if fmt.Sprint(folds) != fmt.Sprint(want) {
		t.Error("FoldPlan and StratifiedKFold disagree")
	}
	body := `{"folds":[{"train":[0,1,2,3,4,5,6,7,8,9],"test":[10,11,12,13,14,15,16,17,18,19]}]}`
	folds, desc, err = FoldPlan{CV: "5x2", File: "f.json", Body: []byte(body)}.Build(y)
	if err != nil || len(folds) != 1 || desc != "1 folds from f.json" {
		t.Fatalf("file (wins over cv): %d folds, %q, %v", len(folds), desc, err)
	}
	if folds, _, err := (FoldPlan{}).Build(y); folds != nil || err != nil {
		t.Errorf("empty plan: %v, %v; want no folds", folds, err)
	}
	if _, _, err := (FoldPlan{File: "bad.json", Body: []byte("{")}).Build(y); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("bad file: %v", err)
	}
	if _, _, err := (FoldPlan{CV: "5by3", Field: "--cv"}).Build(y); err == nil || !strings.Contains(err.Error(), `--cv "5by3": want KxR`) {
		t.Errorf("bad cv: %v", err)
	}
}

func ExampleFoldPlan() {
	y := []int{0, 1, 0, 1, 0, 1, 0, 1, 0, 1}
	folds, desc, err := FoldPlan{CV: "5x1", Seed: 0}.Build(y)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(folds), "folds:", desc)
	for _, f := range folds[:2] {
		fmt.Println(len(f.Train), "train rows,", len(f.Test), "test rows")
	}
	// Output:
	// 5 folds: stratified 5-fold x 1 (seed 0)
	// 8 train rows, 2 test rows
	// 8 train rows, 2 test rows
}
