package tabular

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/compare"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/search"
)

// ParseClassWeights reads per-class loss weights, in classes order:
// "balanced" (n / (k · n_class), scikit-learn's rule over the labels y) or
// LABEL=W pairs (unnamed classes weigh 1).
func ParseClassWeights(s string, classes []string, y []int) ([]float64, error) {
	k := len(classes)
	w := make([]float64, k)
	if s == "balanced" {
		count := make([]float64, k)
		for _, c := range y {
			count[c]++
		}
		for i := range w {
			w[i] = float64(len(y)) / (float64(k) * max(count[i], 1))
		}
		return w, nil
	}
	for i := range w {
		w[i] = 1
	}
	for _, kv := range strings.Split(s, ",") {
		l, v, ok := strings.Cut(kv, "=")
		x, err := strconv.ParseFloat(v, 64)
		i := slices.Index(classes, l)
		if !ok || err != nil || i < 0 || !(x > 0) {
			return nil, fmt.Errorf("%q: want 'balanced' or LABEL=WEIGHT pairs with labels from %s", s, strings.Join(classes, ", "))
		}
		w[i] = x
	}
	return w, nil
}

// SetClassWeights puts per-class weights (in schema.Classes order) into the
// spec's kind, in that kind's label encoding: gbdt's two-class labels are
// not-positive/positive, logistic takes the positive class's weight
// relative to the other's (on more classes, the schema's order), fcn takes
// the schema's order.
func (s *Spec) SetClassWeights(w []float64, schema *Schema) error {
	if len(w) != len(schema.Classes) {
		return fmt.Errorf("%d class weights for %d classes", len(w), len(schema.Classes))
	}
	switch s.Model {
	case KindGBDT:
		if len(w) == 2 {
			w = []float64{w[1-schema.Positive], w[schema.Positive]}
		}
		s.GBDT.ClassWeights = w
	case KindLogistic:
		if len(w) > 2 {
			s.Logistic.ClassWeights = w
			break
		}
		s.Logistic.PosWeight = w[schema.Positive] / w[1-schema.Positive]
	case KindFCN:
		s.FCN.ClassWeights = w
	default:
		return fmt.Errorf("unknown model %q", s.Model)
	}
	return nil
}

// Tuning is a hyperparameter search over a kind's Space.
type Tuning struct {
	N      int    // settings to draw
	Method string // random, or halving (successive halving over folds)
	// Metric is the cross-validated score to maximise (losses such as
	// log_loss are minimised).
	Metric string
	Seed   uint64
	// Progress reports the settings scored (nil: quiet).
	Progress Reporter
}

// Reporter starts a progress report of total steps under label and returns
// the hook to call as steps finish (with an optional note) and the
// function that ends the report. Front ends plug in their progress bars;
// nil is quiet.
type Reporter func(label string, total int) (step func(done int, note string), finish func())

func (r Reporter) start(label string, total int) (func(int, string), func()) {
	if r == nil {
		return func(int, string) {}, func() {}
	}
	return r(label, total)
}

// folds adapts a report to CrossValidate's hook.
func (r Reporter) folds(label string, total int) (FoldProgress, func()) {
	step, finish := r.start(label, total)
	return func(done, _ int) { step(done, "") }, finish
}

