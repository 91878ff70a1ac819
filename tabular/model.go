package tabular

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/fcn"
	"github.com/reckon-ml/reckon/gbdt"
	"github.com/reckon-ml/reckon/linear"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/monitor"
)

// Model kinds.
const (
	KindGBDT     = "gbdt"
	KindLogistic = "logistic"
	KindFCN      = "fcn"
	KindLinear   = "linear" // ridge regression
)

// Kinds are the tabular model kinds, in the order reports list them.
var Kinds = []string{KindLogistic, KindGBDT, KindFCN, KindLinear}

// ClassificationKinds and RegressionKinds are the kinds that serve each
// task, in report order.
var (
	ClassificationKinds = []string{KindLogistic, KindGBDT, KindFCN}
	RegressionKinds     = []string{KindLinear, KindGBDT, KindFCN}
)

// CheckTask refuses a kind that cannot serve the schema's task, before
// anything trains, and says which kinds can.
func CheckTask(kind string, s *Schema) error {
	if s.Regression() {
		if kind == KindLogistic {
			return fmt.Errorf("%s is a classifier and target %q is numeric (regression); use linear (ridge), gbdt or fcn, or --task classification if the numbers are classes", kind, s.Target)
		}
		return nil
	}
	if kind == KindLinear {
		return fmt.Errorf("linear is ridge regression and target %q has classes (%s); use logistic, gbdt or fcn, or --task regression if it is a quantity", s.Target, strings.Join(s.Classes, ", "))
	}
	return nil
}

// Spec says which model to train and how.
type Spec struct {
	Model    string                `json:"model"`
	GBDT     gbdt.Config           `json:"gbdt"`
	Logistic linear.LogisticConfig `json:"logistic"`
	FCN      fcn.Config            `json:"fcn"`
	Linear   linear.RidgeConfig    `json:"linear"`
	// Threshold on P(positive) for a binary decision.
	Threshold float64 `json:"threshold"`
}

// DefaultSpec returns the defaults of a kind.
func DefaultSpec(kind string) Spec {
	return Spec{Model: kind, GBDT: gbdt.DefaultConfig(), Logistic: linear.DefaultLogistic(), FCN: fcn.DefaultConfig(), Linear: linear.DefaultRidge(), Threshold: 0.5}
}

// Validate checks the spec's kind, its threshold and the chosen kind's
// settings (the other kinds' settings are not used and not checked).
func (s *Spec) Validate() error {
	if !slices.Contains(Kinds, s.Model) {
		return fmt.Errorf("unknown model %q (gbdt, logistic, fcn, linear)", s.Model)
	}
	if !(s.Threshold > 0 && s.Threshold < 1) {
		return fmt.Errorf("threshold must be in (0, 1), got %v", s.Threshold)
	}
	switch s.Model {
	case KindGBDT:
		return s.GBDT.Validate()
	case KindLogistic:
		return s.Logistic.Validate()
	case KindLinear:
		return s.Linear.Validate()
	}
	return s.FCN.Validate()
}

// Model is a trained tabular classifier with its schema.
type Model struct {
	Spec   Spec    `json:"spec"`
	Schema *Schema `json:"-"`
	// fit is the kind's fitted model (kinds.go): every method of Model
	// goes through it, so no method switches on the kind.
	fit learner
	// Metrics are stored with the artifact (e.g. cross-validation means).
	Metrics map[string]float64 `json:"-"`
	// Reference is the drift profile of the training rows (ProfileFrame);
	// nil for models from files older than format 2.
	Reference *monitor.Profile `json:"-"`
}

// Progress reports training steps: trees for gbdt, epochs for fcn.
type Progress func(step, total int)

