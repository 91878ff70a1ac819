package tabular

import (
	"bytes"
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
)

func readTable(t *testing.T, name, text string) *dataset.Table {
	t.Helper()
	tb, _, err := dataset.ReadCSV(name, strings.NewReader(text), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestSchemaEncode(t *testing.T) {
	train := readTable(t, "train.csv", "a,colour,y\n1.5,red,yes\n2,blue,no\n,red,no\n3,green,no\n")
	s, err := NewSchema(train, "y", "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Classes, []string{"no", "yes"}) || s.PositiveLabel() != "yes" {
		t.Fatalf("classes %v positive %q: want the minority class", s.Classes, s.PositiveLabel())
	}
	f, err := s.Encode(readTable(t, "new.csv", "colour,a,extra\npurple,7,x\nblue,,y\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Columns in schema order; unseen level gets the shared next code.
	if f.X[0] != 7 || f.X[1] != 3 || f.X[3] != 1 || f.X[2] == f.X[2] {
		t.Errorf("encoded %v", f.X)
	}
	if f.Y != nil {
		t.Error("targets decoded from a table without the target")
	}
	_, err = s.Encode(readTable(t, "bad.csv", "a,other\nx,1\n"))
	var se *SchemaError
	if !errors.As(err, &se) || !reflect.DeepEqual(se.Missing, []string{"colour"}) || len(se.Mistyped) != 1 {
		t.Fatalf("err = %v, want missing colour and mistyped a", err)
	}
	if !strings.Contains(err.Error(), "bad.csv") || !strings.Contains(err.Error(), "a (model: float64, data: categorical)") {
		t.Errorf("message %q", err)
	}
	_, err = s.Encode(readTable(t, "lab.csv", "a,colour,y\n1,red,maybe\n"))
	if err == nil || !strings.Contains(err.Error(), "lab.csv:2") {
		t.Errorf("unknown class: err = %v, want the line", err)
	}
	if _, err := NewSchema(train, "y", "perhaps"); err == nil {
		t.Error("unknown positive class accepted")
	}
	if _, err := NewSchema(train, "nope", ""); err == nil {
		t.Error("unknown target accepted")
	}
}

// TestArtifactRoundTrip trains each kind on a tumor fold, stores it and
// checks the loaded model predicts identically.
func TestArtifactRoundTrip(t *testing.T) {
	s, f, folds := tumor(t)
	train, test := f.Subset(folds[0].Train), f.Subset(folds[0].Test)
	for _, kind := range ClassificationKinds {
		spec := DefaultSpec(kind)
		spec.GBDT.Trees, spec.FCN.Epochs = 30, 10
		m, err := Train(context.Background(), spec, s, train, nil)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), kind+".reckon")
		if err := model.Save(path, m); err != nil {
			t.Fatal(err)
		}
		back, err := model.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		bm := back.(*Model)
		p1, _ := m.Proba(test)
		p2, err := bm.Proba(test)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p1, p2) {
			t.Errorf("%s: loaded model predicts differently", kind)
		}
		if !reflect.DeepEqual(bm.Schema, m.Schema) || bm.Spec.Threshold != 0.5 {
			t.Errorf("%s: schema or threshold lost", kind)
		}
	}
}

func TestDecideThreshold(t *testing.T) {
	m := &Model{Spec: Spec{Threshold: 0.3}, Schema: &Schema{Classes: []string{"benign", "malignant"}, Positive: 1}}
	got := m.Decide([]float64{0.8, 0.2, 0.65, 0.35, 0.1, 0.9}, 3)
	if !reflect.DeepEqual(got, []int{0, 1, 1}) {
		t.Errorf("decisions %v", got)
	}
}

func TestScoreNamesMatchReport(t *testing.T) {
	tb, _, err := dataset.ReadCSV("t", bytes.NewReader([]byte("x,y\n1,a\n2,b\n3,a\n4,b\n")), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewSchema(tb, "y", "b")
	e, err := Score(s, []float64{0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7}, []int{0, 1, 0, 1}, []int{0, 1, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"accuracy", "roc_auc", "recall[b]", "precision[a]", "specificity[b]", "log_loss", "brier"} {
		if _, ok := e.Scores[k]; !ok {
			t.Errorf("no %s in %v", k, e.Scores.Names())
		}
	}
	if e.Scores["roc_auc"] != 1 || e.Scores["accuracy"] != 1 {
		t.Errorf("scores %v", e.Scores)
	}
}

func TestSpaceAppliesToSpec(t *testing.T) {
	for _, kind := range Kinds {
		sp := Space(kind)
		if err := sp.Validate(); err != nil {
			t.Fatal(err)
		}
		for _, p := range sp.Sample(5, 1) {
			spec, err := Apply(DefaultSpec(kind), p)
			if err != nil {
				t.Fatal(err)
			}
			if err := spec.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := spec.GBDT.Validate(); err != nil {
				t.Fatal(err)
			}
			if err := spec.FCN.Validate(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestOneHotForLinearModels(t *testing.T) {
	tb := readTable(t, "t.csv", "a,colour,y\n1,red,yes\n2,blue,no\n3,,no\n")
	s, err := NewSchema(tb, "y", "yes")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := s.Encode(readTable(t, "n.csv", "a,colour\n5,blue\n6,green\n7,\n"))
	x, cols := s.OneHot(f)
	// a, then red, blue, other.
	want := []float64{5, 0, 1, 0, 6, 0, 0, 1, 7, 0, 0, 0}
	if cols != 4 || !reflect.DeepEqual(x, want) {
		t.Errorf("one-hot %v (%d columns), want %v", x, cols, want)
	}
}

// TestMulticlassRankingScores matches scikit-learn's
// roc_auc_score(multi_class="ovr", average="macro") and macro
// average_precision_score on the one-hot truth (recorded values).
func TestMulticlassRankingScores(t *testing.T) {
	s := &Schema{Classes: []string{"a", "b", "c"}, Positive: 2}
	truth := []int{0, 1, 2, 2, 1, 0, 2, 1, 0, 1}
	p := []float64{.7, .2, .1, .2, .5, .3, .1, .3, .6, .3, .3, .4, .4, .4, .2, .5, .1, .4, .2, .2, .6, .1, .6, .3, .6, .3, .1, .3, .3, .4}
	pred := make([]int, len(truth))
	e, err := Score(s, p, pred, truth)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Scores["roc_auc"]; math.Abs(got-0.9632936507936508) > 1e-12 {
		t.Errorf("ovr macro AUC %.16g, scikit-learn 0.9632936507936508", got)
	}
	if got := e.Scores["average_precision"]; math.Abs(got-0.9198412698412698) > 1e-12 {
		t.Errorf("macro AP %.16g, scikit-learn 0.9198412698412698", got)
	}
}