// Tune searches spec's kind's space on folds and returns the best spec
// with every setting's result, best first (scores in the metric's own
// sign).
func Tune(ctx context.Context, spec Spec, schema *Schema, fr *Frame, folds []dataset.Fold, t Tuning) (Spec, []search.Result, error) {
	if t.Method != "random" && t.Method != "halving" {
		return spec, nil, fmt.Errorf("search method %q: random or halving", t.Method)
	}
	if t.N < 1 || len(folds) == 0 {
		return spec, nil, fmt.Errorf("search needs at least one setting and one fold (got %d settings, %d folds)", t.N, len(folds))
	}
	pts := Space(spec.Model).Sample(t.N, t.Seed)
	sign := 1.0
	if LowerIsBetter(t.Metric) {
		sign = -1
	}
	eval := func(ctx context.Context, p search.Point, budget int) (float64, error) {
		sp, err := Apply(spec, p)
		if err != nil {
			return 0, err
		}
		cv, err := CrossValidate(ctx, sp, schema, fr, folds[:budget], nil)
		if err != nil {
			return 0, err
		}
		v, ok := cv.Mean[t.Metric]
		if !ok {
			return 0, fmt.Errorf("search metric %q is not a score (have: %s)", t.Metric, strings.Join(cv.Mean.Names(), ", "))
		}
		return sign * v, nil
	}
	step, finish := t.Progress.start(fmt.Sprintf("searching %s (%s, %d settings)", spec.Model, t.Method, t.N), t.N)
	defer finish()
	prog := func(done, _ int, r search.Result) {
		step(min(done, t.N), fmt.Sprintf("best so far %.4f", sign*r.Score))
	}
	var res []search.Result
	var err error
	if t.Method == "random" {
		res, err = search.Random(ctx, pts, len(folds), eval, prog)
	} else {
		res, err = search.Halving(ctx, pts, 1, len(folds), 3, eval, prog)
	}
	if err != nil {
		return spec, nil, err
	}
	for i := range res {
		res[i].Score *= sign
	}
	best, err := Apply(spec, res[0].Point)
	return best, res, err
}

// Candidate turns a cross-validation into what the selection policies
// compare: per fold, the scores, the rows, their truth (positive or not)
// and whether each decision was right.
func Candidate(name string, cv *CV, fr *Frame, schema *Schema) compare.Candidate {
	c := compare.Candidate{Name: name}
	for _, f := range cv.Folds {
		cf := compare.Fold{Scores: f.Scores, Rows: f.Test, Proba: f.Proba}
		if schema.Regression() {
			// Scores only: no decision is right or wrong row by row, so
			// McNemar's test has nothing to count.
			c.Folds = append(c.Folds, cf)
			continue
		}
		for j, r := range f.Test {
			cf.Truth = append(cf.Truth, fr.Y[r] == schema.Positive)
			cf.Correct = append(cf.Correct, f.Pred[j] == fr.Y[r])
		}
		c.Folds = append(c.Folds, cf)
	}
	return c
}

// CVSummary is a cross-validation as reports show it.
type CVSummary struct {
	Folds    string   `json:"folds"`
	Mean     Scores   `json:"mean"`
	SD       Scores   `json:"sd"`
	PerFold  []Scores `json:"per_fold"`
	Seconds  float64  `json:"seconds"`
	Positive string   `json:"positive"`
}

// Summarize makes a report's summary of cv; desc names the folds.
func Summarize(cv *CV, desc, positive string, secs float64) *CVSummary {
	s := &CVSummary{Folds: desc, Mean: cv.Mean, SD: cv.SD, Seconds: secs, Positive: positive}
	for _, f := range cv.Folds {
		s.PerFold = append(s.PerFold, f.Scores)
	}
	return s
}

// Fitting is one "train tabular": optionally tune, optionally
// cross-validate, then fit on every row.
type Fitting struct {
	Spec   Spec
	Schema *Schema
	Frame  *Frame
	// Folds (may be nil) cross-validate the final spec; FoldDesc names them.
	Folds    []dataset.Fold
	FoldDesc string
	// Tuning, when N > 0, searches first (on Folds, or stratified 5-fold
	// with FoldSeed when there are none).
	Tuning   Tuning
	FoldSeed uint64
	// Progress reports the folds of the cross-validation and the trees or
	// epochs of the final fit (nil: quiet); Tuning reports its own.
	Progress Reporter
}

// Fitted is a Fitting's outcome.
type Fitted struct {
	Model     *Model
	Spec      Spec
	CV        *CVSummary
	Search    []search.Result
	TrainSecs float64
	// Train scores the model on the rows it was fitted on (optimistic).
	Train Scores
}

