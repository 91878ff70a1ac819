package tabular

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/compare"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/metrics"
)

// Scores are one evaluation's figures by name: "accuracy", "roc_auc",
// "average_precision" (one-vs-rest macro averages for more than two
// classes), "log_loss", "brier", "macro_f1", "weighted_f1", and
// per class "precision[c]", "recall[c]", "f1[c]", "specificity[c]".
type Scores map[string]float64

// LowerIsBetter says which scores are losses or errors.
func LowerIsBetter(name string) bool { return compare.LowerIsBetter(name) }

// Evaluation is a model scored on labelled rows.
type Evaluation struct {
	Report *metrics.Report `json:"report"`
	Scores Scores          `json:"scores"`
	ROC    *metrics.Curve  `json:"roc,omitempty"`
	PR     *metrics.Curve  `json:"pr,omitempty"`
	// Proba are the positive-class probabilities (two classes) and Pred the
	// decided classes, row by row; a regression has Values, the predicted
	// values, and Truth, the target's, instead.
	Proba  []float64 `json:"-"`
	Pred   []int     `json:"-"`
	Values []float64 `json:"-"`
	Truth  []float64 `json:"-"`
}

// Evaluate scores m on f (which must have targets).
func Evaluate(m *Model, f *Frame) (*Evaluation, error) {
	if m.Schema.Regression() {
		if f.T == nil {
			return nil, ErrNoTarget
		}
		v, err := m.Predict(f)
		if err != nil {
			return nil, err
		}
		return ScoreRegression(f.T, v)
	}
	if f.Y == nil {
		return nil, ErrNoTarget
	}
	p, err := m.Proba(f)
	if err != nil {
		return nil, err
	}
	return Score(m.Schema, p, m.Decide(p, f.Rows), f.Y)
}

// Score computes the report and scores from probabilities (rows × classes),
// decisions and truth.
func Score(s *Schema, p []float64, pred, truth []int) (*Evaluation, error) {
	rep, err := metrics.Classify(s.Classes, truth, pred)
	if err != nil {
		return nil, err
	}
	e := &Evaluation{Report: rep, Scores: Scores{"accuracy": rep.Accuracy, "macro_f1": rep.Macro.F1, "weighted_f1": rep.Weighted.F1}, Pred: pred}
	for _, c := range rep.Classes {
		e.Scores["precision["+c.Label+"]"] = c.Precision
		e.Scores["recall["+c.Label+"]"] = c.Recall
		e.Scores["f1["+c.Label+"]"] = c.F1
		e.Scores["specificity["+c.Label+"]"] = c.Specificity
	}
	K := len(s.Classes)
	if K == 2 {
		pos := make([]bool, len(truth))
		q := make([]float64, len(truth))
		for i := range truth {
			pos[i] = truth[i] == s.Positive
			q[i] = p[i*K+s.Positive]
		}
		e.Proba = q
		e.Scores["log_loss"] = metrics.LogLoss(pos, q)
		e.Scores["brier"] = metrics.Brier(pos, q)
		if auc, err := metrics.ROCAUC(pos, q); err == nil {
			e.Scores["roc_auc"] = auc
			ap, _ := metrics.AveragePrecision(pos, q)
			e.Scores["average_precision"] = ap
			roc, _ := metrics.ROC(pos, q)
			pr, _ := metrics.PR(pos, q)
			e.ROC, e.PR = &roc, &pr
		}
	} else {
		var ll float64
		for i, t := range truth {
			ll -= math.Log(math.Min(math.Max(p[i*K+t], 1e-15), 1-1e-15))
		}
		e.Scores["log_loss"] = ll / float64(len(truth))
		// One-vs-rest ROC AUC and average precision, macro-averaged
		// (scikit-learn's multi_class="ovr", average="macro"); undefined
		// when a class is absent from these rows.
		var auc, ap float64
		ok := true
		for k := 0; k < K && ok; k++ {
			pos := make([]bool, len(truth))
			q := make([]float64, len(truth))
			for i, t := range truth {
				pos[i], q[i] = t == k, p[i*K+k]
			}
			a, err := metrics.ROCAUC(pos, q)
			if err != nil {
				ok = false
				break
			}
			b, _ := metrics.AveragePrecision(pos, q)
			auc += a / float64(K)
			ap += b / float64(K)
		}
		if ok {
			e.Scores["roc_auc"], e.Scores["average_precision"] = auc, ap
		}
	}
	return e, nil
}

// ScoreRegression scores predicted values against the truth
// (metrics.RegressionScores: rmse, mae, r2, mape, max_error).
func ScoreRegression(truth, pred []float64) (*Evaluation, error) {
	sc, err := metrics.RegressionScores(truth, pred)
	if err != nil {
		return nil, err
	}
	return &Evaluation{Scores: sc, Values: pred, Truth: truth}, nil
}

// perClass are the metrics Score reports for each class, as NAME[class].
var perClass = []string{"precision", "recall", "f1", "specificity"}

// MetricNames lists what Score reports for a target with these classes.
func MetricNames(classes []string) []string {
	out := []string{"accuracy", "macro_f1", "weighted_f1", "log_loss", "roc_auc", "average_precision"}
	if len(classes) == 2 {
		out = append(out, "brier")
	}
	for _, m := range perClass {
		for _, c := range classes {
			out = append(out, m+"["+c+"]")
		}
	}
	slices.Sort(out)
	return out
}