// Train fits spec's model on train. seed makes the run reproducible.
func Train(ctx context.Context, spec Spec, schema *Schema, train *Frame, progress Progress) (*Model, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := CheckTask(spec.Model, schema); err != nil {
		return nil, err
	}
	if !train.HasTarget() {
		return nil, ErrNoTarget
	}
	m := &Model{Spec: spec, Schema: schema}
	if schema.Regression() {
		fit, err := trainRegressor(ctx, spec, schema, train, progress)
		if err != nil {
			return nil, err
		}
		m.fit = fit
		return m, nil
	}
	K := len(schema.Classes)
	switch spec.Model {
	case KindGBDT:
		cfg := spec.GBDT
		if cfg.Loss.Regression() {
			return nil, fmt.Errorf("gbdt loss %q is for a numeric target; target %q has classes (the trees take logloss or multiclass by themselves)", cfg.Loss, schema.Target)
		}
		y := make([]float64, train.Rows)
		for i, c := range train.Y {
			y[i] = float64(c)
		}
		if K == 2 {
			cfg.Loss = gbdt.LogLoss
			for i := range y {
				y[i] = boolf(train.Y[i] == schema.Positive)
			}
		} else {
			cfg.Loss, cfg.Classes = gbdt.Multiclass, K
		}
		gm, err := fitGBDT(ctx, cfg, train, y, progress)
		if err != nil {
			return nil, err
		}
		m.fit = gbdtLearner{gm}
	case KindLogistic:
		if K > 2 {
			// Multinomial: one coefficient vector per class, the classes in
			// the schema's order.
			x, cols := schema.OneHot(train)
			sm, err := linear.FitSoftmax(x, train.Rows, cols, train.Y, K, spec.Logistic)
			if err != nil {
				return nil, err
			}
			m.fit = softmaxLearner{sm}
			break
		}
		y := make([]float64, train.Rows)
		for i := range y {
			y[i] = boolf(train.Y[i] == schema.Positive)
		}
		x, cols := schema.OneHot(train)
		lm, err := linear.FitLogistic(x, train.Rows, cols, y, spec.Logistic)
		if err != nil {
			return nil, err
		}
		m.fit = logisticLearner{lm}
	case KindFCN:
		x, cols := schema.OneHot(train)
		nm, err := fcn.Fit(ctx, x, train.Rows, cols, train.Y, K, spec.FCN, fcnProgress(progress, spec.FCN.Epochs))
		if err != nil {
			return nil, err
		}
		m.fit = fcnLearner{nm}
	}
	return m, nil
}

// trainRegressor fits a regression kind on train's target values.
func trainRegressor(ctx context.Context, spec Spec, schema *Schema, train *Frame, progress Progress) (learner, error) {
	switch spec.Model {
	case KindLinear:
		x, cols := schema.OneHot(train)
		r, err := linear.FitRegression(x, train.Rows, cols, train.T, spec.Linear.Alpha)
		if err != nil {
			return nil, err
		}
		return ridgeLearner{r}, nil
	case KindGBDT:
		cfg := spec.GBDT
		if !cfg.Loss.Regression() {
			cfg.Loss = gbdt.RMSE
		}
		cfg.Classes = 0
		gm, err := fitGBDT(ctx, cfg, train, train.T, progress)
		if err != nil {
			return nil, err
		}
		return gbdtRegressor{gm}, nil
	case KindFCN:
		x, cols := schema.OneHot(train)
		nm, err := fcn.FitRegression(ctx, x, train.Rows, cols, train.T, spec.FCN, fcnProgress(progress, spec.FCN.Epochs))
		if err != nil {
			return nil, err
		}
		return fcnRegressor{fcnLearner{nm}}, nil
	}
	return nil, CheckTask(spec.Model, schema)
}

// fitGBDT fits the trees on train's rows with targets y. Early stopping
// watches 15% of the rows, stratified by class (one stratum for a
// regression), which the trees then never see.
func fitGBDT(ctx context.Context, cfg gbdt.Config, train *Frame, y []float64, progress Progress) (*gbdt.Model, error) {
	var p gbdt.Progress
	if progress != nil {
		p = func(round int, _, _ float64) { progress(round, cfg.Trees) }
	}
	d := &gbdt.Data{X: train.X, Rows: train.Rows, Cols: train.Cols, Categorical: train.Categorical}
	var valid *gbdt.Data
	var yv []float64
	if cfg.EarlyStop > 0 {
		f := dataset.StratifiedSplit(train.Strata(), 0.15, cfg.Seed)
		tr, va := train.Subset(f.Train), train.Subset(f.Test)
		d = &gbdt.Data{X: tr.X, Rows: tr.Rows, Cols: tr.Cols, Categorical: tr.Categorical}
		valid = &gbdt.Data{X: va.X, Rows: va.Rows, Cols: va.Cols, Categorical: va.Categorical}
		pick := func(idx []int) []float64 {
			out := make([]float64, len(idx))
			for i, r := range idx {
				out[i] = y[r]
			}
			return out
		}
		y, yv = pick(f.Train), pick(f.Test)
	}
	return gbdt.Fit(ctx, d, y, valid, yv, cfg, p)
}

