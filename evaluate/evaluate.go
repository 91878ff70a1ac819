// Package evaluate scores a saved model on labelled data, whatever its
// kind: a tabular classifier on a CSV table (scikit-learn's report, ROC
// and precision-recall, figures), a reentry model on a track set (the
// spec's metrics on the held-out flights when the data is the training
// data). It is what `reckon eval` runs, and what any other front end calls
// to evaluate a model.
package evaluate

import (
	"context"
	"fmt"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
)

// Request is one evaluation.
type Request struct {
	Model *registry.Loaded
	// Data is a CSV table with the target column (tabular models) or a
	// labelled track set (reentry models).
	Data string
	// Tables: the decision threshold on P(positive) (0: the model's).
	Threshold float64
	// Tracks: score every labelled track even on the training data; the
	// bootstrap interval's seed.
	All           bool
	BootstrapSeed uint64
	// Plots is the directory for the figures ("": none).
	Plots string
	// Warn hears what the track loader changed or rejected (nil: quiet).
	Warn func(msg string, args ...any)
}

// Table is a tabular model's evaluation.
type Table struct {
	*tabular.TableEvaluation
	Classes  []string
	Positive string
	// Target and Task (tabular.TaskClassification or TaskRegression) say
	// what was predicted.
	Target, Task string
	// Importance is what the model says of its inputs.
	Importance tabular.Importance
}

// Tracks is a reentry model's evaluation.
type Tracks struct {
	// Scope is "held-out" (the data it was trained on) or "all".
	Scope string
	trackmodel.Evaluation
}

// Result holds one of the two, by the model's kind, and the figures.
type Result struct {
	Kind   string
	Table  *Table
	Tracks *Tracks
	Plots  []string
}

// Run evaluates r.Model on r.Data.
func Run(ctx context.Context, r Request) (*Result, error) {
	l := r.Model
	res := &Result{Kind: l.Model.Kind()}
	switch m := l.Model.(type) {
	case *tabular.Model:
		t, _, _, err := dataset.ReadCSVFile(r.Data, dataset.ReadOptions{}, "")
		if err != nil {
			return nil, err
		}
		te, err := tabular.EvaluateTable(m, t, r.Threshold, l.Artifact.Header.DataHash)
		if err != nil {
			return nil, err
		}
		res.Table = &Table{TableEvaluation: te, Classes: m.Schema.Classes, Positive: m.Schema.PositiveLabel(), Target: m.Schema.Target, Task: tabular.TaskClassification,
			Importance: m.Importance()}
		if m.Schema.Regression() {
			res.Table.Task = tabular.TaskRegression
		}
		if r.Plots != "" {
			if res.Plots, err = tabular.Plots(r.Plots, l.Artifact, m, te.Evaluation); err != nil {
				return nil, err
			}
		}
	case trackmodel.Predictor:
		ts, err := dataset.LoadTracks(r.Data, dataset.TrackOptions{RequireLabels: true})
		if err != nil {
			return nil, err
		}
		if r.Warn != nil {
			for _, w := range ts.Report.Warnings {
				r.Warn(w)
			}
			for _, p := range ts.Problems {
				r.Warn("track rejected", "track_id", p.TrackID, "reason", p.Reason)
			}
		}
		ids, scope, err := trackmodel.Scope(l.Label, l.Artifact, ts, r.All)
		if err != nil {
			return nil, err
		}
		e, err := trackmodel.Evaluate(m, ts, ids, r.BootstrapSeed)
		if err != nil {
			return nil, err
		}
		res.Tracks = &Tracks{Scope: scope, Evaluation: e}
		if r.Plots != "" {
			if res.Plots, err = trackmodel.Plots(r.Plots, l.Artifact, &res.Tracks.Evaluation); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("%s: a %s model cannot be evaluated on labelled data", l.Label, l.Model.Kind())
	}
	return res, nil
}
