package tabular

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/reckon-ml/reckon/fcn"
	"github.com/reckon-ml/reckon/gbdt"
	"github.com/reckon-ml/reckon/linear"
	"github.com/reckon-ml/reckon/model"
)

// learner is one kind's fitted model as Model uses it. Each kind's
// encoding of labels and inputs lives here: gbdt sees not-positive/positive
// (or the class index) on the encoded frame, logistic regression the
// positive class (or, multinomial, the schema's classes) on one-hot
// inputs, the network the schema's classes on one-hot inputs.
type learner interface {
	// proba is rows x classes probabilities in Schema.Classes order.
	proba(m *Model, f *Frame, threads int) ([]float64, error)
	// replica is safe to use from another goroutine at the same time.
	replica() (learner, error)
	// save puts the fitted state into st and the artifact's seed, curves
	// and tensors.
	save(st *state, a *model.Artifact)
	// importance is what the model says of its inputs (Model.Importance).
	importance(m *Model) Importance
}

// kindConfig is the chosen kind's settings, as model files store them.
func (s *Spec) kindConfig() any {
	switch s.Model {
	case KindGBDT:
		return s.GBDT
	case KindLogistic:
		return s.Logistic
	case KindFCN:
		return s.FCN
	case KindLinear:
		return s.Linear
	}
	return nil
}

type gbdtLearner struct{ m *gbdt.Model }

func (g gbdtLearner) proba(m *Model, f *Frame, threads int) ([]float64, error) {
	p, err := g.m.Proba(&gbdt.Data{X: f.X, Rows: f.Rows, Cols: f.Cols, Categorical: f.Categorical}, threads)
	if err != nil || len(m.Schema.Classes) > 2 {
		return p, err
	}
	return m.binary(func(i int) float64 { return p[2*i+1] }, f.Rows), nil
}

// replica shares the trees: prediction only reads them.
func (g gbdtLearner) replica() (learner, error) { return g, nil }

func (g gbdtLearner) save(st *state, a *model.Artifact) {
	st.GBDT = g.m
	a.Header.Seed = g.m.Config.Seed
	a.Header.Curves = map[string][]float64{"train_loss": g.m.TrainLoss}
}

type logisticLearner struct{ m *linear.Logistic }

func (l logisticLearner) proba(m *Model, f *Frame, _ int) ([]float64, error) {
	x, cols := m.Schema.OneHot(f)
	p, err := l.m.Proba(x, f.Rows, cols)
	if err != nil {
		return nil, err
	}
	return m.binary(func(i int) float64 { return p[i] }, f.Rows), nil
}

// replica shares the coefficients: prediction only reads them.
func (l logisticLearner) replica() (learner, error) { return l, nil }

func (l logisticLearner) save(st *state, _ *model.Artifact) { st.Logistic = l.m }

// softmaxLearner is logistic regression on more than two classes; its
// class k is Schema.Classes[k].
type softmaxLearner struct{ m *linear.Softmax }

func (l softmaxLearner) proba(m *Model, f *Frame, _ int) ([]float64, error) {
	x, cols := m.Schema.OneHot(f)
	return l.m.Proba(x, f.Rows, cols)
}

func (l softmaxLearner) replica() (learner, error) { return l, nil }

func (l softmaxLearner) save(st *state, _ *model.Artifact) { st.Softmax = l.m }

type fcnLearner struct{ m *fcn.Model }

func (n fcnLearner) proba(m *Model, f *Frame, _ int) ([]float64, error) {
	x, cols := m.Schema.OneHot(f)
	// The network's class k is Schema.Classes[k]: the order is already
	// the schema's.
	return n.m.Proba(x, f.Rows, cols)
}

// replica gives the network layers of its own: they keep activations.
func (n fcnLearner) replica() (learner, error) {
	nn := *n.m
	var w [][]float32
	for _, p := range n.m.Params() {
		w = append(w, append([]float32(nil), p.W...))
	}
	if err := nn.Restore(w); err != nil {
		return nil, err
	}
	return fcnLearner{&nn}, nil
}

func (n fcnLearner) save(st *state, a *model.Artifact) {
	st.FCN = n.m
	a.Header.Seed = n.m.Config.Seed
	a.Header.Curves = map[string][]float64{"train_loss": n.m.TrainLoss, "valid_loss": n.m.ValidLoss}
	for _, p := range n.m.Params() {
		a.Tensors = append(a.Tensors, model.Tensor{Name: fmt.Sprintf("%d.%s", len(a.Tensors), p.Name), Shape: p.Shape, Data: p.W})
	}
}

// regressor is a learner of a numeric target.
type regressor interface {
	learner
	// values are the predictions, one per row.
	values(m *Model, f *Frame, threads int) ([]float64, error)
}

