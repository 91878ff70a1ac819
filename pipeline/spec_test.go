package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDecodeRejects: every bad file is refused with its name, the line of
// the problem and what was wrong.
func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"unknown_key.yaml", []string{"unknown_key.yaml", "line 7", "tagret"}},
		{"wrong_type.yaml", []string{"wrong_type.yaml", "line 6", "lots"}},
		{"bad_kind.yaml", []string{"bad_kind.yaml:10:", "models[1]", `"xgboost"`, "logistic, gbdt, fcn"}},
		{"bad_param.yaml", []string{"bad_param.yaml:9:", "models[0] (gbdt)", `unknown field "tress"`}},
		{"two_sources.yaml", []string{"two_sources.yaml:2:", "exactly one of table"}},
		{"bad_policy.yaml", []string{"bad_policy.yaml:8:", "primary"}},
		{"bad_constraint.yaml", []string{"bad_constraint.yaml:10:", "recall[malignant]>>0.97"}},
		{"dup_names.yaml", []string{"dup_names.yaml:10:", `second candidate named "logistic"`}},
		{"bad_cv.yaml", []string{"bad_cv.yaml:7:", "split.cv", `"5by3": want KxR`}},
		// Values are checked by the kind itself when the file is read.
		{"bad_gbdt_value.yaml", []string{"bad_gbdt_value.yaml:10:", "models[1] (gbdt)", "depth must be in [1, 12], got 0"}},
		{"bad_lstm_value.yaml", []string{"bad_lstm_value.yaml:9:", "models[1] (lstm)", `readout "max"`, "mean, regression or softmax"}},
		{"bad_variant.yaml", []string{"bad_variant.yaml:5:", `data.generate.variant "C"`}},
		{"replicates_on_a.yaml", []string{"replicates_on_a.yaml:4:", "replicates and horizons are for variant: B"}},
		{"bad_horizon.yaml", []string{"bad_horizon.yaml:5:", "data.generate.horizons[1]", "got -5"}},
		{"bad_task.yaml", []string{"bad_task.yaml:5:", `data.task "ranking"`}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", "bad", tc.file))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestExamplesDecode: the shipped pipelines are valid and mean what they
// say.
func TestExamplesDecode(t *testing.T) {
	tumor, err := Load("../examples/tumor/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !tumor.Tabular() || len(tumor.Models) != 3 || tumor.Select.Policy != "constraint" || tumor.Register.Alias != "champion" {
		t.Errorf("tumor: %+v", tumor)
	}
	if _, err := os.Stat(tumor.path(tumor.Data.Table)); err != nil {
		t.Errorf("tumor table: %v", err)
	}
	sp, err := tabularSpec(tumor.Models[1])
	if err != nil || sp.GBDT.Trees != 300 || sp.GBDT.Depth != 6 {
		t.Errorf("gbdt params: %+v %v", sp.GBDT, err)
	}
	re, err := Load("../examples/reentry/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if re.Tabular() || re.Data.Generate == nil || re.Select.Metric != "rmse_s" || re.CheckpointEvery == nil || re.CheckpointEvery.Seconds() != 30 {
		t.Errorf("reentry: %+v", re)
	}
	rg, err := Load("../examples/regression/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !rg.Tabular() || len(rg.Models) != 3 || rg.Select.Metric != "rmse" || rg.Models[0].Kind != "linear" {
		t.Errorf("regression: %+v", rg)
	}
	fc, err := Load("../examples/forecast/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if g := fc.Data.Generate; g == nil || g.Variant != "B" || g.Replicates != 3 || len(fc.Models) != 3 {
		t.Errorf("forecast: %+v", fc)
	}
	cfg, err := trackConfig(re.Models[2], re.Features, re.Split)
	if err != nil || cfg.LSTM == nil || cfg.LSTM.Epochs != 40 || cfg.LSTM.Window != 256 || cfg.Split.TestFrac != 0.2 {
		t.Errorf("lstm config: %+v %v", cfg, err)
	}
}

// TestCacheKey: the key changes with each of its parts and only with them.
func TestCacheKey(t *testing.T) {
	base, _ := cacheKey("train/gbdt", map[string]int{"trees": 300}, map[string]string{"data": "a"}, "code1")
	same, _ := cacheKey("train/gbdt", map[string]int{"trees": 300}, map[string]string{"data": "a"}, "code1")
	if base != same {
		t.Error("same inputs, different keys")
	}
	for name, k := range map[string][]any{
		"step":   {"train/fcn", map[string]int{"trees": 300}, map[string]string{"data": "a"}, "code1"},
		"config": {"train/gbdt", map[string]int{"trees": 301}, map[string]string{"data": "a"}, "code1"},
		"inputs": {"train/gbdt", map[string]int{"trees": 300}, map[string]string{"data": "b"}, "code1"},
		"code":   {"train/gbdt", map[string]int{"trees": 300}, map[string]string{"data": "a"}, "code2"},
	} {
		other, _ := cacheKey(k[0].(string), k[1], k[2].(map[string]string), k[3].(string))
		if other == base {
			t.Errorf("changing the %s kept the key", name)
		}
	}
}

// TestDataPathsAreConfined: a pipeline's data paths stay under its
// directory, symlinks followed, unless a directory is allowed (issue 12:
// table: ../../../../etc/shadow was read and its first line stored).
func TestDataPathsAreConfined(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "project")
	outside := filepath.Join(root, "secrets")
	for _, d := range []string{filepath.Join(dir, "data"), outside} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "data", "t.csv"), []byte("a,b\n1,2\n"), 0o600)
	os.WriteFile(filepath.Join(outside, "key"), []byte("secret\n"), 0o600)
	os.Symlink(filepath.Join(outside, "key"), filepath.Join(dir, "data", "link.csv"))
	spec := &Spec{file: filepath.Join(dir, "p.yaml"), dir: dir}
	for _, c := range []struct {
		path  string
		allow []string
		ok    bool
	}{
		{"data/t.csv", nil, true},
		{filepath.Join(dir, "data", "t.csv"), nil, true},
		{"embedded:tumor", nil, true},
		{"../secrets/key", nil, false},
		{filepath.Join(outside, "key"), nil, false},
		{"data/link.csv", nil, false},
		{"data/../../secrets/key", nil, false},
		{"../secrets/key", []string{outside}, true},
		{"data/link.csv", []string{outside}, true},
	} {
		got, err := spec.Resolve("data.table", c.path, c.allow)
		if c.ok != (err == nil) {
			t.Errorf("%s (allow %v): %q, %v; want ok=%v", c.path, c.allow, got, err, c.ok)
		}
		if err != nil && (strings.Contains(err.Error(), "secret\n") || !strings.Contains(err.Error(), "--allow-data")) {
			t.Errorf("%s: error %v", c.path, err)
		}
	}
}

