// Package linear fits logistic and linear regression on dense float64
// matrices. Both standardise the features inside the model (mean 0, sd 1 on
// the training rows), so the penalty treats every feature alike and the
// caller passes raw values; the intercept is never penalised.
package linear

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Scaler standardises columns; a constant column is left centred.
type Scaler struct {
	Mean []float64 `json:"mean"`
	SD   []float64 `json:"sd"`
}

// FitScaler computes column means and (population) standard deviations,
// skipping NaN.
func FitScaler(x []float64, rows, cols int) Scaler {
	s := Scaler{Mean: make([]float64, cols), SD: make([]float64, cols)}
	for j := 0; j < cols; j++ {
		var sum, n float64
		for i := 0; i < rows; i++ {
			if v := x[i*cols+j]; !math.IsNaN(v) {
				sum += v
				n++
			}
		}
		if n == 0 {
			s.SD[j] = 1
			continue
		}
		m := sum / n
		var ss float64
		for i := 0; i < rows; i++ {
			if v := x[i*cols+j]; !math.IsNaN(v) {
				ss += (v - m) * (v - m)
			}
		}
		s.Mean[j] = m
		s.SD[j] = math.Sqrt(ss / n)
		if s.SD[j] == 0 {
			s.SD[j] = 1
		}
	}
	return s
}

// Transform returns standardised rows; NaN becomes 0 (the mean), the usual
// mean imputation for a linear model.
func (s Scaler) Transform(x []float64, rows, cols int) []float64 {
	z := make([]float64, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			if v := x[i*cols+j]; !math.IsNaN(v) {
				z[i*cols+j] = (v - s.Mean[j]) / s.SD[j]
			}
		}
	}
	return z
}

