package tabular

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
)

// TestDetectTask: numbers with fractions, or with many distinct whole
// values, are a quantity; text and a few whole numbers are classes.
func TestDetectTask(t *testing.T) {
	for _, c := range []struct {
		name, csv, want string
	}{
		{"fractions", "x,y\n1,0.5\n2,1.5\n3,2\n", TaskRegression},
		{"few integers", "x,y\n1,0\n2,1\n3,1\n", TaskClassification},
		{"text", "x,y\n1,a\n2,b\n3,a\n", TaskClassification},
		{"whole floats", "x,y\n1,1.0\n2,0.0\n3,1.0\n", TaskClassification},
	} {
		tb := readTable(t, c.name, c.csv)
		if got := DetectTask(tb.Column("y")); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	var b strings.Builder
	b.WriteString("x,y\n")
	for i := range MaxIntegerClasses + 1 {
		fmt.Fprintf(&b, "1,%d\n", 7*i)
	}
	if got := DetectTask(readTable(t, "many", b.String()).Column("y")); got != TaskRegression {
		t.Errorf("%d distinct whole numbers: %s", MaxIntegerClasses+1, got)
	}
}

// TestRegressionSchemaRefusals: what a regression cannot take is refused
// with the file and line or the column, and kinds that cannot fit the
// task are refused before training.
func TestRegressionSchemaRefusals(t *testing.T) {
	tb := readTable(t, "r.csv", "x,y\n1,0.5\n2,\n3,2.5\n")
	if _, err := NewSchemaTask(tb, "y", "", TaskRegression); err == nil || !strings.Contains(err.Error(), "r.csv:3") {
		t.Errorf("missing target: %v", err)
	}
	tb = readTable(t, "r.csv", "x,y\n1,0.5\n2,1.5\n3,2.5\n")
	if _, err := NewSchemaTask(tb, "y", "1.5", ""); err == nil || !strings.Contains(err.Error(), "positive class") {
		t.Errorf("positive class on a numeric target: %v", err)
	}
	if _, err := NewSchemaTask(readTable(t, "c.csv", "x,y\n1,a\n2,b\n"), "y", "", TaskRegression); err == nil || !strings.Contains(err.Error(), "text values") {
		t.Errorf("text target as regression: %v", err)
	}
	if _, err := NewSchemaTask(tb, "y", "", "ranking"); err == nil || !strings.Contains(err.Error(), "ranking") {
		t.Errorf("unknown task: %v", err)
	}
	s, err := NewSchemaTask(tb, "y", "", "")
	if err != nil || !s.Regression() {
		t.Fatalf("schema %+v %v", s, err)
	}
	cls, _ := NewSchema(readTable(t, "c.csv", "x,y\n1,a\n2,b\n"), "y", "")
	for _, c := range []struct {
		kind   string
		schema *Schema
		want   string
	}{
		{KindLinear, s, ""}, {KindGBDT, s, ""}, {KindLogistic, s, "classifier"}, {KindFCN, s, ""},
		{KindLinear, cls, "ridge regression"}, {KindLogistic, cls, ""},
	} {
		err := CheckTask(c.kind, c.schema)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s on %s: %v, want %q", c.kind, c.schema.Task, err, c.want)
		}
		if c.want != "" {
			fr, _ := c.schema.Encode(tb)
			if c.schema == cls {
				fr, _ = c.schema.Encode(readTable(t, "c.csv", "x,y\n1,a\n2,b\n"))
			}
			if _, err := Train(context.Background(), DefaultSpec(c.kind), c.schema, fr, nil); err == nil {
				t.Errorf("%s trained on a %s target", c.kind, c.schema.Task)
			}
		}
	}
	if _, err := s.Encode(readTable(t, "new.csv", "x,y\n1,a\n")); err == nil || !strings.Contains(err.Error(), "text values") {
		t.Errorf("text target in new data: %v", err)
	}
}

