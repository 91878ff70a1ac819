package metrics

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

type oracleScores struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1-score"`
	Support   float64 `json:"support"`
}

type oracle struct {
	Labels    []string                   `json:"labels"`
	Report    map[string]json.RawMessage `json:"report"`
	Confusion [][]int                    `json:"confusion"`
	ROCAUC    *float64                   `json:"roc_auc"`
	AP        *float64                   `json:"average_precision"`
}

// TestClassifyMatchesScikitLearn compares every fixture in testdata/classify
// (inputs *.csv, answers *.json recorded with shared/bench/metrics_oracle.py
// and *.extra.json with record_extra.py) to 1e-12.
func TestClassifyMatchesScikitLearn(t *testing.T) {
	files, _ := filepath.Glob("testdata/classify/*.csv")
	if len(files) < 6 {
		t.Fatalf("expected the fixtures, found %d", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".csv")
		t.Run(name, func(t *testing.T) {
			truthS, predS, score := readFixture(t, f)
			var want oracle
			readJSON(t, strings.TrimSuffix(f, ".csv")+".json", &want)
			idx := map[string]int{}
			for i, l := range want.Labels {
				idx[l] = i
			}
			truth, pred := make([]int, len(truthS)), make([]int, len(predS))
			for i := range truthS {
				truth[i], pred[i] = idx[truthS[i]], idx[predS[i]]
			}
			got, err := Classify(want.Labels, truth, pred)
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range want.Labels {
				var w oracleScores
				if err := json.Unmarshal(want.Report[l], &w); err != nil {
					t.Fatal(err)
				}
				checkScores(t, l, got.Classes[i].Precision, got.Classes[i].Recall, got.Classes[i].F1, got.Classes[i].Support, w)
			}
			for key, a := range map[string]Averages{"macro avg": got.Macro, "weighted avg": got.Weighted} {
				var w oracleScores
				if err := json.Unmarshal(want.Report[key], &w); err != nil {
					t.Fatal(err)
				}
				checkScores(t, key, a.Precision, a.Recall, a.F1, a.Support, w)
			}
			var acc float64
			if err := json.Unmarshal(want.Report["accuracy"], &acc); err != nil {
				t.Fatal(err)
			}
			near(t, "accuracy", got.Accuracy, acc)
			for i := range want.Confusion {
				for j := range want.Confusion[i] {
					if got.Confusion[i][j] != want.Confusion[i][j] {
						t.Errorf("confusion[%d][%d] = %d, want %d", i, j, got.Confusion[i][j], want.Confusion[i][j])
					}
				}
			}
			if score == nil {
				return
			}
			pos := make([]bool, len(truthS))
			for i := range truthS {
				pos[i] = truthS[i] == "malignant"
			}
			auc, err := ROCAUC(pos, score)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "roc_auc", auc, *want.ROCAUC)
			ap, err := AveragePrecision(pos, score)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "average_precision", ap, *want.AP)
			var extra struct {
				LogLoss float64 `json:"log_loss"`
				Brier   float64 `json:"brier"`
			}
			readJSON(t, strings.TrimSuffix(f, ".csv")+".extra.json", &extra)
			near(t, "log_loss", LogLoss(pos, score), extra.LogLoss)
			near(t, "brier", Brier(pos, score), extra.Brier)
		})
	}
}

func checkScores(t *testing.T, what string, p, r, f1 float64, support int, w oracleScores) {
	t.Helper()
	near(t, what+" precision", p, w.Precision)
	near(t, what+" recall", r, w.Recall)
	near(t, what+" f1", f1, w.F1)
	if float64(support) != w.Support {
		t.Errorf("%s support = %d, want %v", what, support, w.Support)
	}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("%s = %.17g, scikit-learn %.17g", what, got, want)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readFixture(t *testing.T, path string) (truth, pred []string, score []float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	withScore := len(rows[0]) == 3
	for _, r := range rows[1:] {
		truth = append(truth, r[0])
		pred = append(pred, r[1])
		if withScore {
			v, err := strconv.ParseFloat(r[2], 64)
			if err != nil {
				t.Fatal(err)
			}
			score = append(score, v)
		}
	}
	return truth, pred, score
}

// TestRankingByPairs checks ROC AUC against its definition: the share of
// (positive, negative) pairs ranked correctly, ties counting one half.
func TestRankingByPairs(t *testing.T) {
	pos := []bool{true, false, true, true, false, false, true, false}
	score := []float64{0.9, 0.9, 0.4, 0.7, 0.1, 0.4, 0.4, 0.8}
	var good, pairs float64
	for i := range pos {
		for j := range pos {
			if pos[i] && !pos[j] {
				pairs++
				switch {
				case score[i] > score[j]:
					good++
				case score[i] == score[j]:
					good += 0.5
				}
			}
		}
	}
	auc, err := ROCAUC(pos, score)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "auc", auc, good/pairs)
	if _, err := ROCAUC([]bool{true, true}, []float64{0.1, 0.2}); err != ErrOneClass {
		t.Errorf("one class: err = %v, want ErrOneClass", err)
	}
}

// TestThresholdForRecall checks the chosen threshold by brute force over
// every candidate threshold.
func TestThresholdForRecall(t *testing.T) {
	pos := []bool{true, false, true, true, false, false, true, false, true, false}
	score := []float64{0.95, 0.9, 0.3, 0.7, 0.1, 0.35, 0.4, 0.8, 0.6, 0.2}
	P := 5.0
	for _, r := range []float64{0.2, 0.6, 0.8, 0.97, 1} {
		cands := append([]float64(nil), score...)
		sort.Sort(sort.Reverse(sort.Float64Slice(cands)))
		want := math.Inf(-1)
		for _, c := range cands {
			var tp float64
			for i := range pos {
				if pos[i] && score[i] >= c {
					tp++
				}
			}
			if tp/P >= r {
				want = c
				break
			}
		}
		got, rec, _, err := ThresholdForRecall(pos, score, r)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || rec < r {
			t.Errorf("recall >= %v: threshold %v (recall %v), want %v", r, got, rec, want)
		}
	}
	if _, _, _, err := ThresholdForRecall(pos, score, 1.5); err == nil {
		t.Error("recall 1.5 accepted")
	}
}
