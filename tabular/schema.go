// Package tabular turns tables into model inputs and trains, stores and
// cross-validates the tabular classifiers (gbdt, logistic, fcn) behind one
// interface. The schema fitted on the training table travels with every
// model, so evaluation and prediction data are checked and encoded exactly
// as training data was.
package tabular

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/reckon-ml/reckon/dataset"
)

// Feature is one input column as the model saw it in training.
type Feature struct {
	Name string       `json:"name"`
	Type dataset.Type `json:"type"`
	// Levels of a categorical feature, in code order; unseen levels in new
	// data get their own code (CatBoost-style statistics then use the prior).
	Levels []string `json:"levels,omitempty"`
}

// Tasks: what a target asks of the models.
const (
	TaskClassification = "classification"
	TaskRegression     = "regression"
)

// Schema is the training table's shape: the target (its classes, or
// numeric for regression), and the features in model order.
type Schema struct {
	Target string `json:"target"`
	// Task is TaskRegression for a numeric target; "" is classification
	// (and what files from before regression say).
	Task     string    `json:"task,omitempty"`
	Classes  []string  `json:"classes"`
	Positive int       `json:"positive"` // index into Classes
	Features []Feature `json:"features"`
}

// Regression says whether the target is a quantity, not a class.
func (s *Schema) Regression() bool { return s.Task == TaskRegression }

// FoldPlan is p as the task needs it: folds stratified by class, or for a
// regression plain shuffled K-fold.
func (s *Schema) FoldPlan(p dataset.FoldPlan) dataset.FoldPlan {
	p.Plain = s.Regression()
	return p
}

// PositiveLabel is the positive class's label ("" for regression).
func (s *Schema) PositiveLabel() string {
	if s.Regression() {
		return ""
	}
	return s.Classes[s.Positive]
}

// Frame is a table encoded for the models: a dense row-major float matrix
// (NaN for missing, category codes for categorical features) and class
// indices.
type Frame struct {
	X           []float64
	Rows, Cols  int
	Categorical []bool
	Y           []int     // class indices; nil when the table has no target column or it is numeric
	T           []float64 // regression targets; nil unless the schema is a regression's and the table has the column
	Lines       []int     // source line of each row
}

// Strata are the rows' classes for stratified folds: all one stratum
// (zeros) for a regression or a table without the target.
func (f *Frame) Strata() []int {
	if f.Y != nil {
		return f.Y
	}
	return make([]int, f.Rows)
}

// HasTarget says whether f carries the target (classes or values).
func (f *Frame) HasTarget() bool { return f.Y != nil || f.T != nil }

// Subset returns the rows idx of f (a copy).
func (f *Frame) Subset(idx []int) *Frame {
	s := &Frame{Rows: len(idx), Cols: f.Cols, Categorical: f.Categorical, X: make([]float64, 0, len(idx)*f.Cols)}
	for _, i := range idx {
		s.X = append(s.X, f.X[i*f.Cols:(i+1)*f.Cols]...)
		if f.Y != nil {
			s.Y = append(s.Y, f.Y[i])
		}
		if f.T != nil {
			s.T = append(s.T, f.T[i])
		}
		if f.Lines != nil {
			s.Lines = append(s.Lines, f.Lines[i])
		}
	}
	return s
}

// NewSchema fits a schema on a training table: every column but the target
// is a feature; classes are the target's distinct values, sorted, and the
// positive class is positive ("" picks the minority class of two, the usual
// class of interest).
func NewSchema(t *dataset.Table, target, positive string) (*Schema, error) {
	return NewSchemaTask(t, target, positive, "")
}

// MaxIntegerClasses is the most distinct whole-number values a numeric
// target may have and still be read as classes when the task is not given.
const MaxIntegerClasses = 50

// DetectTask says what a target column asks for: regression when it is
// numeric with a fractional value or more than MaxIntegerClasses distinct
// values (scikit-learn's "continuous"), else classification.
func DetectTask(tc *dataset.Column) string {
	if tc.Type == dataset.Categorical {
		return TaskClassification
	}
	seen := map[float64]bool{}
	for i := 0; i < tc.Len(); i++ {
		if tc.IsMissing(i) {
			continue
		}
		v := tc.Float(i)
		if v != math.Trunc(v) {
			return TaskRegression
		}
		if seen[v] = true; len(seen) > MaxIntegerClasses {
			return TaskRegression
		}
	}
	return TaskClassification
}

