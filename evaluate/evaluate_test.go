package evaluate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
)

// saved writes an artifact to a model file and loads it as eval does.
func saved(t *testing.T, a *model.Artifact) *registry.Loaded {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.rkm")
	if err := model.WriteFile(p, a); err != nil {
		t.Fatal(err)
	}
	l, err := registry.LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTable(t *testing.T) {
	ctx := context.Background()
	csv := filepath.Join(t.TempDir(), examples.TumorCSVName)
	if err := os.WriteFile(csv, examples.TumorCSV, 0o644); err != nil {
		t.Fatal(err)
	}
	tb, _, err := dataset.ReadCSV(csv, bytes.NewReader(examples.TumorCSV), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	schema, fr, err := tabular.Prepare(tb, "diagnosis", "malignant")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tabular.Train(ctx, tabular.DefaultSpec(tabular.KindLogistic), schema, fr, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := m.FileArtifact(tb.Hash(), "test")
	if err != nil {
		t.Fatal(err)
	}
	plots := filepath.Join(t.TempDir(), "plots")
	res, err := Run(ctx, Request{Model: saved(t, a), Data: csv, Threshold: 0.3, Plots: plots})
	if err != nil {
		t.Fatal(err)
	}
	if res.Table == nil || res.Tracks != nil || res.Table.Rows != 569 || res.Table.Threshold != 0.3 || !res.Table.SeenInTraining || res.Table.Positive != "malignant" {
		t.Fatalf("%+v", res.Table)
	}
	// The same numbers as tabular's own evaluation at that threshold.
	m.Spec.Threshold = 0.3
	e, err := tabular.Evaluate(m, fr)
	if err != nil {
		t.Fatal(err)
	}
	if res.Table.Scores["recall[malignant]"] != e.Scores["recall[malignant]"] || len(res.Plots) != 3 { // confusion matrix, ROC, PR (logistic has no training curves)
		t.Errorf("recall %v vs %v, %d figures", res.Table.Scores["recall[malignant]"], e.Scores["recall[malignant]"], len(res.Plots))
	}
}

func TestTracks(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := reentry.DefaultConfig()
	cfg.Count, cfg.Seed = 10, 4
	if _, err := reentry.WriteDir(ctx, dir, cfg, reentry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tc := trackmodel.Config{Kind: "baseline-mean-altitude", Split: trackmodel.Split{TestFrac: 0.3}}
	r, err := trackmodel.Train(ctx, ts, tc)
	if err != nil {
		t.Fatal(err)
	}
	a, err := r.Artifact(ts, tc, "test")
	if err != nil {
		t.Fatal(err)
	}
	l := saved(t, a)
	res, err := Run(ctx, Request{Model: l, Data: dir})
	if err != nil {
		t.Fatal(err)
	}
	// On its own training data only the held-out flights count, and the
	// figures are the training's validation.
	if res.Tracks == nil || res.Tracks.Scope != "held-out" || res.Tracks.N != r.Validation.N || res.Tracks.RMSE != r.Validation.RMSE || res.Plots != nil {
		t.Errorf("held-out: %+v vs validation %+v", res.Tracks, r.Validation)
	}
	res, err = Run(ctx, Request{Model: l, Data: dir, All: true})
	if err != nil || res.Tracks.Scope != "all" || res.Tracks.N <= r.Validation.N {
		t.Errorf("--all: %+v %v", res.Tracks, err)
	}
	if _, err := Run(ctx, Request{Model: l, Data: filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing track set was evaluated")
	}
}