// Fit runs a Fitting. The model's stored metrics are the cross-validation
// means (cv.NAME) when it cross-validated.
func Fit(ctx context.Context, f Fitting) (*Fitted, error) {
	spec, folds, desc := f.Spec, f.Folds, f.FoldDesc
	out := &Fitted{}
	if f.Tuning.N > 0 {
		if folds == nil {
			var err error
			if folds, desc, err = f.Schema.FoldPlan(dataset.FoldPlan{CV: "5x1", Seed: f.FoldSeed}).Build(f.Frame.Strata()); err != nil {
				return nil, err
			}
		}
		var err error
		if spec, out.Search, err = Tune(ctx, spec, f.Schema, f.Frame, folds, f.Tuning); err != nil {
			return nil, err
		}
	}
	if folds != nil {
		t0 := time.Now()
		prog, finish := f.Progress.folds("cross-validating "+spec.Model+" (folds)", len(folds))
		cv, err := CrossValidate(ctx, spec, f.Schema, f.Frame, folds, prog)
		finish()
		if err != nil {
			return nil, err
		}
		out.CV = Summarize(cv, desc, f.Schema.PositiveLabel(), time.Since(t0).Seconds())
	}
	var prog Progress
	finish := func() {}
	if unit, total := spec.steps(); total > 0 {
		var step func(int, string)
		step, finish = f.Progress.start(fmt.Sprintf("training %s on all %d rows (%s)", spec.Model, f.Frame.Rows, unit), total)
		prog = func(done, _ int) { step(done, "") }
	}
	t0 := time.Now()
	m, err := Train(ctx, spec, f.Schema, f.Frame, prog)
	finish()
	if err != nil {
		return nil, err
	}
	out.TrainSecs = time.Since(t0).Seconds()
	if m.Reference, err = m.ProfileFrame(f.Frame); err != nil {
		return nil, err
	}
	if e, err := Evaluate(m, f.Frame); err == nil {
		out.Train = e.Scores
	}
	if out.CV != nil {
		m.Metrics = map[string]float64{}
		for k, v := range out.CV.Mean {
			m.Metrics["cv."+k] = v
		}
	}
	out.Model, out.Spec = m, spec
	return out, nil
}

// FileArtifact is m's artifact as a model file holds it: with its kind,
// the training data's hash and the reckon version that trained it.
func (m *Model) FileArtifact(dataHash, reckon string) (*model.Artifact, error) {
	a, err := m.Artifact()
	if err != nil {
		return nil, err
	}
	a.Header.Kind, a.Header.DataHash, a.Header.Reckon = m.Kind(), dataHash, reckon
	return a, nil
}

// CandidateSpec resolves one entry of a comparison's model list: a model
// file (its kind, hyperparameters and threshold, and its schema) or a kind
// name (its defaults; schema nil). A file of that name wins over the kind.
func CandidateSpec(entry string) (name string, spec Spec, schema *Schema, err error) {
	if slices.Contains(Kinds, entry) {
		if model.IsFile(entry) {
			return "", spec, nil, fmt.Errorf("%q is both a model kind and a model file in this directory: write ./%s for the file, or rename it to use the kind", entry, entry)
		}
		return entry, DefaultSpec(entry), nil, nil
	}
	m, err := model.Load(entry)
	if err != nil {
		return "", spec, nil, fmt.Errorf("%s: not a model kind (%s) and not a model file: %w", entry, strings.Join(Kinds, ", "), err)
	}
	tm, ok := m.(*Model)
	if !ok {
		return "", spec, nil, fmt.Errorf("%s: a %s model is not a tabular classifier", entry, m.Kind())
	}
	return strings.TrimSuffix(filepath.Base(entry), filepath.Ext(entry)), tm.Spec, tm.Schema, nil
}

// Comparison is a "compare": every spec cross-validated on the same folds,
// then judged by each policy; the last policy's winner is the champion.
type Comparison struct {
	Names    []string
	Specs    []Spec
	Schema   *Schema
	Frame    *Frame
	Folds    []dataset.Fold
	Policies []compare.Policy
	// Progress reports each model's folds (nil: quiet).
	Progress Reporter
}

// Compared is a Comparison's outcome.
type Compared struct {
	Models    []string              `json:"models"`
	CV        map[string]*CVSummary `json:"cv"`
	Decisions []*compare.Decision   `json:"decisions"`
	Champion  string                `json:"champion"`
	Positive  string                `json:"positive,omitempty"`
	Task      string                `json:"task"`
}

