package linear

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
)

type fitted struct {
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
}

func recorded(t *testing.T) map[string]fitted {
	t.Helper()
	b, err := os.ReadFile("testdata/sklearn.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]fitted
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func closeTo(t *testing.T, what string, got fitted, want fitted, tol float64) {
	t.Helper()
	for j := range want.Coef {
		if math.Abs(got.Coef[j]-want.Coef[j]) > tol {
			t.Errorf("%s coef[%d] = %.10g, scikit-learn %.10g", what, j, got.Coef[j], want.Coef[j])
		}
	}
	if math.Abs(got.Intercept-want.Intercept) > tol {
		t.Errorf("%s intercept = %.10g, scikit-learn %.10g", what, got.Intercept, want.Intercept)
	}
}

// TestLogisticMatchesScikitLearn fits the tumor data and compares with
// LogisticRegression(newton-cg, tol 1e-12) on StandardScaler output,
// recorded in testdata/sklearn.json by testdata/record.py.
func TestLogisticMatchesScikitLearn(t *testing.T) {
	tb, _, err := dataset.ReadCSV("tumor", bytes.NewReader(examples.TumorCSV), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := tb.Rows()
	var x []float64
	cols := 0
	y := make([]float64, n)
	for _, c := range tb.Columns {
		if c.Name == "diagnosis" {
			for i := 0; i < n; i++ {
				if c.String(i) == "malignant" {
					y[i] = 1
				}
			}
			continue
		}
		cols++
	}
	x = make([]float64, n*cols)
	j := 0
	for ci := range tb.Columns {
		c := &tb.Columns[ci]
		if c.Name == "diagnosis" {
			continue
		}
		for i := 0; i < n; i++ {
			x[i*cols+j] = c.Float(i)
		}
		j++
	}
	want := recorded(t)
	for name, cfg := range map[string]LogisticConfig{
		"logistic_c1":            {C: 1, PosWeight: 1, MaxIter: 100},
		"logistic_c0.1_weighted": {C: 0.1, PosWeight: 2.5, MaxIter: 100},
	} {
		m, err := FitLogistic(x, n, cols, y, cfg)
		if err != nil {
			t.Fatal(err)
		}
		closeTo(t, name, fitted{m.Coef, m.Intercept}, want[name], 1e-6)
		if m.Iterations > 20 {
			t.Errorf("%s: Newton took %d iterations", name, m.Iterations)
		}
		p, err := m.Proba(x, n, cols)
		if err != nil {
			t.Fatal(err)
		}
		var correct int
		for i := range p {
			if (p[i] >= 0.5) == (y[i] == 1) {
				correct++
			}
		}
		if acc := float64(correct) / float64(n); acc < 0.95 {
			t.Errorf("%s: training accuracy %.3f", name, acc)
		}
	}
}

func TestRegressionMatchesScikitLearn(t *testing.T) {
	f, err := os.Open("testdata/regression.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	n, cols := len(rows), len(rows[0])-1
	x, y := make([]float64, n*cols), make([]float64, n)
	for i, r := range rows {
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if j == cols {
				y[i] = v
			} else {
				x[i*cols+j] = v
			}
		}
	}
	want := recorded(t)
	for name, alpha := range map[string]float64{"regression_ols": 0, "regression_ridge2": 2} {
		m, err := FitRegression(x, n, cols, y, alpha)
		if err != nil {
			t.Fatal(err)
		}
		closeTo(t, name, fitted{m.Coef, m.Intercept}, want[name], 1e-9)
	}
}

func TestLogisticRejects(t *testing.T) {
	x := []float64{1, 2, 3}
	// Each refusal says what is wrong, not any error.
	for _, c := range []struct {
		y    []float64
		cfg  LogisticConfig
		want string
	}{
		{[]float64{1, 1, 1}, DefaultLogistic(), "needs both classes"},
		{[]float64{0, 2, 1}, DefaultLogistic(), "row 1 is 2"},
		{[]float64{0, 1}, DefaultLogistic(), "2 targets for 3 rows"},
		{[]float64{0, 1, 1}, LogisticConfig{C: 0, PosWeight: 1, MaxIter: 10}, "must be > 0"},
	} {
		if _, err := FitLogistic(x, 3, 1, c.y, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("y %v: %v, want %q", c.y, err, c.want)
		}
	}
}
