package tabular

import (
	"math"
	"strconv"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/monitor"
)

// Unseen is how a drift profile names a category the training data did
// not have (the frame keeps one shared code for all of them).
const Unseen = "(unseen)"

// PredictionColumn names the predicted class in a drift profile
// ("model_prediction" when a feature is called "prediction").
func (s *Schema) PredictionColumn() string {
	for _, f := range s.Features {
		if f.Name == "prediction" {
			return "model_prediction"
		}
	}
	return "prediction"
}

// ProfileFrame is the drift reference of f, the training rows: every
// feature as the model reads it (numbers; categories by name) and the
// class (or, for a regression, the value) the model predicts for each row,
// so that new data's predictions
// can be compared with the training predictions.
func (m *Model) ProfileFrame(f *Frame) (*monitor.Profile, error) {
	var cls []int
	var values []float64
	var err error
	if m.Schema.Regression() {
		// A regression's predictions are a numeric column.
		if values, err = m.Predict(f); err != nil {
			return nil, err
		}
	} else {
		p, err := m.Proba(f)
		if err != nil {
			return nil, err
		}
		cls = m.Decide(p, f.Rows)
	}
	cols := make([]monitor.Column, len(m.Schema.Features)+1)
	for j, ft := range m.Schema.Features {
		c := monitor.Column{Name: ft.Name, Numeric: ft.Type != dataset.Categorical}
		for i := range f.Rows {
			v := f.X[i*f.Cols+j]
			if c.Numeric {
				c.Num = append(c.Num, v)
			} else {
				c.Cat = append(c.Cat, m.Schema.Level(j, v))
			}
		}
		cols[j] = c
	}
	pred := monitor.Column{Name: m.Schema.PredictionColumn(), Numeric: values != nil, Num: values}
	for _, k := range cls {
		pred.Cat = append(pred.Cat, m.Schema.Classes[k])
	}
	cols[len(cols)-1] = pred
	prof := monitor.ProfileReference(cols, 10)
	prof.Rows = int64(f.Rows)
	return prof, nil
}

// Level is the name of categorical feature j's code v: "" when missing,
// Unseen for the shared code of levels training did not see.
func (s *Schema) Level(j int, v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	l := s.Features[j].Levels
	if k := int(v); k >= 0 && k < len(l) {
		return l[k]
	}
	return Unseen
}

// Observe adds a frame row and its predicted class (a regression: its
// predicted value, as text) to a sketch of the model's Reference.
func (m *Model) Observe(sk *monitor.Sketch, row []float64, class string) {
	sk.Row()
	for j, ft := range m.Schema.Features {
		if ft.Type == dataset.Categorical {
			code := -1
			if v := row[j]; !math.IsNaN(v) {
				code = int(v)
			}
			sk.CategoryCode(j, code, ft.Levels, Unseen)
		} else {
			sk.Number(j, row[j])
		}
	}
	if m.Schema.Regression() {
		// The prediction is a number: the field as batch output wrote it.
		v, err := strconv.ParseFloat(class, 64)
		if err != nil {
			sk.Missing(len(m.Schema.Features))
			return
		}
		sk.Number(len(m.Schema.Features), v)
		return
	}
	sk.Category(len(m.Schema.Features), class)
}

// FeatureReference is the model's reference without the prediction: what
// a check of raw input tables (which hold no predictions) compares.
func (m *Model) FeatureReference() (*monitor.Profile, error) {
	if m.Reference == nil {
		return nil, nil
	}
	return monitor.Without(m.Reference, []string{m.Schema.PredictionColumn()})
}
