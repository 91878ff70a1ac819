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
	// The L-BFGS path of wide tables reaches scikit-learn's optimum too.
	for name, cfg := range map[string]LogisticConfig{
		"logistic_c1":            {C: 1, PosWeight: 1, MaxIter: 100},
		"logistic_c0.1_weighted": {C: 0.1, PosWeight: 2.5, MaxIter: 100},
	} {
		m := &Logistic{Scaler: FitScaler(x, n, cols), C: cfg.C, PosWeight: cfg.PosWeight}
		if err := m.fitLBFGS(m.Scaler.Transform(x, n, cols), n, cols, y, cfg); err != nil {
			t.Fatal(err)
		}
		closeTo(t, name+" (L-BFGS)", fitted{m.Coef, m.Intercept}, want[name], 1e-4)
	}
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

// TestWideLogisticIsBounded: a table far wider than NewtonMaxWidth is fit
// without the (cols+1)² Hessian (issue 12: 100,000 columns died with
// "runtime: out of memory"); at its solution the gradient vanishes.
func TestWideLogisticIsBounded(t *testing.T) {
	rows, cols := 60, 20000
	x := make([]float64, rows*cols)
	y := make([]float64, rows)
	for i := range rows {
		y[i] = float64(i % 2)
		for j := range cols {
			x[i*cols+j] = math.Sin(float64(i*7+j*13)) + y[i]*float64(j%3)*0.1
		}
	}
	cfg := DefaultLogistic()
	m, err := FitLogistic(x, rows, cols, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The optimality condition, computed here independently.
	z := m.Scaler.Transform(x, rows, cols)
	grad := make([]float64, cols+1)
	for i := range rows {
		v := m.Intercept
		for j := range cols {
			v += z[i*cols+j] * m.Coef[j]
		}
		g := 1/(1+math.Exp(-v)) - y[i]
		for j := range cols {
			grad[j] += g * z[i*cols+j]
		}
		grad[cols] += g
	}
	var norm float64
	for j := range cols {
		grad[j] += m.Coef[j] / cfg.C
	}
	for _, g := range grad {
		norm += g * g
	}
	if math.Sqrt(norm) > 1e-4*float64(rows) {
		t.Errorf("gradient norm %.3g at the L-BFGS solution", math.Sqrt(norm))
	}
}
