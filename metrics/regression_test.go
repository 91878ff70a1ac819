package metrics

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Worked by hand: errors 1, -2, 3, -4.
func TestRegressWorkedExample(t *testing.T) {
	r, err := Regress([]float64{1, -2, 3, -4}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Regression{N: 4, RMSE: math.Sqrt(30.0 / 4), MAE: 2.5, Bias: -0.5, MaxAbs: 4}
	if r != want {
		t.Errorf("got %+v, want %+v", r, want)
	}
	if _, err := Regress(nil, 0, 0); err == nil {
		t.Error("empty input accepted")
	}
	if _, err := Regress([]float64{math.NaN()}, 0, 0); err == nil {
		t.Error("NaN accepted")
	}
}

// numpy.quantile(x, q) with the default method, recorded:
// x = [3, 1, 4, 1, 5, 9, 2, 6] sorted; q = 0.025 -> 1.0, 0.5 -> 3.5,
// 0.9 -> 6.8999999999999995, 0.975 -> 8.475000000000001 (numpy 1.24).
func TestQuantileMatchesNumpy(t *testing.T) {
	x := []float64{1, 1, 2, 3, 4, 5, 6, 9}
	for q, want := range map[float64]float64{0.025: 1.0, 0.5: 3.5, 0.9: 6.8999999999999995, 0.975: 8.475000000000001, 0: 1, 1: 9} {
		if got := Quantile(x, q); math.Abs(got-want) > 1e-12 {
			t.Errorf("Quantile(%g) = %.15g, want %.15g", q, got, want)
		}
	}
}

func TestBootstrapInterval(t *testing.T) {
	errs := make([]float64, 18)
	for i := range errs {
		errs[i] = math.Sin(float64(i)) * 3
	}
	a, _ := Regress(errs, 2000, 1)
	b, _ := Regress(errs, 2000, 1)
	if a != b {
		t.Error("same seed, different interval")
	}
	if !(a.RMSECI95[0] < a.RMSE && a.RMSE < a.RMSECI95[1]) {
		t.Errorf("interval %v does not contain the RMSE %g", a.RMSECI95, a.RMSE)
	}
	// Four times the data: the interval narrows by about half.
	many := append(append(append(append([]float64{}, errs...), errs...), errs...), errs...)
	c, _ := Regress(many, 2000, 1)
	wa, wc := a.RMSECI95[1]-a.RMSECI95[0], c.RMSECI95[1]-c.RMSECI95[0]
	if ratio := wc / wa; ratio < 0.35 || ratio > 0.7 {
		t.Errorf("interval width ratio %.2f for 4x the data, want about 0.5", ratio)
	}
}

// TestRegressionScoresMatchScikitLearn compares every recorded fixture in
// testdata/regression (scikit-learn's metrics on truth,pred pairs).
func TestRegressionScoresMatchScikitLearn(t *testing.T) {
	files, _ := filepath.Glob("testdata/regression/*.csv")
	if len(files) < 4 {
		t.Fatalf("only %d fixtures", len(files))
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			var truth, pred []float64
			for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n")[1:] {
				a, c, _ := strings.Cut(line, ",")
				x, err1 := strconv.ParseFloat(a, 64)
				y, err2 := strconv.ParseFloat(c, 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("line %d: %q", i+2, line)
				}
				truth, pred = append(truth, x), append(pred, y)
			}
			var want map[string]float64
			jb, err := os.ReadFile(strings.TrimSuffix(name, ".csv") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(jb, &want); err != nil {
				t.Fatal(err)
			}
			got, err := RegressionScores(truth, pred)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(RegressionNames) || len(want) != len(got) {
				t.Fatalf("names %v, want %v", got, want)
			}
			for k, w := range want {
				if g := got[k]; math.Abs(g-w) > 1e-12*math.Max(1, math.Abs(w)) {
					t.Errorf("%s = %.17g, scikit-learn %.17g", k, g, w)
				}
			}
		})
	}
	if _, err := RegressionScores([]float64{1}, []float64{math.NaN()}); err == nil {
		t.Error("a NaN prediction was scored")
	}
	if _, err := RegressionScores(nil, nil); err == nil {
		t.Error("no rows were scored")
	}
}
