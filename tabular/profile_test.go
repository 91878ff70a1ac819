package tabular

import (
	"context"
	"testing"

	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/monitor"
)

// TestReferenceTravelsWithTheModel: a fitted model carries the profile of
// its training rows (every feature and its predicted class) through its
// artifact, and a batch of those same rows does not drift from it.
func TestReferenceTravelsWithTheModel(t *testing.T) {
	schema, fr, _ := tumor(t)
	fit, err := Fit(context.Background(), Fitting{Spec: DefaultSpec(KindLogistic), Schema: schema, Frame: fr})
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/m.rkm"
	a, err := fit.Model.FileArtifact("hash", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := model.WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
	loaded, err := model.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	m := loaded.(*Model)
	if m.Reference == nil || len(m.Reference.Columns) != len(schema.Features)+1 || m.Reference.Rows != int64(fr.Rows) {
		t.Fatalf("reference %+v", m.Reference)
	}
	if c := m.Reference.Column("prediction"); c == nil || c.Type != "cat" || len(c.Levels) != 2 {
		t.Fatalf("prediction column %+v", c)
	}
	sk := monitor.NewSketch(m.Reference)
	p, err := m.Proba(fr)
	if err != nil {
		t.Fatal(err)
	}
	cls := m.Decide(p, fr.Rows)
	for i := range fr.Rows {
		m.Observe(sk, fr.X[i*fr.Cols:(i+1)*fr.Cols], schema.Classes[cls[i]])
	}
	rep, err := monitor.CompareProfiles(m.Reference, sk.Profile(), nil, monitor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Drifted != 0 {
		t.Errorf("the training rows drift from their own profile: %+v", rep)
	}
}

// TestFormat1StillLoads: a model file written before drift profiles
// (testdata/format1-logistic.reckon, format 1) loads and predicts, with no
// reference.
func TestFormat1StillLoads(t *testing.T) {
	loaded, err := model.Load("testdata/format1-logistic.reckon")
	if err != nil {
		t.Fatal(err)
	}
	m := loaded.(*Model)
	if m.Reference != nil {
		t.Error("a format 1 file has a reference")
	}
	_, fr, _ := tumor(t)
	if _, err := m.Proba(fr); err != nil {
		t.Fatal(err)
	}
	if ref, err := m.FeatureReference(); ref != nil || err != nil {
		t.Errorf("feature reference %v, %v", ref, err)
	}
}