func exampleRegression(t *testing.T) (*Schema, *Frame, []dataset.Fold) {
	t.Helper()
	b, err := os.ReadFile("../examples/regression/friedman_region.csv")
	if err != nil {
		t.Fatal(err)
	}
	tb, _, err := dataset.ReadCSV("friedman_region.csv", bytes.NewReader(b), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, fr, err := Prepare(tb, "y", "")
	if err != nil || !s.Regression() {
		t.Fatalf("%+v %v", s, err)
	}
	fb, err := os.ReadFile("../examples/regression/friedman_region_folds.json")
	if err != nil {
		t.Fatal(err)
	}
	ff, err := dataset.ReadFolds("folds", bytes.NewReader(fb), fr.Rows)
	if err != nil {
		t.Fatal(err)
	}
	return s, fr, ff.Folds
}

// TestRegressionMatchesScikitLearn: on the example table and its folds,
// ridge's cross-validated scores are scikit-learn's Ridge(alpha=1) after a
// StandardScaler (the same algebra: agreement to rounding), and the trees'
// RMSE is within 2% of HistGradientBoostingRegressor's or better
// (testdata/regression_sklearn.json, from bench/anchors/regression_anchor.py).
func TestRegressionMatchesScikitLearn(t *testing.T) {
	s, fr, folds := exampleRegression(t)
	var want map[string]map[string]float64
	b, err := os.ReadFile("testdata/regression_sklearn.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	lin, err := CrossValidate(context.Background(), DefaultSpec(KindLinear), s, fr, folds, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want["ridge"] {
		if g := lin.Mean[k]; math.Abs(g-w) > 1e-7*math.Max(1, math.Abs(w)) {
			t.Errorf("ridge %s: %.10g, scikit-learn %.10g", k, g, w)
		}
	}
	gb, err := CrossValidate(context.Background(), DefaultSpec(KindGBDT), s, fr, folds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := gb.Mean["rmse"], want["hist_gbr"]["rmse"]; !(g <= 1.02*w) {
		t.Errorf("gbdt cv rmse %.4f, HistGradientBoostingRegressor %.4f", g, w)
	}
	t.Logf("gbdt cv rmse %.4f (HistGradientBoostingRegressor %.4f), ridge %.4f", gb.Mean["rmse"], want["hist_gbr"]["rmse"], lin.Mean["rmse"])
}

// TestRegressionModelFile: a regression model reads back from its file
// and predicts the same values; it refuses to give class probabilities.
func TestRegressionModelFile(t *testing.T) {
	s, fr, _ := exampleRegression(t)
	for _, kind := range RegressionKinds {
		m, err := Train(context.Background(), DefaultSpec(kind), s, fr, nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Reference, err = m.ProfileFrame(fr); err != nil {
			t.Fatal(err)
		}
		a, err := m.FileArtifact("sha256:x", "test")
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := model.Write(&buf, a); err != nil {
			t.Fatal(err)
		}
		back, err := model.Read("m", &buf)
		if err != nil {
			t.Fatal(err)
		}
		mm, err := model.FromArtifact("m", back)
		if err != nil {
			t.Fatal(err)
		}
		m2 := mm.(*Model)
		v1, _ := m.Predict(fr)
		v2, err := m2.Predict(fr)
		if err != nil || !m2.Schema.Regression() {
			t.Fatalf("%s: %v (schema %+v)", kind, err, m2.Schema)
		}
		for i := range v1 {
			if v1[i] != v2[i] {
				t.Fatalf("%s row %d: %g trained, %g read back", kind, i, v1[i], v2[i])
			}
		}
		if _, err := m2.Proba(fr); err == nil {
			t.Errorf("%s regression gave class probabilities", kind)
		}
		if col := m2.Reference.Columns[len(m2.Reference.Columns)-1]; !col.Numeric() {
			t.Errorf("%s: the drift reference's prediction column is %s, want numbers", kind, col.Type)
		}
	}
}

// TestImportance: ridge's standardised coefficients are scikit-learn's
// Ridge(alpha=1).coef_ after StandardScaler on the one-hot table
// (recorded: x4 2.9016, x1 2.0058, x2 1.9331, x5 1.3939, region=east
// -1.0209, region=west 0.8649, region=south 0.7497, region=north -0.3954,
// x3 -0.0681); the trees' gain shares sum to 1 and put Friedman's
// informative inputs above its noise columns.
func TestImportance(t *testing.T) {
	s, fr, _ := exampleRegression(t)
	lin, err := Train(context.Background(), DefaultSpec(KindLinear), s, fr, nil)
	if err != nil {
		t.Fatal(err)
	}
	imp := lin.Importance()
	want := map[string]float64{"x4": 2.9016, "x1": 2.0058, "x2": 1.9331, "x5": 1.3939, "region=east": -1.0209, "region=west": 0.8649,
		"region=south": 0.7497, "region=north": -0.3954, "x3": -0.0681}
	if imp.Measure != "standardized_coefficient" || len(imp.Weights) != 13 {
		t.Fatalf("%+v", imp)
	}
	for i, w := range imp.Weights {
		if v, ok := want[w.Feature]; ok && math.Abs(v-w.Value) > 1e-4 {
			t.Errorf("%s: %.5f, scikit-learn %.4f", w.Feature, w.Value, v)
		}
		if i > 0 && math.Abs(w.Value) > math.Abs(imp.Weights[i-1].Value) {
			t.Errorf("not sorted at %d: %+v", i, imp.Weights)
		}
	}
	gb, err := Train(context.Background(), DefaultSpec(KindGBDT), s, fr, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := gb.Importance()
	var sum float64
	rank := map[string]int{}
	for i, w := range g.Weights {
		sum += w.Value
		rank[w.Feature] = i
	}
	if g.Measure != "gain" || math.Abs(sum-1) > 1e-9 || len(g.Weights) != 9 {
		t.Fatalf("gain shares %+v sum to %g", g, sum)
	}
	for _, f := range []string{"x1", "x2", "x4"} {
		for _, noise := range []string{"x6", "x7", "x8"} {
			if rank[f] > rank[noise] {
				t.Errorf("%s ranks below the noise column %s: %+v", f, noise, g.Weights)
			}
		}
	}
}
