package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const tumorCSV = "../../examples/tumor/breast_cancer_wisconsin_clean.csv"
const tumorFolds = "../../examples/tumor/breast_cancer_folds.json"

// TestTrainTabularOnSharedFolds trains logistic regression with the shared
// folds, as the README shows, and checks the cross-validated figures are
// scikit-learn's (tumor_anchor.py: accuracy 0.9754, AUC 0.9950).
func TestTrainTabularOnSharedFolds(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "lr.reckon")
	var res trainTabularResult
	js := mustReckon(t, "train", "tabular", "--data", tumorCSV, "--target", "diagnosis", "--positive", "malignant",
		"--model", "logistic", "--folds", tumorFolds, "--out", out, "--json")
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatal(err)
	}
	if res.CV == nil || len(res.CV.PerFold) != 15 {
		t.Fatalf("no 15-fold cross-validation in %s", js)
	}
	if a := res.CV.Mean["accuracy"]; a < 0.975 || a > 0.9755 {
		t.Errorf("cv accuracy %.4f, scikit-learn 0.9754", a)
	}
	if a := res.CV.Mean["roc_auc"]; a < 0.9948 || a > 0.9952 {
		t.Errorf("cv AUC %.4f, scikit-learn 0.9950", a)
	}
	// Eval on new data lacking a column names it; a mistyped one too.
	bad := filepath.Join(dir, "bad.csv")
	b, _ := os.ReadFile(tumorCSV)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	hdr := strings.Split(lines[0], ",")
	var keep []int
	for i, h := range hdr {
		if h != "mean_area" {
			keep = append(keep, i)
		}
	}
	var sb strings.Builder
	for li, l := range lines[:50] {
		f := strings.Split(l, ",")
		var row []string
		for _, i := range keep {
			v := f[i]
			if li > 0 && hdr[i] == "mean_radius" {
				v = "big"
			}
			row = append(row, v)
		}
		sb.WriteString(strings.Join(row, ",") + "\n")
	}
	os.WriteFile(bad, []byte(sb.String()), 0o644)
	_, errs, code := reckon(t, "eval", "--model", out, "--data", bad)
	if code != 1 || !strings.Contains(errs, "missing columns: mean_area") || !strings.Contains(errs, "mistyped columns: mean_radius") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	// Eval on the training data says so, and writes the figures.
	plots := filepath.Join(dir, "plots")
	txt := mustReckon(t, "eval", "--model", out, "--data", tumorCSV, "--plots", plots)
	if !strings.Contains(txt, "optimistic") || !strings.Contains(txt, "malignant") {
		t.Errorf("eval output:\n%s", txt)
	}
	for _, f := range []string{"roc.png", "precision_recall.png", "confusion_matrix.png"} {
		if _, err := os.Stat(filepath.Join(plots, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestCompareModelFilesAndKinds(t *testing.T) {
	dir := t.TempDir()
	strong, weak := filepath.Join(dir, "strong.reckon"), filepath.Join(dir, "weak.reckon")
	mustReckon(t, "train", "tabular", "--data", tumorCSV, "--target", "diagnosis", "--model", "logistic", "--out", strong)
	mustReckon(t, "train", "tabular", "--data", tumorCSV, "--target", "diagnosis", "--model", "logistic", "--C", "0.0005", "--out", weak)
	var res compareResult
	js := mustReckon(t, "compare", "--models", strong+","+weak, "--data", tumorCSV, "--cv", "5x2",
		"--policy", "wins,primary,constraint", "--constraint", "recall[malignant]>=0.9", "--maximize", "precision[malignant]", "--json")
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Decisions) != 3 || res.Positive != "malignant" {
		t.Fatalf("decisions %d, positive %q", len(res.Decisions), res.Positive)
	}
	for _, d := range res.Decisions[:2] {
		if d.Winner != "strong" || d.Reason == "" {
			t.Errorf("%s: winner %s (%s)", d.Policy, d.Winner, d.Reason)
		}
	}
	if _, errs, code := reckon(t, "compare", "--models", "logistic,xgboost", "--data", tumorCSV, "--target", "diagnosis"); code != 1 || !strings.Contains(errs, "xgboost") {
		t.Errorf("unknown model: exit %d %q", code, errs)
	}
	if _, errs, code := reckon(t, "compare", "--models", "logistic,gbdt", "--data", tumorCSV, "--target", "diagnosis", "--policy", "constraint"); code != 1 || !strings.Contains(errs, ">=") {
		t.Errorf("constraint without its flags: exit %d %q", code, errs)
	}
}

func TestTrainTabularSearch(t *testing.T) {
	var res trainTabularResult
	js := mustReckon(t, "train", "tabular", "--data", tumorCSV, "--target", "diagnosis", "--model", "logistic",
		"--search", "6", "--search-method", "halving", "--cv", "3x1", "--json")
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Search) != 6 || res.Search[0].Rank != 1 || res.Search[0].Budget != 3 {
		t.Fatalf("search table %+v", res.Search)
	}
	// Class weights raise the positive class's recall at the same threshold.
	rec := map[string]float64{}
	for _, cw := range []string{"", "malignant=4"} {
		var r trainTabularResult
		args := []string{"train", "tabular", "--data", tumorCSV, "--target", "diagnosis", "--model", "gbdt", "--trees", "60", "--cv", "5x1", "--json"}
		if cw != "" {
			args = append(args, "--class-weight", cw)
		}
		if err := json.Unmarshal([]byte(mustReckon(t, args...)), &r); err != nil {
			t.Fatal(err)
		}
		rec[cw] = r.CV.Mean["recall[malignant]"]
	}
	if !(rec["malignant=4"] > rec[""]) {
		t.Errorf("gbdt recall[malignant] %v unweighted, %v weighted", rec[""], rec["malignant=4"])
	}
	if _, errs, code := reckon(t, "train", "tabular", "--data", tumorCSV, "--target", "diagnosis", "--class-weight", "cancer=2"); code != 1 || !strings.Contains(errs, "benign, malignant") {
		t.Errorf("unknown class weight label: exit %d %q", code, errs)
	}
}

func TestBenchGBDT(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	sb.WriteString("f0,f1,f2,y\n")
	for i := 0; i < 2000; i++ {
		a, b, c := r.NormFloat64(), r.NormFloat64(), r.NormFloat64()
		y := 0
		if a+b*b-1+0.3*r.NormFloat64() > 0 {
			y = 1
		}
		fmt.Fprintf(&sb, "%g,%g,%g,%d\n", a, b, c, y)
	}
	path := filepath.Join(t.TempDir(), "g.csv")
	os.WriteFile(path, []byte(sb.String()), 0o644)
	var res map[string]any
	js := mustReckon(t, "bench", "gbdt", "--csv", path, "--trees", "20", "--reps", "1", "--json")
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"median_fit_s", "predict_rows_per_s", "holdout_auc", "train_rows"} {
		if _, ok := res[k]; !ok {
			t.Errorf("no %s in %s", k, js)
		}
	}
	if auc := res["holdout_auc"].(float64); auc < 0.85 {
		t.Errorf("holdout AUC %v", auc)
	}
}

