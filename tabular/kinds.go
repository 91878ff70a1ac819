package tabular

import (
	"fmt"

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