// CheckMetric refuses a metric name Score does not report for these
// classes (a misspelt class in recall[malignent]), listing those it does.
func CheckMetric(name string, classes []string) error {
	valid := MetricNames(classes)
	if slices.Contains(valid, name) {
		return nil
	}
	if base, class, ok := splitClass(name); ok && slices.Contains(perClass, base) {
		return fmt.Errorf("metric %q: the target has no class %q (classes: %s)", name, class, strings.Join(classes, ", "))
	}
	return fmt.Errorf("metric %q: not one reckon reports (metrics: %s)", name, strings.Join(valid, ", "))
}

// CheckMetricForm checks a metric name before the classes are known: a
// whole-table metric, or a per-class one with some class.
func CheckMetricForm(name string) error {
	if slices.Contains(MetricNames(nil), name) || name == "brier" || slices.Contains(metrics.RegressionNames, name) {
		return nil
	}
	if base, class, ok := splitClass(name); ok && slices.Contains(perClass, base) && class != "" {
		return nil
	}
	var forms []string
	for _, m := range perClass {
		forms = append(forms, m+"[CLASS]")
	}
	return fmt.Errorf("metric %q: not one reckon reports (metrics: %s, %s; regression: %s)", name, strings.Join(MetricNames(nil), ", "), strings.Join(forms, ", "), strings.Join(metrics.RegressionNames, ", "))
}

func splitClass(name string) (base, class string, ok bool) {
	i := strings.IndexByte(name, '[')
	if i < 0 || !strings.HasSuffix(name, "]") {
		return "", "", false
	}
	return name[:i], name[i+1 : len(name)-1], true
}

// FoldResult is one cross-validation fold.
type FoldResult struct {
	Fold   int    `json:"fold"`
	Test   []int  `json:"-"`
	Scores Scores `json:"scores"`
	// Proba and Pred (Values for regression) are for the fold's test
	// rows, in Test order.
	Proba  []float64 `json:"-"`
	Pred   []int     `json:"-"`
	Values []float64 `json:"-"`
}

// CV is a cross-validation of one spec.
type CV struct {
	Model string       `json:"model"`
	Folds []FoldResult `json:"folds"`
	Mean  Scores       `json:"mean"`
	SD    Scores       `json:"sd"`
}

// FoldProgress is called after each fold.
type FoldProgress func(done, total int)

// CrossValidate trains spec on each fold's training rows and scores it on
// its test rows. The schema is the whole table's (class list and levels);
// every fitted statistic (scaling, bins, target statistics) comes from the
// fold's training rows only.
func CrossValidate(ctx context.Context, spec Spec, s *Schema, f *Frame, folds []dataset.Fold, progress FoldProgress) (*CV, error) {
	if len(folds) == 0 {
		return nil, fmt.Errorf("no folds")
	}
	cv := &CV{Model: spec.Model}
	for i, fold := range folds {
		m, err := Train(ctx, spec, s, f.Subset(fold.Train), nil)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", i+1, err)
		}
		e, err := Evaluate(m, f.Subset(fold.Test))
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", i+1, err)
		}
		cv.Folds = append(cv.Folds, FoldResult{Fold: i + 1, Test: fold.Test, Scores: e.Scores, Proba: e.Proba, Pred: e.Pred, Values: e.Values})
		if progress != nil {
			progress(i+1, len(folds))
		}
	}
	cv.Mean, cv.SD = Scores{}, Scores{}
	for _, name := range cv.Folds[0].Scores.Names() {
		var v []float64
		for _, fr := range cv.Folds {
			if x, ok := fr.Scores[name]; ok {
				v = append(v, x)
			}
		}
		cv.Mean[name], cv.SD[name] = metrics.MeanSD(v)
	}
	return cv, nil
}

// Names lists the score names, sorted.
func (s Scores) Names() []string { return slices.Sorted(maps.Keys(s)) }

// CheckPolicy refuses a policy that reads a metric the schema's task
// does not report: a regression's (RegressionNames) or the classes'.
func (s *Schema) CheckPolicy(p compare.Policy) error {
	if !s.Regression() {
		return CheckPolicy(p, s.Classes)
	}
	for _, m := range p.Uses() {
		if m != "" && !slices.Contains(metrics.RegressionNames, m) {
			return fmt.Errorf("%s policy: metric %q is not a regression's (%s)", p.Name(), m, strings.Join(metrics.RegressionNames, ", "))
		}
	}
	return nil
}

// CheckPolicy refuses a selection policy that reads a metric Score does
// not report for these classes (nil classes: the form only).
func CheckPolicy(p compare.Policy, classes []string) error {
	for _, m := range p.Uses() {
		if m == "" {
			continue
		}
		if classes != nil && slices.Contains(metrics.RegressionNames, m) {
			return fmt.Errorf("%s policy: metric %q is a regression's; these models predict classes (%s)", p.Name(), m, strings.Join(classes, ", "))
		}
		var err error
		if classes == nil {
			err = CheckMetricForm(m)
		} else {
			err = CheckMetric(m, classes)
		}
		if err != nil {
			return fmt.Errorf("%s policy: %w", p.Name(), err)
		}
	}
	return nil
}