// Compare runs a Comparison.
func Compare(ctx context.Context, c Comparison) (*Compared, error) {
	if c.Folds == nil {
		return nil, fmt.Errorf("compare needs folds: --cv KxR or --folds FILE")
	}
	if len(c.Policies) == 0 {
		return nil, fmt.Errorf("compare needs at least one policy")
	}
	for _, p := range c.Policies {
		if err := c.Schema.CheckPolicy(p); err != nil {
			return nil, err
		}
	}
	for i, sp := range c.Specs {
		if err := CheckTask(sp.Model, c.Schema); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Names[i], err)
		}
	}
	res := &Compared{Models: c.Names, CV: map[string]*CVSummary{}, Positive: c.Schema.PositiveLabel(), Task: TaskClassification}
	if c.Schema.Regression() {
		res.Task = TaskRegression
	}
	var cands []compare.Candidate
	for i, sp := range c.Specs {
		prog, done := c.Progress.folds(fmt.Sprintf("cross-validating %s (folds)", c.Names[i]), len(c.Folds))
		t0 := time.Now()
		cv, err := CrossValidate(ctx, sp, c.Schema, c.Frame, c.Folds, prog)
		done()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Names[i], err)
		}
		res.CV[c.Names[i]] = Summarize(cv, "", c.Schema.PositiveLabel(), time.Since(t0).Seconds())
		cands = append(cands, Candidate(c.Names[i], cv, c.Frame, c.Schema))
	}
	for _, p := range c.Policies {
		d, err := p.Decide(cands)
		if err != nil {
			return nil, err
		}
		res.Decisions = append(res.Decisions, d)
	}
	res.Champion = res.Decisions[len(res.Decisions)-1].Winner
	return res, nil
}

// steps are what a fit of the spec counts as it goes: trees for gbdt,
// epochs for fcn; logistic regression reports none.
func (s *Spec) steps() (unit string, total int) {
	switch s.Model {
	case KindGBDT:
		return "trees", s.GBDT.Trees
	case KindFCN:
		return "epochs", s.FCN.Epochs
	}
	return "", 0
}

// Prepare fits a schema on t for the target column (positive: the positive
// class, "" for the minority class of two) and encodes t with it.
func Prepare(t *dataset.Table, target, positive string) (*Schema, *Frame, error) {
	return PrepareTask(t, target, positive, "")
}

// PrepareTask is Prepare for a task (NewSchemaTask; "": the target's).
func PrepareTask(t *dataset.Table, target, positive, task string) (*Schema, *Frame, error) {
	s, err := NewSchemaTask(t, target, positive, task)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.Encode(t)
	if err != nil {
		return nil, nil, err
	}
	return s, f, nil
}

// TableEvaluation is a model scored on a labelled table.
type TableEvaluation struct {
	*Evaluation
	Rows      int
	Threshold float64
	// SeenInTraining: the table's content hash is the training data's, so
	// the scores are optimistic.
	SeenInTraining bool
}

// EvaluateTable scores m on a labelled table encoded with m's schema, at
// threshold (0: the model's own); dataHash is the training data's hash
// from the model's artifact ("" unknown). m's threshold is set to the one
// used.
func EvaluateTable(m *Model, t *dataset.Table, threshold float64, dataHash string) (*TableEvaluation, error) {
	fr, err := m.Schema.Encode(t)
	if err != nil {
		return nil, err
	}
	multi := len(m.Schema.Classes) > 2
	if m.Schema.Regression() && threshold != 0 {
		return nil, fmt.Errorf("a threshold applies to a classifier's probabilities; this model predicts values of %q: leave --threshold out", m.Schema.Target)
	}
	if threshold != 0 {
		if multi {
			return nil, fmt.Errorf("a threshold applies to two classes; this model has %d (%s) and predicts the most probable: leave --threshold out", len(m.Schema.Classes), strings.Join(m.Schema.Classes, ", "))
		}
		m.Spec.Threshold = threshold
	}
	e, err := Evaluate(m, fr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Source, err)
	}
	te := &TableEvaluation{Evaluation: e, Rows: fr.Rows, Threshold: m.Spec.Threshold, SeenInTraining: dataHash != "" && dataHash == t.Hash()}
	if multi || m.Schema.Regression() {
		te.Threshold = 0 // not used: the most probable class, or a value, is predicted
	}
	return te, nil
}
