package tabular

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/compare"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
)

func TestParseClassWeights(t *testing.T) {
	classes := []string{"benign", "malignant"}
	y := []int{0, 0, 0, 1} // 3 benign, 1 malignant
	for _, c := range []struct {
		in   string
		want []float64
		err  bool
	}{
		// scikit-learn's compute_class_weight("balanced"): n / (k * n_c).
		{"balanced", []float64{4.0 / 6, 2}, false},
		{"malignant=3", []float64{1, 3}, false},
		{"benign=0.5,malignant=2", []float64{0.5, 2}, false},
		{"cancer=2", nil, true},
		{"malignant=0", nil, true},
		{"malignant", nil, true},
		{"malignant=x", nil, true},
	} {
		got, err := ParseClassWeights(c.in, classes, y)
		if c.err {
			if err == nil || !strings.Contains(err.Error(), "benign, malignant") {
				t.Errorf("%q: err %v, want one listing the labels", c.in, err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Fatalf("%q: %v, %v", c.in, got, err)
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-15 {
				t.Errorf("%q: %v, want %v", c.in, got, c.want)
			}
		}
	}
}

// SetClassWeights maps weights in schema order onto each kind's label
// encoding: the same weights must reach the same class whichever class is
// positive.
func TestSetClassWeights(t *testing.T) {
	for _, pos := range []int{0, 1} {
		schema := &Schema{Classes: []string{"a", "b"}, Positive: pos}
		w := []float64{2, 5} // a=2, b=5
		g := DefaultSpec(KindGBDT)
		if err := g.SetClassWeights(w, schema); err != nil {
			t.Fatal(err)
		}
		// gbdt: index 0 is "not positive", 1 is positive.
		if want := []float64{w[1-pos], w[pos]}; !reflect.DeepEqual(g.GBDT.ClassWeights, want) {
			t.Errorf("positive %d: gbdt weights %v, want %v", pos, g.GBDT.ClassWeights, want)
		}
		l := DefaultSpec(KindLogistic)
		if err := l.SetClassWeights(w, schema); err != nil {
			t.Fatal(err)
		}
		if want := w[pos] / w[1-pos]; l.Logistic.PosWeight != want {
			t.Errorf("positive %d: logistic pos_weight %v, want %v", pos, l.Logistic.PosWeight, want)
		}
		n := DefaultSpec(KindFCN)
		if err := n.SetClassWeights(w, schema); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(n.FCN.ClassWeights, w) {
			t.Errorf("fcn weights %v, want schema order %v", n.FCN.ClassWeights, w)
		}
	}
	three := &Schema{Classes: []string{"a", "b", "c"}}
	l := DefaultSpec(KindLogistic)
	if err := l.SetClassWeights([]float64{1, 2, 3}, three); err != nil || !reflect.DeepEqual(l.Logistic.ClassWeights, []float64{1, 2, 3}) {
		t.Errorf("logistic with three classes: %v %v, want the weights in schema order", err, l.Logistic.ClassWeights)
	}
	g := DefaultSpec(KindGBDT)
	if err := g.SetClassWeights([]float64{1, 2}, three); err == nil {
		t.Error("two weights for three classes accepted")
	}
}

func TestSpecValidateChecksTheKind(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Spec)
		want string // "" valid
	}{
		{"gbdt defaults", func(s *Spec) {}, ""},
		{"gbdt depth", func(s *Spec) { s.GBDT.Depth = 0 }, "depth"},
		{"gbdt bins", func(s *Spec) { s.GBDT.Bins = 1000 }, "bins"},
		{"logistic C", func(s *Spec) { s.Model = KindLogistic; s.Logistic.C = 0 }, "logistic: c"},
		{"fcn epochs", func(s *Spec) { s.Model = KindFCN; s.FCN.Epochs = 0 }, "epochs"},
		{"fcn ignores gbdt settings", func(s *Spec) { s.Model = KindFCN; s.GBDT.Depth = 0 }, ""},
		{"threshold", func(s *Spec) { s.Threshold = 1 }, "threshold"},
		{"kind", func(s *Spec) { s.Model = "svm" }, "unknown model"},
	} {
		s := DefaultSpec(KindGBDT)
		c.edit(&s)
		err := s.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// Fit with folds equals CrossValidate plus Train, done by hand.
func TestFitMatchesItsParts(t *testing.T) {
	ctx := context.Background()
	schema, fr, folds := tumor(t)
	spec := DefaultSpec(KindLogistic)
	var reports []string
	rep := func(label string, total int) (func(int, string), func()) {
		reports = append(reports, label)
		return func(int, string) {}, func() {}
	}
	fit, err := Fit(ctx, Fitting{Spec: spec, Schema: schema, Frame: fr, Folds: folds[:3], FoldDesc: "three", Progress: rep})
	if err != nil {
		t.Fatal(err)
	}
	cv, err := CrossValidate(ctx, spec, schema, fr, folds[:3], nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fit.CV.Mean, cv.Mean) || fit.CV.Folds != "three" || len(fit.CV.PerFold) != 3 {
		t.Errorf("cv summary %+v differs from CrossValidate's %v", fit.CV, cv.Mean)
	}
	m, err := Train(ctx, spec, schema, fr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Reference, err = m.ProfileFrame(fr); err != nil { // as Fit does
		t.Fatal(err)
	}
	if a, b := mustEncode(t, fit.Model), mustEncode(t, m); !bytes.Equal(a, b) {
		t.Error("the fitted model differs from Train's")
	}
	if fit.Model.Metrics["cv.roc_auc"] != cv.Mean["roc_auc"] {
		t.Errorf("stored metrics %v lack the cv means", fit.Model.Metrics)
	}
	if !reflect.DeepEqual(reports, []string{"cross-validating logistic (folds)"}) {
		t.Errorf("progress reports %q (logistic has no fit steps)", reports)
	}
}

func TestTune(t *testing.T) {
	ctx := context.Background()
	schema, fr, folds := tumor(t)
	spec := DefaultSpec(KindLogistic)
	best, res, err := Tune(ctx, spec, schema, fr, folds[:2], Tuning{N: 4, Method: "random", Metric: "log_loss", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 4", len(res))
	}
	// log_loss is minimised: best first, in the metric's own sign.
	for i := 1; i < len(res); i++ {
		if res[i].Score < res[0].Score {
			t.Errorf("result %d (%v) beats the first (%v)", i, res[i].Score, res[0].Score)
		}
	}
	cv, err := CrossValidate(ctx, best, schema, fr, folds[:2], nil)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(cv.Mean["log_loss"]-res[0].Score) > 1e-12 {
		t.Errorf("best spec scores %v, search said %v", cv.Mean["log_loss"], res[0].Score)
	}
	for _, c := range []struct {
		t    Tuning
		want string
	}{
		{Tuning{N: 2, Method: "grid", Metric: "roc_auc"}, "random or halving"},
		{Tuning{N: 2, Method: "random", Metric: "auc"}, "not a score"},
		{Tuning{N: 0, Method: "random", Metric: "roc_auc"}, "at least one setting"},
	} {
		if _, _, err := Tune(ctx, spec, schema, fr, folds[:1], c.t); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.t, err, c.want)
		}
	}
}

func TestCompareAndCandidate(t *testing.T) {
	ctx := context.Background()
	schema, fr, folds := tumor(t)
	pol, err := compare.Parse("primary", "roc_auc", "", "")
	if err != nil {
		t.Fatal(err)
	}
	specs := []Spec{DefaultSpec(KindLogistic), DefaultSpec(KindGBDT)}
	specs[1].GBDT.Trees = 20
	res, err := Compare(ctx, Comparison{Names: []string{"lr", "trees"}, Specs: specs, Schema: schema, Frame: fr, Folds: folds[:3], Policies: []compare.Policy{pol}})
	if err != nil {
		t.Fatal(err)
	}
	best := "lr"
	if res.CV["trees"].Mean["roc_auc"] > res.CV["lr"].Mean["roc_auc"] {
		best = "trees"
	}
	if res.Champion != best || res.Positive != "malignant" {
		t.Errorf("champion %s, want %s (the better mean AUC)", res.Champion, best)
	}
	// Candidate: per fold, the truth is the positive class and Correct
	// agrees with the fold's accuracy.
	cv, err := CrossValidate(ctx, specs[0], schema, fr, folds[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	c := Candidate("lr", cv, fr, schema)
	f := c.Folds[0]
	right := 0
	for i, r := range f.Rows {
		if f.Truth[i] != (fr.Y[r] == schema.Positive) {
			t.Fatalf("row %d: truth %v", r, f.Truth[i])
		}
		if f.Correct[i] {
			right++
		}
	}
	if acc := float64(right) / float64(len(f.Rows)); math.Abs(acc-f.Scores["accuracy"]) > 1e-12 {
		t.Errorf("Correct gives accuracy %v, the fold scored %v", acc, f.Scores["accuracy"])
	}
	if _, err := Compare(ctx, Comparison{Names: []string{"lr"}, Specs: specs[:1], Schema: schema, Frame: fr, Policies: []compare.Policy{pol}}); err == nil {
		t.Error("a comparison without folds ran")
	}
}

func TestCandidateSpec(t *testing.T) {
	name, spec, schema, err := CandidateSpec("gbdt")
	if err != nil || name != "gbdt" || schema != nil || !reflect.DeepEqual(spec, DefaultSpec(KindGBDT)) {
		t.Errorf("kind: %s %v %v", name, schema, err)
	}
	if _, _, _, err := CandidateSpec("svm"); err == nil || !strings.Contains(err.Error(), "not a model kind") {
		t.Errorf("unknown: %v", err)
	}
	// In the repository root, gbdt/ is a package directory and logistic
	// may be any file: kinds stay kinds (issue 12: they were opened as
	// model files). Only a real model file of a kind's name is ambiguous.
	dir := t.TempDir()
	t.Chdir(dir)
	os.Mkdir("gbdt", 0o700)
	os.WriteFile("logistic", []byte("notes\n"), 0o600)
	for _, k := range []string{"gbdt", "logistic"} {
		if name, _, _, err := CandidateSpec(k); err != nil || name != k {
			t.Errorf("%s beside a directory or file of that name: %s %v", k, name, err)
		}
	}
	os.WriteFile("fcn", []byte("reckon-model 1 2 0\n{}"), 0o600)
	if _, _, _, err := CandidateSpec("fcn"); err == nil || !strings.Contains(err.Error(), "./fcn") {
		t.Errorf("a model file named fcn: %v", err)
	}
}

func ExampleFit() {
	ctx := context.Background()
	t, _, err := dataset.ReadCSV("toy.csv", strings.NewReader("x,y\n1,no\n2,no\n3,no\n4,yes\n5,yes\n6,yes\n1.5,no\n5.5,yes\n"), dataset.ReadOptions{})
	if err != nil {
		panic(err)
	}
	schema, fr, err := Prepare(t, "y", "yes")
	if err != nil {
		panic(err)
	}
	folds, desc, err := dataset.FoldPlan{CV: "2x1"}.Build(fr.Y)
	if err != nil {
		panic(err)
	}
	fit, err := Fit(ctx, Fitting{Spec: DefaultSpec(KindLogistic), Schema: schema, Frame: fr, Folds: folds, FoldDesc: desc})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s: cv accuracy %.2f; trained on all %d rows, accuracy %.2f\n", fit.CV.Folds, fit.CV.Mean["accuracy"], fr.Rows, fit.Train["accuracy"])
	// Output:
	// stratified 2-fold x 1 (seed 0): cv accuracy 1.00; trained on all 8 rows, accuracy 1.00
}

// One set of names: every search dimension is a parameter of its kind as
// pipelines and model files spell it (fcn's width and blocks set hidden).
func TestSearchSpaceNamesAreParams(t *testing.T) {
	for _, kind := range Kinds {
		sp := DefaultSpec(kind)
		var cfg any
		switch kind {
		case KindGBDT:
			cfg = sp.GBDT
		case KindLinear:
			cfg = sp.Linear
		case KindLogistic:
			cfg = sp.Logistic
		case KindFCN:
			cfg = sp.FCN
		}
		b, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var params map[string]any
		if err := json.Unmarshal(b, &params); err != nil {
			t.Fatal(err)
		}
		for _, d := range Space(kind) {
			if kind == KindFCN && (d.Name == "width" || d.Name == "blocks") {
				continue
			}
			if _, ok := params[d.Name]; !ok {
				t.Errorf("%s: search dimension %q is not one of its parameters", kind, d.Name)
			}
		}
	}
}

func mustEncode(t *testing.T, m *Model) []byte {
	t.Helper()
	a, err := m.Artifact()
	if err != nil {
		t.Fatal(err)
	}
	a.Header.Metrics = nil // Fit adds the cross-validation means
	b, err := model.Encode(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ExampleParseClassWeights() {
	classes := []string{"benign", "malignant"}
	y := []int{0, 0, 0, 1}
	w, _ := ParseClassWeights("balanced", classes, y)
	fmt.Printf("balanced: %.3f\n", w)
	w, _ = ParseClassWeights("malignant=5", classes, y)
	fmt.Println("malignant=5:", w)
	// Each kind gets them in its own label encoding.
	spec := DefaultSpec(KindLogistic)
	if err := spec.SetClassWeights(w, &Schema{Classes: classes, Positive: 1}); err != nil {
		panic(err)
	}
	fmt.Println("logistic pos_weight:", spec.Logistic.PosWeight)
	// Output:
	// balanced: [0.667 2.000]
	// malignant=5: [1 5]
	// logistic pos_weight: 5
}

func TestEvaluateTable(t *testing.T) {
	ctx := context.Background()
	tb := readTable(t, "toy.csv", "x,y\n1,no\n2,no\n3,no\n4,yes\n5,yes\n6,yes\n")
	schema, fr, err := Prepare(tb, "y", "yes")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Train(ctx, DefaultSpec(KindLogistic), schema, fr, nil)
	if err != nil {
		t.Fatal(err)
	}
	te, err := EvaluateTable(m, tb, 0, tb.Hash())
	if err != nil || te.Rows != 6 || te.Threshold != 0.5 || !te.SeenInTraining || te.Scores["accuracy"] != 1 {
		t.Fatalf("%+v %v", te, err)
	}
	// A threshold above every probability: nothing is called positive.
	te, err = EvaluateTable(m, readTable(t, "new.csv", "x,y\n1,no\n6,yes\n"), 0.9999, tb.Hash())
	if err != nil || te.Threshold != 0.9999 || te.SeenInTraining || te.Scores["recall[yes]"] != 0 {
		t.Errorf("%+v %v", te, err)
	}
	if _, err := EvaluateTable(m, readTable(t, "bad.csv", "z\n1\n"), 0, ""); err == nil || !strings.Contains(err.Error(), "x") {
		t.Errorf("missing column: %v", err)
	}
	// Three classes: a threshold has no meaning and is refused, not
	// printed as if applied (issue 12).
	tri := readTable(t, "tri.csv", "x,y\n1,a\n2,a\n3,b\n4,b\n5,c\n6,c\n1.5,a\n3.5,b\n5.5,c\n")
	schema3, fr3, err := Prepare(tri, "y", "")
	if err != nil {
		t.Fatal(err)
	}
	m3, err := Train(ctx, DefaultSpec(KindGBDT), schema3, fr3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EvaluateTable(m3, tri, 0.3, ""); err == nil || !strings.Contains(err.Error(), "3 (a, b, c)") {
		t.Errorf("threshold on three classes: %v", err)
	}
	if te, err := EvaluateTable(m3, tri, 0, ""); err != nil || te.Threshold != 0 {
		t.Errorf("three classes without a threshold: %+v %v", te, err)
	}
}

// TestPolicyMetricsChecked: a misspelt class or metric in a policy is
// refused with the valid names (issue 12: recall[malignent]>=0.97 was
// accepted and a champion registered).
func TestPolicyMetricsChecked(t *testing.T) {
	classes := []string{"benign", "malignant"}
	for _, c := range []struct {
		pol  compare.Policy
		want string // "" : accepted
	}{
		{compare.Constraint{Metric: "recall[malignant]", Min: 0.97, Maximize: "precision[malignant]"}, ""},
		{compare.Constraint{Metric: "recall[malignent]", Min: 0.97, Maximize: "precision[malignant]"}, `no class "malignent" (classes: benign, malignant)`},
		{compare.Primary{Metric: "roc_auc", TieBreaker: []string{"accuracy", "log_loss"}}, ""},
		{compare.Primary{Metric: "auc"}, "roc_auc"},
		{compare.Wins{TieBreak: "brier"}, ""},
	} {
		err := CheckPolicy(c.pol, classes)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.pol, err, c.want)
		}
	}
	// brier is binary only.
	if err := CheckMetric("brier", []string{"a", "b", "c"}); err == nil {
		t.Error("brier accepted for three classes")
	}
	// Every name MetricNames lists is one Score reports, and vice versa.
	s := &Schema{Classes: classes, Positive: 1}
	e, err := Score(s, []float64{0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7}, []int{0, 1, 0, 1}, []int{0, 1, 1, 0})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Scores.Names(), MetricNames(classes); !reflect.DeepEqual(got, want) {
		t.Errorf("Score reports %v, MetricNames lists %v", got, want)
	}
}
