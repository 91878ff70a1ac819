package fcn

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func twoMoons(n int, seed uint64) ([]float64, []int) {
	r := rand.New(rand.NewPCG(seed, 3))
	x := make([]float64, 0, 2*n)
	y := make([]int, n)
	for i := 0; i < n; i++ {
		a := r.Float64() * math.Pi
		c := i % 2
		px, py := math.Cos(a), math.Sin(a)
		if c == 1 {
			px, py = 1-px, 0.5-py
		}
		x = append(x, px+0.1*r.NormFloat64(), py+0.1*r.NormFloat64())
		y[i] = c
	}
	return x, y
}

// TestLearnsNonlinearBoundary: two interleaved moons are not linearly
// separable; the network must reach high accuracy on fresh points.
func TestLearnsNonlinearBoundary(t *testing.T) {
	x, y := twoMoons(600, 1)
	cfg := DefaultConfig()
	cfg.Epochs = 150
	m, err := Fit(context.Background(), x, 600, 2, y, 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	xt, yt := twoMoons(400, 2)
	p, err := m.Proba(xt, 400, 2)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i := range yt {
		if (p[2*i+1] >= 0.5) == (yt[i] == 1) {
			correct++
		}
		if math.Abs(p[2*i]+p[2*i+1]-1) > 1e-12 {
			t.Fatal("probabilities do not sum to 1")
		}
	}
	if acc := float64(correct) / 400; acc < 0.95 {
		t.Errorf("held-out accuracy %.3f < 0.95", acc)
	}
	if m.BestEpoch < 1 || m.BestEpoch > m.Epochs {
		t.Errorf("best epoch %d of %d", m.BestEpoch, m.Epochs)
	}
}

func TestDeterministicAndRestorable(t *testing.T) {
	x, y := twoMoons(200, 3)
	for i := range y { // three classes
		if x[2*i] > 1.2 {
			y[i] = 2
		}
	}
	cfg := DefaultConfig()
	cfg.Epochs, cfg.Seed, cfg.Dropout = 20, 5, 0.2
	cfg.ClassWeights = []float64{1, 2, 1}
	a, err := Fit(context.Background(), x, 200, 2, y, 3, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(context.Background(), x, 200, 2, y, 3, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pa, _ := a.Proba(x, 200, 2)
	pb, _ := b.Proba(x, 200, 2)
	if !reflect.DeepEqual(pa, pb) {
		t.Fatal("same seed, different predictions")
	}
	var w [][]float32
	for _, p := range a.Params() {
		w = append(w, append([]float32(nil), p.W...))
	}
	c := &Model{Config: a.Config, Scaler: a.Scaler, Inputs: a.Inputs, Classes: a.Classes}
	if err := c.Restore(w); err != nil {
		t.Fatal(err)
	}
	pc, _ := c.Proba(x, 200, 2)
	if !reflect.DeepEqual(pa, pc) {
		t.Fatal("restored model predicts differently")
	}
	if err := c.Restore(w[:2]); err == nil {
		t.Error("short weight list accepted")
	}
}

// TestFitRegression: a linear head on the standardised target learns a
// smooth function far from zero and in its own units (the prediction is
// mapped back through the target's mean and standard deviation); a
// regression refuses probabilities and a classifier refuses values.
func TestFitRegression(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const rows, cols = 600, 3
	x := make([]float64, rows*cols)
	y := make([]float64, rows)
	var ss float64
	for i := range rows {
		for j := range cols {
			x[i*cols+j] = r.NormFloat64()
		}
		y[i] = 1000 + 30*x[i*cols] - 20*x[i*cols+1] + 10*math.Sin(x[i*cols+2])
	}
	for _, v := range y {
		ss += (v - 1000) * (v - 1000)
	}
	sd := math.Sqrt(ss / rows)
	cfg := DefaultConfig()
	cfg.Epochs = 60
	m, err := FitRegression(context.Background(), x, rows, cols, y, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Predict(x, rows, cols)
	if err != nil {
		t.Fatal(err)
	}
	var se float64
	for i := range y {
		se += (p[i] - y[i]) * (p[i] - y[i])
	}
	if rmse := math.Sqrt(se / rows); !(rmse < 0.15*sd) {
		t.Errorf("training RMSE %.2f against a target sd of %.2f", rmse, sd)
	}
	if math.Abs(m.YMean-1000) > 5 || !m.Regression {
		t.Errorf("target mean %g, regression %v", m.YMean, m.Regression)
	}
	if _, err := m.Proba(x, rows, cols); err == nil {
		t.Error("a regression gave probabilities")
	}
	c, err := Fit(context.Background(), x, rows, cols, make([]int, rows), 2, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Predict(x, rows, cols); err == nil {
		t.Error("a classifier gave values")
	}
	if _, err := FitRegression(context.Background(), x, rows, cols, append(y[:rows-1:rows-1], math.NaN()), cfg, nil); err == nil {
		t.Error("a NaN target was fitted")
	}
}