// TestTrainTabularCategoricalEarlyStop: a categorical column goes through
// the schema and ordered target statistics, and early stopping keeps fewer
// trees than asked for when more do not help.
func TestTrainTabularCategoricalEarlyStop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var sb strings.Builder
	sb.WriteString("x,city,label\n")
	cities := []string{"oslo", "lima", "pune", "kyiv", "perth"}
	for i := 0; i < 600; i++ {
		x, c := r.NormFloat64(), r.IntN(len(cities))
		label := "no"
		if x+float64(c%2)*1.5-0.7+0.5*r.NormFloat64() > 0 {
			label = "yes"
		}
		fmt.Fprintf(&sb, "%.4f,%s,%s\n", x, cities[c], label)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cat.csv")
	os.WriteFile(path, []byte(sb.String()), 0o644)
	out := filepath.Join(dir, "m.reckon")
	var res trainTabularResult
	js := mustReckon(t, "train", "tabular", "--data", path, "--target", "label", "--model", "gbdt", "--trees", "400", "--lr", "0.3",
		"--early-stop", "20", "--cv", "3x1", "--out", out, "--json")
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatal(err)
	}
	if res.CV.Mean["roc_auc"] < 0.8 {
		t.Errorf("cv AUC %.3f with an informative category", res.CV.Mean["roc_auc"])
	}
	art, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(art), `"ctr":[{"column":1`) {
		t.Error("no target statistics for the city column in the model file")
	}
	// Linear models see the city one-hot, not as a code.
	var lr trainTabularResult
	if err := json.Unmarshal([]byte(mustReckon(t, "train", "tabular", "--data", path, "--target", "label", "--model", "logistic", "--cv", "3x1", "--json")), &lr); err != nil {
		t.Fatal(err)
	}
	if lr.CV.Mean["roc_auc"] < 0.8 {
		t.Errorf("logistic cv AUC %.3f with an informative category", lr.CV.Mean["roc_auc"])
	}
	// New data with an unseen city still predicts.
	os.WriteFile(filepath.Join(dir, "new.csv"), []byte("x,city,label\n0.5,rome,yes\n-1,oslo,no\n"), 0o644)
	mustReckon(t, "eval", "--model", out, "--data", filepath.Join(dir, "new.csv"), "--plots", "-")
}

func TestMulticlassTrainAndCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var sb strings.Builder
	sb.WriteString("a,b,species\n")
	names := []string{"setosa", "versicolor", "virginica"}
	for i := 0; i < 240; i++ {
		k := i % 3
		fmt.Fprintf(&sb, "%.4f,%.4f,%s\n", 2*float64(k)+r.NormFloat64(), float64(k)-r.NormFloat64(), names[k])
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "three.csv")
	os.WriteFile(path, []byte(sb.String()), 0o644)
	g, n := filepath.Join(dir, "g.reckon"), filepath.Join(dir, "n.reckon")
	mustReckon(t, "train", "tabular", "--data", path, "--target", "species", "--model", "gbdt", "--trees", "30", "--out", g)
	mustReckon(t, "train", "tabular", "--data", path, "--target", "species", "--model", "fcn", "--epochs", "20", "--out", n)
	var res compareResult
	if err := json.Unmarshal([]byte(mustReckon(t, "compare", "--models", g+","+n, "--data", path, "--cv", "3x1", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Champion == "" || res.CV["g"].Mean["roc_auc"] < 0.8 {
		t.Errorf("champion %q, gbdt ovr AUC %v", res.Champion, res.CV["g"].Mean["roc_auc"])
	}
	// Logistic regression is multinomial on three classes, and the
	// default comparison of every kind runs.
	var lr trainTabularResult
	if err := json.Unmarshal([]byte(mustReckon(t, "train", "tabular", "--data", path, "--target", "species", "--model", "logistic", "--cv", "3x1", "--json")), &lr); err != nil {
		t.Fatal(err)
	}
	if lr.CV.Mean["accuracy"] < 0.6 || lr.CV.Mean["roc_auc"] < 0.8 {
		t.Errorf("multiclass logistic cv %v", lr.CV.Mean)
	}
	if err := json.Unmarshal([]byte(mustReckon(t, "compare", "--models", "logistic,gbdt,fcn", "--data", path, "--target", "species", "--cv", "3x1", "--json")), &res); err != nil || res.Champion == "" {
		t.Errorf("compare of every kind on three classes: %v, champion %q", err, res.Champion)
	}
}

// TestTrainTabularRefusesOverwrite: like every command that writes a model
// file, train tabular does not replace one without --force, and says so
// before training (issue 12).
func TestTrainTabularRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "m.rkm")
	os.WriteFile(out, []byte("precious"), 0o600)
	csv := filepath.Join(dir, "t.csv")
	os.WriteFile(csv, []byte("x,y\n1,a\n2,a\n3,b\n4,b\n5,a\n6,b\n"), 0o600)
	_, stderr, code := reckon(t, "train", "tabular", "--data", csv, "--target", "y", "--kind", "logistic", "--out", out)
	if code != 1 || !strings.Contains(stderr, "already exists") || !strings.Contains(stderr, "--force") {
		t.Errorf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Error("the existing file changed")
	}
	// The old spelling --model of the kind still parses; --force replaces.
	if _, stderr, code := reckon(t, "train", "tabular", "--data", csv, "--target", "y", "--model", "logistic", "--out", out, "--force"); code != 0 {
		t.Errorf("--force: exit %d: %s", code, stderr)
	}
}

