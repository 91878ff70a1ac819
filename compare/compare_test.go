package compare

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/metrics"
)

func cand(name string, scores ...map[string]float64) Candidate {
	c := Candidate{Name: name}
	for i, s := range scores {
		c.Folds = append(c.Folds, Fold{Scores: s, Rows: []int{i}, Correct: []bool{true}})
	}
	return c
}

func TestBinomTwoSided(t *testing.T) {
	for _, c := range []struct {
		b, c int
		want float64
	}{
		{3, 10, 2 * 378.0 / 8192}, // P(X<=3), n=13: (1+13+78+286)/2^13
		{5, 5, 1},
		{0, 0, 1},
		{0, 6, 2.0 / 64},
	} {
		if got := binomTwoSided(c.b, c.c); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("binom(%d, %d) = %v, want %v", c.b, c.c, got, c.want)
		}
	}
}

func TestWinsCountsTiesAndExplains(t *testing.T) {
	a := cand("a", map[string]float64{"accuracy": 0.9, "roc_auc": 0.99, "log_loss": 0.2}, map[string]float64{"accuracy": 0.92, "roc_auc": 0.98, "log_loss": 0.2})
	b := cand("b", map[string]float64{"accuracy": 0.91, "roc_auc": 0.97, "log_loss": 0.1}, map[string]float64{"accuracy": 0.91, "roc_auc": 0.96, "log_loss": 0.1})
	c := cand("c", map[string]float64{"accuracy": 0.8, "roc_auc": 0.99, "log_loss": 0.3}, map[string]float64{"accuracy": 0.8, "roc_auc": 0.98, "log_loss": 0.3})
	d, err := Wins{}.Decide([]Candidate{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	// accuracy: a and b tie at 0.91; roc_auc: a and c tie; log_loss: b.
	want := map[string]int{"a": 2, "b": 2, "c": 1}
	if !reflect.DeepEqual(d.Wins, want) {
		t.Fatalf("wins %v, want %v", d.Wins, want)
	}
	// a and b tie on wins: roc_auc breaks it.
	if d.Winner != "a" || !reflect.DeepEqual(d.Ranking, []string{"a", "b", "c"}) {
		t.Errorf("ranking %v", d.Ranking)
	}
	if !strings.Contains(d.Reason, "a wins 2 of 3 metrics") || !strings.Contains(d.Reason, "2 tied") {
		t.Errorf("reason %q", d.Reason)
	}
}

func TestPrimaryAndTieBreaker(t *testing.T) {
	a := cand("a", map[string]float64{"roc_auc": 0.99, "accuracy": 0.90})
	b := cand("b", map[string]float64{"roc_auc": 0.99, "accuracy": 0.95})
	d, err := Primary{Metric: "roc_auc", TieBreaker: []string{"accuracy"}}.Decide([]Candidate{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if d.Winner != "b" {
		t.Errorf("winner %s, want b by the tie-breaker", d.Winner)
	}
	if _, err := (Primary{Metric: "nope"}).Decide([]Candidate{a, b}); err == nil || !strings.Contains(err.Error(), "roc_auc") {
		t.Errorf("unknown metric: %v", err)
	}
}

func TestBootstrapSignificance(t *testing.T) {
	lo, hi := bootstrapCI([]float64{0.01, 0.01, 0.01}, 500, 1)
	if lo != 0.01 || hi != 0.01 {
		t.Errorf("constant differences: CI %v..%v", lo, hi)
	}
	lo, hi = bootstrapCI([]float64{0.02, -0.02, 0.01, -0.01, 0.0}, 2000, 1)
	if !(lo < 0 && hi > 0) {
		t.Errorf("symmetric differences: CI %v..%v should cover 0", lo, hi)
	}
}

// TestConstraintThresholdsFromOtherFolds checks each fold's threshold is
// the one brute force finds on the other folds of its repeat.
func TestConstraintThresholdsFromOtherFolds(t *testing.T) {
	// Two repeats of 2 folds over rows 0..7.
	truth := []bool{true, false, true, false, true, true, false, false}
	probaA := []float64{0.9, 0.4, 0.6, 0.1, 0.35, 0.8, 0.5, 0.2}
	probaB := []float64{0.7, 0.6, 0.65, 0.3, 0.2, 0.9, 0.1, 0.4}
	splits := [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {0, 2, 4, 6}, {1, 3, 5, 7}}
	mk := func(name string, p []float64) Candidate {
		c := Candidate{Name: name}
		for _, rows := range splits {
			f := Fold{Rows: rows, Scores: map[string]float64{"recall[m]": 0, "precision[m]": 0}}
			for _, r := range rows {
				f.Truth = append(f.Truth, truth[r])
				f.Proba = append(f.Proba, p[r])
				f.Correct = append(f.Correct, (p[r] >= 0.5) == truth[r])
			}
			c.Folds = append(c.Folds, f)
		}
		return c
	}
	a, b := mk("a", probaA), mk("b", probaB)
	d, err := Constraint{Metric: "recall[m]", Min: 1, Maximize: "precision[m]"}.Decide([]Candidate{a, b})
	if err != nil {
		t.Fatal(err)
	}
	partner := []int{1, 0, 3, 2}
	for _, c := range []Candidate{a, b} {
		var sum, rec float64
		for k, f := range c.Folds {
			o := c.Folds[partner[k]]
			thr, _, _, err := metrics.ThresholdForRecall(o.Truth, o.Proba, 1)
			if err != nil {
				t.Fatal(err)
			}
			sum += thr / 4
			var tp, p float64
			for i := range f.Rows {
				if f.Truth[i] {
					p++
					if f.Proba[i] >= thr {
						tp++
					}
				}
			}
			rec += tp / p / 4
		}
		got := d.Thresholds[c.Name]
		if math.Abs(got.Threshold-sum) > 1e-12 || math.Abs(got.Recall-rec) > 1e-12 {
			t.Errorf("%s: threshold %v recall %v, brute force %v %v", c.Name, got.Threshold, got.Recall, sum, rec)
		}
	}
	if d.Reason == "" || d.Winner == "" {
		t.Errorf("decision %+v", d)
	}
}

func TestRejectsMismatchedFolds(t *testing.T) {
	a := cand("a", map[string]float64{"x": 1}, map[string]float64{"x": 1})
	b := cand("b", map[string]float64{"x": 1})
	if _, err := (Wins{}).Decide([]Candidate{a, b}); err == nil {
		t.Error("different fold counts accepted")
	}
	if _, err := Parse("constraint", "", "recall[m]>0.9", "x"); err == nil {
		t.Error("constraint without >= accepted")
	}
}

// TestParseTaskRegression: on a numeric target the policies default to
// rmse (lower wins), primary breaks ties on mae, constraint is refused,
// and a primary ranking puts the smaller error first without McNemar.
func TestParseTaskRegression(t *testing.T) {
	for _, m := range []string{"rmse", "mae", "mape", "max_error", "log_loss", "brier"} {
		if !LowerIsBetter(m) {
			t.Errorf("%s: lower is not better", m)
		}
	}
	if LowerIsBetter("r2") || LowerIsBetter("roc_auc") {
		t.Error("r2 or roc_auc: lower is better")
	}
	p, err := ParseTask("primary", "", "", "", true)
	if err != nil {
		t.Fatal(err)
	}
	if pr := p.(Primary); pr.Metric != "rmse" || len(pr.TieBreaker) != 1 || pr.TieBreaker[0] != "mae" {
		t.Errorf("primary %+v", pr)
	}
	if w, _ := ParseTask("wins", "", "", "", true); w.(Wins).TieBreak != "rmse" {
		t.Errorf("wins %+v", w)
	}
	if _, err := ParseTask("constraint", "", "r2>=0.5", "rmse", true); err == nil {
		t.Error("constraint accepted for a regression")
	}
	fold := func(rmse, mae float64) Fold {
		return Fold{Scores: map[string]float64{"rmse": rmse, "mae": mae, "r2": 1 - rmse}, Rows: []int{0, 1}}
	}
	cands := []Candidate{
		{Name: "ridge", Folds: []Fold{fold(3.2, 2.2), fold(3.3, 2.1)}},
		{Name: "trees", Folds: []Fold{fold(2.2, 1.2), fold(2.4, 1.3)}},
	}
	d, err := p.Decide(cands)
	if err != nil {
		t.Fatal(err)
	}
	if d.Winner != "trees" || len(d.Pairs) != 1 || !d.Pairs[0].NoMcNemar || strings.Contains(d.Reason, "McNemar") {
		t.Errorf("decision %+v", d)
	}
	w, _ := ParseTask("wins", "", "", "", true)
	if d, err := w.Decide(cands); err != nil || d.Winner != "trees" || d.Wins["trees"] != 3 {
		t.Errorf("wins: %+v %v", d, err)
	}
}
