package online

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/tabular"
)

// TestRegressionValues: a regression model answers each row with its
// predicted value (the model's own), not classes or probabilities.
func TestRegressionValues(t *testing.T) {
	tb, _, _, err := dataset.ReadCSVFile("../examples/regression/friedman_region.csv", dataset.ReadOptions{}, "")
	if err != nil {
		t.Fatal(err)
	}
	schema, fr, err := tabular.Prepare(tb, "y", "")
	if err != nil || !schema.Regression() {
		t.Fatalf("%+v %v", schema, err)
	}
	m, err := tabular.Train(context.Background(), tabular.DefaultSpec(tabular.KindLinear), schema, fr, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Served{model: m, known: map[string]bool{"y": true}}
	for _, f := range schema.Features {
		s.known[f.Name] = true
	}
	s.pool.New = func() any { r, _ := m.Replica(); return r }
	var rows []Row
	for i := range 3 {
		r := Row{}
		for _, c := range tb.Columns {
			if c.Name == "y" {
				continue
			}
			if c.Type == dataset.Categorical {
				r[c.Name], _ = json.Marshal(c.String(i))
			} else {
				r[c.Name] = json.RawMessage(strconv.FormatFloat(c.Float(i), 'g', -1, 64))
			}
		}
		rows = append(rows, r)
	}
	got, err := s.Predict(rows, false)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := m.Predict(fr.Subset([]int{0, 1, 2}))
	for i, p := range got {
		if p.Value == nil || *p.Value != want[i] || p.Class != "" || p.Probabilities != nil {
			t.Errorf("row %d: %+v, the model says %g", i, p, want[i])
		}
	}
}
