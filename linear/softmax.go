package linear

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// Softmax is a multinomial logistic regression on standardised features:
// P(class k | x) ∝ exp(b_k + w_k·z), scikit-learn's LogisticRegression on
// more than two classes (multi_class="multinomial"). Every class has its
// coefficient vector, all penalised by Σ_k ||w_k||² / (2C), the intercepts
// not; the penalty makes the optimum unique (its coefficients sum to zero
// over the classes) and the intercepts sum to zero as the fit starts
// them, so the coefficients can be compared with scikit-learn's as they
// are.
type Softmax struct {
	Scaler     Scaler      `json:"scaler"`
	Coef       [][]float64 `json:"coef"` // classes x features
	Intercept  []float64   `json:"intercept"`
	C          float64     `json:"c"`
	Iterations int         `json:"iterations"`
	// ClassWeights multiply the loss of each class's rows (nil: 1).
	ClassWeights []float64 `json:"class_weights,omitempty"`
}

// FitSoftmax minimises the penalised multinomial log loss of y (class
// indexes 0..classes-1) by L-BFGS, to a gradient tolerance of 1e-9 per
// row: the objective is smooth and strictly convex in the coefficients, so
// the optimum is the one scikit-learn's solvers reach.
func FitSoftmax(x []float64, rows, cols int, y []int, classes int, cfg LogisticConfig) (*Softmax, error) {
	if rows < 1 || len(x) != rows*cols || len(y) != rows {
		return nil, fmt.Errorf("linear: %d values and %d targets for %d rows x %d columns", len(x), len(y), rows, cols)
	}
	if classes < 2 {
		return nil, fmt.Errorf("linear: %d classes: softmax regression needs at least 2", classes)
	}
	if !(cfg.C > 0) {
		return nil, fmt.Errorf("linear: C (%v) must be > 0", cfg.C)
	}
	if cfg.ClassWeights != nil && len(cfg.ClassWeights) != classes {
		return nil, fmt.Errorf("linear: %d class weights for %d classes", len(cfg.ClassWeights), classes)
	}
	for _, w := range cfg.ClassWeights {
		if !(w > 0) {
			return nil, fmt.Errorf("linear: class weights must be > 0, got %v", cfg.ClassWeights)
		}
	}
	seen := make([]bool, classes)
	for i, c := range y {
		if c < 0 || c >= classes {
			return nil, fmt.Errorf("linear: row %d has class %d of %d", i, c, classes)
		}
		seen[c] = true
	}
	for c, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("linear: class %d has no training rows", c)
		}
	}
	m := &Softmax{Scaler: FitScaler(x, rows, cols), C: cfg.C, ClassWeights: cfg.ClassWeights}
	z := m.Scaler.Transform(x, rows, cols)
	K, p := classes, cols+1 // per class: coefficients, then the intercept
	weight := func(c int) float64 {
		if m.ClassWeights == nil {
			return 1
		}
		return m.ClassWeights[c]
	}
	t := make([]float64, K)
	fg := func(grad, w []float64) float64 {
		if grad != nil {
			clear(grad)
		}
		var s float64
		for i := 0; i < rows; i++ {
			row := z[i*cols : (i+1)*cols]
			top := math.Inf(-1)
			for k := 0; k < K; k++ {
				wk := w[k*p : (k+1)*p]
				v := wk[cols]
				for j, xv := range row {
					v += xv * wk[j]
				}
				t[k] = v
				top = math.Max(top, v)
			}
			var sum float64
			for k := range t {
				sum += math.Exp(t[k] - top)
			}
			lse := top + math.Log(sum)
			sw := weight(y[i])
			s += sw * (lse - t[y[i]])
			if grad == nil {
				continue
			}
			for k := 0; k < K; k++ {
				g := math.Exp(t[k] - lse)
				if k == y[i] {
					g--
				}
				g *= sw
				gk := grad[k*p : (k+1)*p]
				for j, xv := range row {
					gk[j] += g * xv
				}
				gk[cols] += g
			}
		}
		for k := 0; k < K; k++ {
			for j := 0; j < cols; j++ {
				v := w[k*p+j]
				s += v * v / (2 * cfg.C)
				if grad != nil {
					grad[k*p+j] += v / cfg.C
				}
			}
		}
		return s
	}
	prob := optimize.Problem{
		Func: func(w []float64) float64 { return fg(nil, w) },
		Grad: func(grad, w []float64) { fg(grad, w) },
	}
	res, err := optimize.Minimize(prob, make([]float64, K*p), &optimize.Settings{
		GradientThreshold: 1e-9 * float64(rows),
		MajorIterations:   max(cfg.MaxIter, 10000),
	}, &optimize.LBFGS{})
	if res == nil {
		return nil, fmt.Errorf("linear: L-BFGS on %d classes x %d columns: %w", K, cols, err)
	}
	if err != nil && !errors.Is(err, optimize.ErrLinesearcherFailure) {
		// A line search that can go no further sits at the optimum to the
		// precision of the objective; anything else is a failure.
		return nil, fmt.Errorf("linear: L-BFGS on %d classes x %d columns: %w", K, cols, err)
	}
	m.Iterations = res.Stats.MajorIterations
	m.Coef, m.Intercept = make([][]float64, K), make([]float64, K)
	for k := 0; k < K; k++ {
		m.Coef[k] = append([]float64(nil), res.X[k*p:k*p+cols]...)
		m.Intercept[k] = res.X[k*p+cols]
	}
	return m, nil
}

// Proba returns rows x classes probabilities.
func (m *Softmax) Proba(x []float64, rows, cols int) ([]float64, error) {
	K := len(m.Coef)
	if K == 0 || cols != len(m.Coef[0]) || len(x) != rows*cols {
		return nil, fmt.Errorf("linear: model has %d features, data %d", len(m.Coef[0]), cols)
	}
	z := m.Scaler.Transform(x, rows, cols)
	out := make([]float64, rows*K)
	for i := 0; i < rows; i++ {
		t := out[i*K : (i+1)*K]
		top := math.Inf(-1)
		for k := range t {
			v := m.Intercept[k]
			for j, c := range m.Coef[k] {
				v += z[i*cols+j] * c
			}
			t[k] = v
			top = math.Max(top, v)
		}
		var sum float64
		for k := range t {
			t[k] = math.Exp(t[k] - top)
			sum += t[k]
		}
		for k := range t {
			t[k] /= sum
		}
	}
	return out, nil
}
