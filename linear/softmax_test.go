package linear

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"
)

func multiclassData(t *testing.T) (x []float64, y []int, rows, cols int) {
	t.Helper()
	f, err := os.Open("testdata/multiclass.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows, cols = len(recs), len(recs[0])-1
	x, y = make([]float64, rows*cols), make([]int, rows)
	for i, r := range recs {
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if j == cols {
				y[i] = int(v)
			} else {
				x[i*cols+j] = v
			}
		}
	}
	return x, y, rows, cols
}

// TestSoftmaxMatchesScikitLearn compares coefficients, intercepts and
// probabilities with LogisticRegression(newton-cg, tol 1e-12) on four
// classes, plain and class-weighted, recorded in
// testdata/sklearn_multiclass.json by testdata/record_multiclass.py.
func TestSoftmaxMatchesScikitLearn(t *testing.T) {
	x, y, rows, cols := multiclassData(t)
	b, err := os.ReadFile("testdata/sklearn_multiclass.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]struct {
		Coef      [][]float64 `json:"coef"`
		Intercept []float64   `json:"intercept"`
		Proba     [][]float64 `json:"proba"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]LogisticConfig{
		"softmax_c1":             {C: 1, MaxIter: 100},
		"softmax_c0.05_weighted": {C: 0.05, MaxIter: 100, ClassWeights: []float64{1, 2, 0.5, 1.5}},
	} {
		m, err := FitSoftmax(x, rows, cols, y, 4, cfg)
		if err != nil {
			t.Fatal(err)
		}
		w := want[name]
		for k := range w.Coef {
			for j := range w.Coef[k] {
				if d := math.Abs(m.Coef[k][j] - w.Coef[k][j]); d > 1e-5 {
					t.Errorf("%s: coef[%d][%d] = %.8g, scikit-learn %.8g", name, k, j, m.Coef[k][j], w.Coef[k][j])
				}
			}
			if d := math.Abs(m.Intercept[k] - w.Intercept[k]); d > 1e-5 {
				t.Errorf("%s: intercept[%d] = %.8g, scikit-learn %.8g", name, k, m.Intercept[k], w.Intercept[k])
			}
		}
		p, err := m.Proba(x[:5*cols], 5, cols)
		if err != nil {
			t.Fatal(err)
		}
		for i := range w.Proba {
			for k := range w.Proba[i] {
				if d := math.Abs(p[i*4+k] - w.Proba[i][k]); d > 1e-6 {
					t.Errorf("%s: P(row %d = %d) = %.8g, scikit-learn %.8g", name, i, k, p[i*4+k], w.Proba[i][k])
				}
			}
		}
		t.Logf("%s: %d L-BFGS iterations", name, m.Iterations)
	}
}

func TestSoftmaxRefuses(t *testing.T) {
	x, y, rows, cols := multiclassData(t)
	for name, c := range map[string]struct {
		y       []int
		classes int
		cfg     LogisticConfig
	}{
		"a class without rows":       {y, 5, DefaultLogistic()},
		"a class out of range":       {append([]int{7}, y[1:]...), 4, DefaultLogistic()},
		"C of zero":                  {y, 4, LogisticConfig{C: 0}},
		"weights of the wrong count": {y, 4, LogisticConfig{C: 1, ClassWeights: []float64{1, 2}}},
		"a zero weight":              {y, 4, LogisticConfig{C: 1, ClassWeights: []float64{1, 0, 1, 1}}},
	} {
		if _, err := FitSoftmax(x, rows, cols, c.y, c.classes, c.cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