var errRegressor = errors.New("a regression model predicts values, not class probabilities")

// gbdtRegressor is gradient boosting on a numeric target (squared,
// absolute or Huber loss): the trees' sum is the prediction.
type gbdtRegressor struct{ m *gbdt.Model }

func (g gbdtRegressor) proba(*Model, *Frame, int) ([]float64, error) { return nil, errRegressor }

func (g gbdtRegressor) values(_ *Model, f *Frame, threads int) ([]float64, error) {
	return g.m.Proba(&gbdt.Data{X: f.X, Rows: f.Rows, Cols: f.Cols, Categorical: f.Categorical}, threads)
}

func (g gbdtRegressor) replica() (learner, error) { return g, nil }

func (g gbdtRegressor) save(st *state, a *model.Artifact) { gbdtLearner(g).save(st, a) }

// ridgeLearner is ridge regression on one-hot inputs.
type ridgeLearner struct{ m *linear.Regression }

func (l ridgeLearner) proba(*Model, *Frame, int) ([]float64, error) { return nil, errRegressor }

func (l ridgeLearner) values(m *Model, f *Frame, _ int) ([]float64, error) {
	x, cols := m.Schema.OneHot(f)
	return l.m.Predict(x, f.Rows, cols)
}

func (l ridgeLearner) replica() (learner, error) { return l, nil }

func (l ridgeLearner) save(st *state, _ *model.Artifact) { st.Ridge = l.m }

// Importance is what a model says of its inputs, largest magnitude first.
type Importance struct {
	// Measure names the numbers: "gain" (the trees' share of split gain,
	// summing to 1) or "standardized_coefficient" (a linear model's weight
	// per standard deviation of an input; one-hot levels as FEATURE=LEVEL).
	Measure string   `json:"measure"`
	Weights []Weight `json:"weights"`
}

// Weight is one input's number.
type Weight struct {
	Feature string  `json:"feature"`
	Value   float64 `json:"value"`
}

func sortedImportance(measure string, names []string, v []float64) Importance {
	imp := Importance{Measure: measure}
	for i, x := range v {
		if i < len(names) {
			imp.Weights = append(imp.Weights, Weight{names[i], x})
		}
	}
	slices.SortStableFunc(imp.Weights, func(a, b Weight) int { return cmp.Compare(math.Abs(b.Value), math.Abs(a.Value)) })
	return imp
}

func (g gbdtLearner) importance(m *Model) Importance   { return gbdtImportance(g.m, m) }
func (g gbdtRegressor) importance(m *Model) Importance { return gbdtImportance(g.m, m) }

func gbdtImportance(g *gbdt.Model, m *Model) Importance {
	names := make([]string, len(m.Schema.Features))
	for i, f := range m.Schema.Features {
		names[i] = f.Name
	}
	return sortedImportance("gain", names, g.Importance)
}

func (l logisticLearner) importance(m *Model) Importance {
	return sortedImportance("standardized_coefficient", m.Schema.OneHotNames(), l.m.Coef)
}

func (l ridgeLearner) importance(m *Model) Importance {
	return sortedImportance("standardized_coefficient", m.Schema.OneHotNames(), l.m.Coef)
}

// importance of a multinomial model: per input, its coefficient of
// largest magnitude over the classes, named INPUT (CLASS).
func (l softmaxLearner) importance(m *Model) Importance {
	names := m.Schema.OneHotNames()
	imp := Importance{Measure: "standardized_coefficient"}
	for j := range names {
		best, bk := 0.0, 0
		for k, row := range l.m.Coef {
			if j < len(row) && math.Abs(row[j]) > math.Abs(best) {
				best, bk = row[j], k
			}
		}
		imp.Weights = append(imp.Weights, Weight{names[j] + " (" + m.Schema.Classes[bk] + ")", best})
	}
	slices.SortStableFunc(imp.Weights, func(a, b Weight) int { return cmp.Compare(math.Abs(b.Value), math.Abs(a.Value)) })
	return imp
}

// A network has no one number per input worth printing.
func (n fcnLearner) importance(*Model) Importance { return Importance{} }

// fcnRegressor is the network with a linear head on a numeric target.
type fcnRegressor struct{ fcnLearner }

func (n fcnRegressor) proba(*Model, *Frame, int) ([]float64, error) { return nil, errRegressor }

func (n fcnRegressor) values(m *Model, f *Frame, _ int) ([]float64, error) {
	x, cols := m.Schema.OneHot(f)
	return n.m.Predict(x, f.Rows, cols)
}

func (n fcnRegressor) replica() (learner, error) {
	r, err := n.fcnLearner.replica()
	if err != nil {
		return nil, err
	}
	return fcnRegressor{r.(fcnLearner)}, nil
}