// NewSchemaTask is NewSchema for a task: TaskClassification,
// TaskRegression, or "" to take the target's (DetectTask).
func NewSchemaTask(t *dataset.Table, target, positive, task string) (*Schema, error) {
	tc := t.Column(target)
	if tc == nil {
		return nil, fmt.Errorf("%s: no target column %q (columns: %s)", t.Source, target, strings.Join(t.Names(), ", "))
	}
	switch task {
	case "":
		task = DetectTask(tc)
	case TaskClassification, TaskRegression:
	default:
		return nil, fmt.Errorf("task %q: want classification or regression (or none, to take the target's)", task)
	}
	if task == TaskRegression {
		return regressionSchema(t, tc, positive)
	}
	s := &Schema{Target: target}
	counts := map[string]int{}
	for i := 0; i < t.Rows(); i++ {
		if tc.IsMissing(i) {
			return nil, fmt.Errorf("%s:%d: target %q is missing", t.Source, t.Lines[i], target)
		}
		counts[tc.String(i)]++
	}
	for c := range counts {
		s.Classes = append(s.Classes, c)
	}
	sort.Strings(s.Classes)
	if len(s.Classes) < 2 {
		return nil, fmt.Errorf("%s: target %q has only one class (%v); a classifier needs at least two", t.Source, target, s.Classes)
	}
	if len(s.Classes) > 100 {
		return nil, fmt.Errorf("%s: target %q has %d distinct values, too many classes; for a quantity, train with --task regression", t.Source, target, len(s.Classes))
	}
	switch {
	case positive != "":
		s.Positive = slices.Index(s.Classes, positive)
		if s.Positive < 0 {
			return nil, fmt.Errorf("%s: positive class %q is not a value of %q (values: %s)", t.Source, positive, target, strings.Join(s.Classes, ", "))
		}
	case len(s.Classes) == 2 && counts[s.Classes[0]] < counts[s.Classes[1]]:
		s.Positive = 0
	default:
		s.Positive = len(s.Classes) - 1
	}
	return s, s.addFeatures(t)
}

// regressionSchema is the schema of a numeric target: every value present
// and a number.
func regressionSchema(t *dataset.Table, tc *dataset.Column, positive string) (*Schema, error) {
	if positive != "" {
		return nil, fmt.Errorf("%s: target %q is numeric (regression); a positive class is for classification", t.Source, tc.Name)
	}
	if tc.Type == dataset.Categorical {
		return nil, fmt.Errorf("%s: target %q has text values (e.g. %q); regression needs a numeric target", t.Source, tc.Name, firstValue(tc))
	}
	for i := 0; i < t.Rows(); i++ {
		if tc.IsMissing(i) {
			return nil, fmt.Errorf("%s:%d: target %q is missing", t.Source, t.Lines[i], tc.Name)
		}
		if v := tc.Float(i); math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("%s:%d: target %q is %v; regression needs finite values", t.Source, t.Lines[i], tc.Name, v)
		}
	}
	s := &Schema{Target: tc.Name, Task: TaskRegression}
	return s, s.addFeatures(t)
}

func firstValue(c *dataset.Column) string {
	for i := 0; i < c.Len(); i++ {
		if !c.IsMissing(i) {
			return c.String(i)
		}
	}
	return ""
}

// addFeatures makes every column of t but the target a feature.
func (s *Schema) addFeatures(t *dataset.Table) error {
	for _, c := range t.Columns {
		if c.Name == s.Target {
			continue
		}
		f := Feature{Name: c.Name, Type: c.Type}
		if c.Type == dataset.Categorical {
			f.Levels = slices.Clone(c.Levels)
		}
		s.Features = append(s.Features, f)
	}
	if len(s.Features) == 0 {
		return fmt.Errorf("%s: no feature columns besides the target %q", t.Source, s.Target)
	}
	return nil
}

// SchemaError lists everything wrong with a table's columns at once.
type SchemaError struct {
	Source   string
	Missing  []string
	Mistyped []string
}

func (e *SchemaError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "missing columns: "+strings.Join(e.Missing, ", "))
	}
	if len(e.Mistyped) > 0 {
		parts = append(parts, "mistyped columns: "+strings.Join(e.Mistyped, ", "))
	}
	return fmt.Sprintf("%s does not match the model's schema: %s", e.Source, strings.Join(parts, "; "))
}