// TestRegressionEndToEnd: a numeric target trains ridge and trees with
// plain K-fold cross-validation, evaluates with residual figures, and
// predicts values in bulk; a classifier kind is refused before any work.
func TestRegressionEndToEnd(t *testing.T) {
	dir := t.TempDir()
	data := "../../examples/regression/friedman_region.csv"
	var res trainTabularResult
	out := filepath.Join(dir, "ridge.rkm")
	if err := json.Unmarshal([]byte(mustReckon(t, "train", "tabular", "--data", data, "--target", "y", "--kind", "linear", "--cv", "3x1",
		"--out", out, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Task != "regression" || res.CV == nil || len(res.CV.PerFold) != 3 || !strings.HasPrefix(res.CV.Folds, "3-fold") || !(res.CV.Mean["r2"] > 0.6) {
		t.Fatalf("ridge: task %q, cv %+v", res.Task, res.CV)
	}
	var ev evalTabularResult
	if err := json.Unmarshal([]byte(mustReckon(t, "eval", "--model", out, "--data", data, "--plots", dir, "--json")), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Task != "regression" || ev.Target != "y" || !(ev.Scores["rmse"] > 0) || len(ev.Plots) != 2 || !ev.SeenInTraining {
		t.Errorf("eval: %+v", ev)
	}
	// The coefficients lead with x4 (10·x4 in Friedman's function), as in
	// eval's report and models show's.
	if ev.Importance == nil || ev.Importance.Measure != "standardized_coefficient" || ev.Importance.Weights[0].Feature != "x4" {
		t.Errorf("eval importance %+v", ev.Importance)
	}
	imp, err := tabularImportance("ridge", func() ([]byte, error) { return os.ReadFile(out) })
	if err != nil || imp == nil || len(imp.Weights) != 13 || imp.Weights[0].Feature != "x4" {
		t.Errorf("models show importance %+v %v", imp, err)
	}
	for _, p := range ev.Plots {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	gb := filepath.Join(dir, "gbdt.rkm")
	mustReckon(t, "train", "tabular", "--data", data, "--target", "y", "--kind", "gbdt", "--loss", "huber", "--trees", "50", "--out", gb)
	pred := filepath.Join(dir, "pred")
	mustReckon(t, "predict", "--model", gb, "--data", data, "--out-dir", pred)
	files, _ := filepath.Glob(filepath.Join(pred, "predictions-*.csv"))
	if len(files) != 1 {
		t.Fatalf("prediction files %v", files)
	}
	b, _ := os.ReadFile(files[0])
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2001 || lines[0] != "record_id,prediction,model" {
		t.Fatalf("%d lines, header %q", len(lines), lines[0])
	}
	if _, err := strconv.ParseFloat(strings.Split(lines[1], ",")[1], 64); err != nil {
		t.Errorf("prediction %q: %v", lines[1], err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", data, "--target", "y", "--kind", "logistic"}, "classifier"},
		{[]string{"--data", data, "--target", "y", "--kind", "linear", "--class-weight", "balanced"}, "class weights are for classes"},
		{[]string{"--data", tumorCSV, "--target", "diagnosis", "--kind", "gbdt", "--loss", "huber"}, "--loss"},
		{[]string{"--data", tumorCSV, "--target", "diagnosis", "--kind", "linear"}, "ridge regression"},
	} {
		args := append([]string{"train", "tabular", "--out", filepath.Join(dir, "x.rkm")}, c.args...)
		if _, errs, code := reckon(t, args...); code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q, want %q", c.args, code, errs, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.rkm")); err == nil {
		t.Error("a refused training wrote a model file")
	}
}

// TestCompareRegression: on a numeric target compare cross-validates the
// regression kinds by default and ranks them by rmse, lowest first; the
// constraint policy is refused there, and a regression metric on classes.
func TestCompareRegression(t *testing.T) {
	data := "../../examples/regression/friedman_region.csv"
	var res compareResult
	if err := json.Unmarshal([]byte(mustReckon(t, "compare", "--data", data, "--target", "y", "--cv", "3x1", "--policy", "primary,wins", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Task != "regression" || len(res.Models) != 3 || res.Champion != "gbdt" || len(res.Decisions) != 2 {
		t.Fatalf("%+v", res.Compared)
	}
	d := res.Decisions[0]
	if d.Ranking[0] != "gbdt" || !(d.Means["gbdt"]["rmse"] < d.Means["linear"]["rmse"]) || !strings.Contains(d.Reason, "rmse") || strings.Contains(d.Reason, "McNemar") || !d.Pairs[0].NoMcNemar {
		t.Errorf("primary: %+v", d)
	}
	if _, errs, code := reckon(t, "compare", "--data", data, "--target", "y", "--policy", "constraint", "--constraint", "r2>=0.5", "--maximize", "rmse"); code != 1 || !strings.Contains(errs, "constraint policy") {
		t.Errorf("constraint on a regression: exit %d, %q", code, errs)
	}
	if _, errs, code := reckon(t, "compare", "--data", tumorCSV, "--target", "diagnosis", "--policy", "primary", "--metric", "rmse", "--cv", "2x1"); code != 1 || !strings.Contains(errs, "regression's") {
		t.Errorf("rmse on classes: exit %d, %q", code, errs)
	}
}