// The LSTM's options are pipeline params under their file names, checked
// when the pipeline is read.
func TestLSTMOptionParams(t *testing.T) {
	for _, c := range []struct {
		params map[string]any
		bad    string
	}{
		{params: map[string]any{"layers": 2, "dropout": 0.2, "batch_norm": true, "early_stop_patience": 10, "early_stop_frac": 0.2}},
		{params: map[string]any{"layers": 1, "batch_norm": true}, bad: "batch_norm"},
		{params: map[string]any{"dropout": 1.0}, bad: "dropout"},
		{params: map[string]any{"layers": 1, "dropout": 0.2}, bad: "dropout"},
		{params: map[string]any{"early_stop_frac": 0.2}, bad: "early_stop_frac"},
		{params: map[string]any{"early_stop_patience": -1}, bad: "early_stop_patience"},
	} {
		cfg, err := trackConfig(Model{Name: "lstm", Kind: "lstm", Params: c.params}, Features{}, Split{TestFrac: 0.2})
		if c.bad != "" {
			if err == nil || !strings.Contains(err.Error(), c.bad) {
				t.Errorf("%v: error %v, want one naming %s", c.params, err, c.bad)
			}
			continue
		}
		if err != nil || cfg.LSTM.Dropout != 0.2 || !cfg.LSTM.BatchNorm || cfg.LSTM.Patience != 10 || cfg.LSTM.HoldoutFrac != 0.2 {
			t.Errorf("%v: %+v %v", c.params, cfg.LSTM, err)
		}
	}
}