// Encode maps a table onto the schema. Extra columns are ignored; missing
// or mistyped feature columns are one error listing them all. The target
// column is optional (prediction data); when present its values must be
// known classes.
func (s *Schema) Encode(t *dataset.Table) (*Frame, error) {
	se := &SchemaError{Source: t.Source}
	cols := make([]*dataset.Column, len(s.Features))
	for j, f := range s.Features {
		c := t.Column(f.Name)
		switch {
		case c == nil:
			se.Missing = append(se.Missing, f.Name)
		case f.Type == dataset.Categorical && c.Type != dataset.Categorical:
			// A categorical column whose values all look numeric in new data
			// still reads as its text.
			cols[j] = c
		case f.Type != dataset.Categorical && c.Type == dataset.Categorical:
			se.Mistyped = append(se.Mistyped, fmt.Sprintf("%s (model: %s, data: %s)", f.Name, f.Type, c.Type))
		default:
			cols[j] = c
		}
	}
	if len(se.Missing) > 0 || len(se.Mistyped) > 0 {
		return nil, se
	}
	n := t.Rows()
	fr := &Frame{Rows: n, Cols: len(s.Features), X: make([]float64, n*len(s.Features)), Categorical: make([]bool, len(s.Features)), Lines: t.Lines}
	for j, f := range s.Features {
		c := cols[j]
		if f.Type != dataset.Categorical {
			for i := 0; i < n; i++ {
				fr.X[i*fr.Cols+j] = c.Float(i)
			}
			continue
		}
		fr.Categorical[j] = true
		code := map[string]int{}
		for k, l := range f.Levels {
			code[l] = k
		}
		for i := 0; i < n; i++ {
			v := math.NaN()
			if !c.IsMissing(i) {
				k, ok := code[c.String(i)]
				if !ok {
					k = len(f.Levels) // unseen: one shared "other" code
				}
				v = float64(k)
			}
			fr.X[i*fr.Cols+j] = v
		}
	}
	if tc := t.Column(s.Target); tc != nil && s.Regression() {
		if tc.Type == dataset.Categorical {
			return nil, fmt.Errorf("%s: target %q has text values (e.g. %q); the model predicts a number", t.Source, s.Target, firstValue(tc))
		}
		fr.T = make([]float64, n)
		for i := 0; i < n; i++ {
			v := tc.Float(i)
			if tc.IsMissing(i) || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s:%d: target %q is missing or not finite", t.Source, t.Lines[i], s.Target)
			}
			fr.T[i] = v
		}
	} else if tc != nil {
		fr.Y = make([]int, n)
		for i := 0; i < n; i++ {
			k := -1
			if !tc.IsMissing(i) {
				k = slices.Index(s.Classes, tc.String(i))
			}
			if k < 0 {
				return nil, fmt.Errorf("%s:%d: target %q is %q, not one of the model's classes (%s)", t.Source, t.Lines[i], s.Target, tc.String(i), strings.Join(s.Classes, ", "))
			}
			fr.Y[i] = k
		}
	}
	return fr, nil
}

// ErrNoTarget is returned where scoring needs the target column.
var ErrNoTarget = errors.New("the data has no target column to score against")

// OneHotNames names OneHot's columns: a numeric feature by its name, a
// categorical one as FEATURE=LEVEL per level and FEATURE=(unseen).
func (s *Schema) OneHotNames() []string {
	var out []string
	for _, f := range s.Features {
		if f.Type != dataset.Categorical {
			out = append(out, f.Name)
			continue
		}
		for _, l := range f.Levels {
			out = append(out, f.Name+"="+l)
		}
		out = append(out, f.Name+"="+Unseen)
	}
	return out
}

// OneHot is the frame for linear models and networks: numeric features as
// they are, each categorical feature as one indicator per training level
// plus one for levels unseen in training (a missing value sets none).
// Category codes are not numbers a weight should multiply.
func (s *Schema) OneHot(f *Frame) ([]float64, int) {
	if !slices.Contains(f.Categorical, true) {
		return f.X, f.Cols
	}
	cols := 0
	for _, ft := range s.Features {
		if ft.Type == dataset.Categorical {
			cols += len(ft.Levels) + 1
		} else {
			cols++
		}
	}
	x := make([]float64, f.Rows*cols)
	for i := 0; i < f.Rows; i++ {
		j := 0
		for k, ft := range s.Features {
			v := f.X[i*f.Cols+k]
			if ft.Type != dataset.Categorical {
				x[i*cols+j] = v
				j++
				continue
			}
			if !math.IsNaN(v) {
				x[i*cols+j+int(v)] = 1
			}
			j += len(ft.Levels) + 1
		}
	}
	return x, cols
}