// fcnProgress adapts a Progress to the network's epochs.
func fcnProgress(progress Progress, epochs int) fcn.Progress {
	if progress == nil {
		return nil
	}
	return func(epoch int, _, _ float64) { progress(epoch, epochs) }
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Proba returns rows × classes probabilities, in Schema.Classes order.
func (m *Model) Proba(f *Frame) ([]float64, error) { return m.ProbaThreads(f, 0) }

// Predict returns a regression model's predicted values, row by row.
func (m *Model) Predict(f *Frame) ([]float64, error) { return m.PredictThreads(f, 0) }

// PredictThreads is Predict with the trees on at most threads goroutines.
func (m *Model) PredictThreads(f *Frame, threads int) ([]float64, error) {
	if f.Cols != len(m.Schema.Features) {
		return nil, fmt.Errorf("model has %d features, data %d", len(m.Schema.Features), f.Cols)
	}
	r, ok := m.fit.(regressor)
	if !ok {
		return nil, fmt.Errorf("a %s classifier predicts classes, not values", m.Spec.Model)
	}
	return r.values(m, f, threads)
}

// ProbaThreads is Proba with the trees' prediction on at most threads
// goroutines (0: one per core), for callers that parallelise themselves.
func (m *Model) ProbaThreads(f *Frame, threads int) ([]float64, error) {
	if f.Cols != len(m.Schema.Features) {
		return nil, fmt.Errorf("model has %d features, data %d", len(m.Schema.Features), f.Cols)
	}
	if m.fit == nil {
		return nil, errors.New("tabular: empty model")
	}
	if m.Schema.Regression() {
		return nil, fmt.Errorf("a %s regression model predicts values of %q, not class probabilities", m.Spec.Model, m.Schema.Target)
	}
	return m.fit.proba(m, f, threads)
}

// Replica returns a model safe to use from another goroutine at the same
// time as m: the network keeps activations in its layers, so it gets
// layers of its own; trees and coefficients are only read and are shared.
func (m *Model) Replica() (*Model, error) {
	if m.fit == nil {
		return m, nil // an empty model has nothing to copy
	}
	fit, err := m.fit.replica()
	if err != nil {
		return nil, err
	}
	r := *m
	r.fit = fit
	return &r, nil
}

// binary spreads P(positive) over the two classes in schema order.
func (m *Model) binary(pos func(int) float64, rows int) []float64 {
	out := make([]float64, 2*rows)
	for i := 0; i < rows; i++ {
		q := pos(i)
		out[2*i+m.Schema.Positive] = q
		out[2*i+1-m.Schema.Positive] = 1 - q
	}
	return out
}

// Decide turns probabilities into classes: the positive class when its
// probability reaches the threshold (two classes), else the most probable.
func (m *Model) Decide(p []float64, rows int) []int {
	K := len(m.Schema.Classes)
	out := make([]int, rows)
	for i := 0; i < rows; i++ {
		row := p[i*K : (i+1)*K]
		if K == 2 {
			out[i] = 1 - m.Schema.Positive
			if row[m.Schema.Positive] >= m.Spec.Threshold {
				out[i] = m.Schema.Positive
			}
			continue
		}
		for k := range row {
			if row[k] > row[out[i]] {
				out[i] = k
			}
		}
	}
	return out
}

// Importance is what the model says of its inputs: the trees' gain
// shares or a linear model's standardised coefficients, largest first
// (empty for a network).
func (m *Model) Importance() Importance {
	if m.fit == nil {
		return Importance{}
	}
	return m.fit.importance(m)
}

// Kind implements model.Model.
func (m *Model) Kind() string { return m.Spec.Model }

type state struct {
	Threshold float64            `json:"threshold"`
	GBDT      *gbdt.Model        `json:"gbdt,omitempty"`
	Logistic  *linear.Logistic   `json:"logistic,omitempty"`
	Softmax   *linear.Softmax    `json:"softmax,omitempty"`
	FCN       *fcn.Model         `json:"fcn,omitempty"`
	Ridge     *linear.Regression `json:"ridge,omitempty"`
}

// Artifact implements model.Model: the schema, the hyperparameters, the
// fitted model as JSON (trees and coefficients keep full float64
// precision) and the network's weights as tensors.
func (m *Model) Artifact() (*model.Artifact, error) {
	if m.fit == nil {
		return nil, errors.New("tabular: empty model")
	}
	h, err := json.Marshal(m.Spec.kindConfig())
	if err != nil {
		return nil, err
	}
	sc, err := json.Marshal(m.Schema)
	if err != nil {
		return nil, err
	}
	st := state{Threshold: m.Spec.Threshold}
	a := &model.Artifact{Header: model.Header{Hyper: h, Schema: sc, Metrics: m.Metrics}}
	m.fit.save(&st, a)
	if a.Header.State, err = json.Marshal(st); err != nil {
		return nil, err
	}
	if m.Reference != nil {
		if a.Header.Drift, err = json.Marshal(m.Reference); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func load(kind string) model.Loader {
	return func(a *model.Artifact) (model.Model, error) {
		m := &Model{Spec: DefaultSpec(kind), Metrics: a.Header.Metrics}
		if err := json.Unmarshal(a.Header.Schema, &m.Schema); err != nil || m.Schema == nil || (len(m.Schema.Classes) < 2 && !m.Schema.Regression()) {
			return nil, fmt.Errorf("bad schema: %v", err)
		}
		var st state
		if err := json.Unmarshal(a.Header.State, &st); err != nil {
			return nil, err
		}
		m.Spec.Threshold = st.Threshold
		if len(a.Header.Drift) > 0 {
			if err := json.Unmarshal(a.Header.Drift, &m.Reference); err != nil {
				return nil, fmt.Errorf("bad drift profile: %v", err)
			}
		}
		switch kind {
		case KindGBDT:
			if st.GBDT == nil {
				return nil, errors.New("no trees in the file")
			}
			m.fit, m.Spec.GBDT = gbdtLearner{st.GBDT}, st.GBDT.Config
			if m.Schema.Regression() {
				m.fit = gbdtRegressor{st.GBDT}
			}
			st.GBDT.Config.Threads = runtime.NumCPU()
		case KindLinear:
			if st.Ridge == nil || !m.Schema.Regression() {
				return nil, errors.New("no ridge coefficients for a numeric target in the file")
			}
			m.fit, m.Spec.Linear = ridgeLearner{st.Ridge}, linear.RidgeConfig{Alpha: st.Ridge.Alpha}
		case KindLogistic:
			switch {
			case st.Softmax != nil && len(st.Softmax.Coef) == len(m.Schema.Classes):
				m.fit = softmaxLearner{st.Softmax}
			case st.Logistic != nil && len(m.Schema.Classes) == 2:
				m.fit = logisticLearner{st.Logistic}
			default:
				return nil, errors.New("no coefficients for its classes in the file")
			}
		case KindFCN:
			if st.FCN == nil {
				return nil, errors.New("no network in the file")
			}
			m.Spec.FCN = st.FCN.Config
			w := make([][]float32, len(a.Tensors))
			for i := range a.Tensors {
				w[i] = a.Tensors[i].Data
			}
			if err := st.FCN.Restore(w); err != nil {
				return nil, err
			}
			m.fit = fcnLearner{st.FCN}
			if st.FCN.Regression != m.Schema.Regression() {
				return nil, errors.New("the network's head does not match the schema's task")
			}
			if m.Schema.Regression() {
				m.fit = fcnRegressor{fcnLearner{st.FCN}}
			}
		}
		return m, nil
	}
}

func init() {
	for _, k := range Kinds {
		model.Register(k, load(k))
	}
}