// Logistic is a binary logistic regression on standardised features.
type Logistic struct {
	Scaler    Scaler    `json:"scaler"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
	// C is the inverse L2 strength (scikit-learn's convention): the
	// objective is Σ logloss + ||w||² / (2C).
	C          float64 `json:"c"`
	Iterations int     `json:"iterations"`
	// PosWeight multiplies the loss of positive rows (class weights).
	PosWeight float64 `json:"pos_weight"`
}

// LogisticConfig holds the hyperparameters.
type LogisticConfig struct {
	C         float64 `json:"c"`
	PosWeight float64 `json:"pos_weight"`
	MaxIter   int     `json:"max_iter"`
	// ClassWeights, in class order, weigh each class's rows in a
	// multiclass (softmax) fit; a binary fit takes PosWeight.
	ClassWeights []float64 `json:"class_weights,omitempty"`
}

// DefaultLogistic is scikit-learn's LogisticRegression default, C = 1.
func DefaultLogistic() LogisticConfig { return LogisticConfig{C: 1, PosWeight: 1, MaxIter: 100} }

// NewtonMaxWidth is the widest problem (columns) solved by Newton's method;
// wider ones go to L-BFGS. Newton holds a (cols+1)² Hessian and spends
// rows·cols² per iteration: at 2,048 columns 32 MiB and, on 600 rows, a
// few seconds; at 100,000 columns it would be an 80 GB matrix.
const NewtonMaxWidth = 2048

// FitLogistic minimises the penalised log loss by Newton's method (the
// problem is small and strictly convex with C < ∞, so Newton converges in
// a handful of steps to machine precision), with step halving as a guard.
// Problems wider than NewtonMaxWidth are solved by L-BFGS instead, in
// memory proportional to the data: the optimum is the same (the objective
// is strictly convex), reached to a gradient tolerance rather than to the
// last bit.
func FitLogistic(x []float64, rows, cols int, y []float64, cfg LogisticConfig) (*Logistic, error) {
	if rows < 1 || len(x) != rows*cols || len(y) != rows {
		return nil, fmt.Errorf("linear: %d values and %d targets for %d rows x %d columns", len(x), len(y), rows, cols)
	}
	if !(cfg.C > 0) || !(cfg.PosWeight > 0) {
		return nil, fmt.Errorf("linear: C (%v) and the positive weight (%v) must be > 0", cfg.C, cfg.PosWeight)
	}
	var npos int
	for i, v := range y {
		if v != 0 && v != 1 {
			return nil, fmt.Errorf("linear: logistic targets must be 0 or 1; row %d is %v", i, v)
		}
		npos += int(v)
	}
	if npos == 0 || npos == rows {
		return nil, errors.New("linear: logistic regression needs both classes in the training rows")
	}
	m := &Logistic{Scaler: FitScaler(x, rows, cols), C: cfg.C, PosWeight: cfg.PosWeight}
	z := m.Scaler.Transform(x, rows, cols)
	p := cols + 1 // intercept last
	w := make([]float64, p)
	obj := func(w []float64) float64 {
		var s float64
		for i := 0; i < rows; i++ {
			t := w[cols]
			for j := 0; j < cols; j++ {
				t += z[i*cols+j] * w[j]
			}
			l := math.Max(t, 0) + math.Log1p(math.Exp(-math.Abs(t))) - y[i]*t
			s += m.weight(y[i]) * l
		}
		for j := 0; j < cols; j++ {
			s += w[j] * w[j] / (2 * cfg.C)
		}
		return s
	}
	if cols > NewtonMaxWidth {
		return m, m.fitLBFGS(z, rows, cols, y, cfg)
	}
	f := obj(w)
	grad := make([]float64, p)
	H := mat.NewSymDense(p, nil)
	for it := 1; it <= cfg.MaxIter; it++ {
		m.Iterations = it
		clear(grad)
		H.Zero()
		hd := H.RawSymmetric().Data
		for i := 0; i < rows; i++ {
			t := w[cols]
			row := z[i*cols : (i+1)*cols]
			for j, v := range row {
				t += v * w[j]
			}
			q := 1 / (1 + math.Exp(-t))
			sw := m.weight(y[i])
			g, h := sw*(q-y[i]), sw*q*(1-q)
			for j := 0; j < p; j++ {
				vj := 1.0
				if j < cols {
					vj = row[j]
				}
				grad[j] += g * vj
				for k := j; k < p; k++ {
					vk := 1.0
					if k < cols {
						vk = row[k]
					}
					hd[j*p+k] += h * vj * vk
				}
			}
		}
		for j := 0; j < cols; j++ {
			grad[j] += w[j] / cfg.C
			hd[j*p+j] += 1 / cfg.C
		}
		var ch mat.Cholesky
		if !ch.Factorize(H) {
			return nil, errors.New("linear: the Hessian is not positive definite (perfectly separable data with no penalty?)")
		}
		step := mat.NewVecDense(p, nil)
		if err := ch.SolveVecTo(step, mat.NewVecDense(p, grad)); err != nil {
			return nil, err
		}
		// Newton decrement: stop when the predicted decrease is negligible.
		dec := mat.Dot(step, mat.NewVecDense(p, grad))
		t := 1.0
		var nw []float64
		for {
			nw = make([]float64, p)
			for j := range nw {
				nw[j] = w[j] - t*step.AtVec(j)
			}
			if nf := obj(nw); nf <= f+1e-12*math.Abs(f) || t < 1e-8 {
				f = nf
				break
			}
			t /= 2
		}
		w = nw
		if dec/2 < 1e-14*math.Max(1, math.Abs(f)) {
			break
		}
	}
	m.Coef, m.Intercept = w[:cols], w[cols]
	return m, nil
}

// fitLBFGS minimises the same objective as the Newton path with L-BFGS
// (gonum/optimize), its value and gradient in one pass over the rows.
func (m *Logistic) fitLBFGS(z []float64, rows, cols int, y []float64, cfg LogisticConfig) error {
	p := cols + 1
	t := make([]float64, rows)
	fg := func(grad, w []float64) float64 {
		var s float64
		if grad != nil {
			clear(grad)
		}
		for i := 0; i < rows; i++ {
			row := z[i*cols : (i+1)*cols]
			v := w[cols]
			for j, x := range row {
				v += x * w[j]
			}
			t[i] = v
			s += m.weight(y[i]) * (math.Max(v, 0) + math.Log1p(math.Exp(-math.Abs(v))) - y[i]*v)
			if grad != nil {
				g := m.weight(y[i]) * (1/(1+math.Exp(-v)) - y[i])
				for j, x := range row {
					grad[j] += g * x
				}
				grad[cols] += g
			}
		}
		for j := 0; j < cols; j++ {
			s += w[j] * w[j] / (2 * cfg.C)
			if grad != nil {
				grad[j] += w[j] / cfg.C
			}
		}
		return s
	}
	prob := optimize.Problem{
		Func: func(w []float64) float64 { return fg(nil, w) },
		Grad: func(grad, w []float64) { fg(grad, w) },
	}
	iters := max(cfg.MaxIter, 1000)
	res, err := optimize.Minimize(prob, make([]float64, p), &optimize.Settings{
		GradientThreshold: 1e-8 * float64(rows),
		MajorIterations:   iters,
	}, &optimize.LBFGS{})
	if err != nil && res == nil {
		return fmt.Errorf("linear: L-BFGS on %d columns: %w", cols, err)
	}
	m.Iterations = res.Stats.MajorIterations
	m.Coef, m.Intercept = res.X[:cols], res.X[cols]
	return nil
}

func (m *Logistic) weight(y float64) float64 {
	if y == 1 {
		return m.PosWeight
	}
	return 1
}

// Proba returns P(y = 1) for each row.
func (m *Logistic) Proba(x []float64, rows, cols int) ([]float64, error) {
	p, err := affine(m.Scaler, m.Coef, m.Intercept, x, rows, cols)
	for i, t := range p {
		p[i] = 1 / (1 + math.Exp(-t))
	}
	return p, err
}

// affine is intercept + coef·standardise(row) for each row.
func affine(sc Scaler, coef []float64, intercept float64, x []float64, rows, cols int) ([]float64, error) {
	if cols != len(coef) || len(x) != rows*cols {
		return nil, fmt.Errorf("linear: model has %d features, data %d", len(coef), cols)
	}
	z := sc.Transform(x, rows, cols)
	out := make([]float64, rows)
	for i := range out {
		t := intercept
		for j, c := range coef {
			t += z[i*cols+j] * c
		}
		out[i] = t
	}
	return out, nil
}

// RidgeConfig is ridge regression's setting: the L2 penalty on the
// standardised coefficients (scikit-learn's Ridge alpha after a
// StandardScaler).
type RidgeConfig struct {
	Alpha float64 `json:"alpha"`
}

// DefaultRidge is scikit-learn's default, alpha 1.
func DefaultRidge() RidgeConfig { return RidgeConfig{Alpha: 1} }

// Validate checks the setting before a fit.
func (c *RidgeConfig) Validate() error {
	if !(c.Alpha >= 0) || math.IsInf(c.Alpha, 0) {
		return fmt.Errorf("linear: alpha must be >= 0 (0: least squares), got %v", c.Alpha)
	}
	return nil
}

// Regression is ridge-penalised least squares on standardised features
// (Alpha 0: ordinary least squares).
type Regression struct {
	Scaler    Scaler    `json:"scaler"`
	Coef      []float64 `json:"coef"`
	Intercept float64   `json:"intercept"`
	Alpha     float64   `json:"alpha"`
}

// FitRegression solves the normal equations of the centred problem by
// Cholesky (QR when they are singular and Alpha is 0).
func FitRegression(x []float64, rows, cols int, y []float64, alpha float64) (*Regression, error) {
	if rows < 1 || len(x) != rows*cols || len(y) != rows {
		return nil, fmt.Errorf("linear: %d values and %d targets for %d rows x %d columns", len(x), len(y), rows, cols)
	}
	if !(alpha >= 0) {
		return nil, fmt.Errorf("linear: alpha must be >= 0, got %v", alpha)
	}
	m := &Regression{Scaler: FitScaler(x, rows, cols), Alpha: alpha}
	z := m.Scaler.Transform(x, rows, cols)
	var ym float64
	for _, v := range y {
		ym += v
	}
	ym /= float64(rows)
	Z := mat.NewDense(rows, cols, z)
	yc := mat.NewVecDense(rows, nil)
	for i, v := range y {
		yc.SetVec(i, v-ym)
	}
	var w mat.VecDense
	if alpha > 0 {
		var A mat.SymDense
		A.SymOuterK(1, Z.T())
		for j := 0; j < cols; j++ {
			A.SetSym(j, j, A.At(j, j)+alpha)
		}
		var ch mat.Cholesky
		if !ch.Factorize(&A) {
			return nil, errors.New("linear: normal equations are not positive definite")
		}
		var b mat.VecDense
		b.MulVec(Z.T(), yc)
		if err := ch.SolveVecTo(&w, &b); err != nil {
			return nil, err
		}
	} else {
		var qr mat.QR
		qr.Factorize(Z)
		if err := qr.SolveVecTo(&w, false, yc); err != nil {
			return nil, fmt.Errorf("linear: least squares: %w (collinear columns? use a ridge penalty)", err)
		}
	}
	m.Coef = make([]float64, cols)
	for j := range m.Coef {
		m.Coef[j] = w.AtVec(j)
	}
	m.Intercept = ym
	return m, nil
}

// Predict returns the fitted values for rows.
func (m *Regression) Predict(x []float64, rows, cols int) ([]float64, error) {
	return affine(m.Scaler, m.Coef, m.Intercept, x, rows, cols)
}

// Validate checks the settings before a fit.
func (c *LogisticConfig) Validate() error {
	switch {
	case !(c.C > 0):
		return fmt.Errorf("logistic: c must be > 0, got %v", c.C)
	case !(c.PosWeight > 0):
		return fmt.Errorf("logistic: pos_weight must be > 0, got %v", c.PosWeight)
	case c.MaxIter < 1:
		return fmt.Errorf("logistic: max_iter must be at least 1, got %d", c.MaxIter)
	}
	return nil
}
