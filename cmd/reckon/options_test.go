package main

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/pipeline"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// parse runs a command's flag parsing and validation with a run function
// that only records it was reached: no data is read, nothing is written.
func parse(t *testing.T, c *cobra.Command, args ...string) error {
	t.Helper()
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	c.SilenceUsage, c.SilenceErrors = true, true
	return c.ExecuteContext(context.Background())
}

func testApp() *app { return &app{out: &bytes.Buffer{}, err: &bytes.Buffer{}} }

func TestPredictOptions(t *testing.T) {
	var got *predictOptions
	stop := func(_ context.Context, o *predictOptions) error { got = o; return nil }
	if err := parse(t, testApp().newPredictCmd(stop), "--model", "tumor@champion", "--input", "a.csv", "--input", "dir", "--out", "p", "--shard", "1/4"); err != nil {
		t.Fatal(err)
	}
	want := predictOptions{Model: "tumor@champion", Inputs: []string{"a.csv", "dir"}, Out: "p", Shard: "1/4", Workers: got.Workers, Chunk: 0,
		Team: "default", Kube: kubeFlags{namespace: "reckon", secret: "reckon-store", retries: 2, image: got.Kube.image}}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("options %+v, want %+v (chunk 0: the model's default)", *got, want)
	}
	if err := parse(t, testApp().newPredictCmd(stop), "--model", "m", "--input", "a", "--out", "p", "--chunk", "64"); err != nil || got.Chunk != 64 {
		t.Errorf("--chunk 64: %d, %v", got.Chunk, err)
	}
	// The names of this release and the older ones (hidden) mean the same.
	got = nil
	if err := parse(t, testApp().newPredictCmd(stop), "--model", "m", "--data", "a", "--data", "b", "--out-dir", "p"); err != nil || got == nil || !reflect.DeepEqual(got.Inputs, []string{"a", "b"}) || got.Out != "p" {
		t.Errorf("--data and --out-dir: %+v %v", got, err)
	}
	got = nil
	if err := parse(t, testApp().newPredictCmd(stop), "--model", "m"); err == nil || got != nil || !strings.Contains(err.Error(), "--data") {
		t.Errorf("missing flags: %v (run reached: %v)", err, got != nil)
	}
	got = nil
	if err := parse(t, testApp().newPredictCmd(stop), "--model", "m", "--data", "a", "--out-dir", "p", "--on", "kube", "--shards", "4", "--namespace", "ml", "--image", "r:1", "--kueue", "--indexes", "1,3"); err != nil ||
		got.On != "kube" || got.Shards != 4 || got.Kube.namespace != "ml" || got.Kube.image != "r:1" || !got.Kube.kueue || !reflect.DeepEqual(got.Indexes, []int{1, 3}) {
		t.Errorf("--on kube flags: %+v %v", got, err)
	}
}

func TestTrainReentryOptions(t *testing.T) {
	var got *trainReentryOptions
	stop := func(_ context.Context, o *trainReentryOptions) error { got = o; return nil }
	if err := parse(t, testApp().newTrainReentryCmd(stop), "--data", "d", "--out", "m", "--model", "lstm", "--epochs", "7", "--window", "64", "--lr", "0.01"); err != nil {
		t.Fatal(err)
	}
	if got.cfg.LSTM == nil || got.cfg.LSTM.Epochs != 7 || got.cfg.LSTM.Window != 64 || got.cfg.LSTM.LR != 0.01 || got.cfg.Variant != "" {
		t.Errorf("config %+v lstm %+v", got.cfg, got.cfg.LSTM)
	}
	if err := parse(t, testApp().newTrainReentryCmd(stop), "--data", "d", "--out", "m", "--model", "lstm", "--dropout", "0.2", "--batch-norm", "--early-stop-patience", "8"); err != nil {
		t.Fatal(err)
	}
	if l := got.cfg.LSTM; l.Dropout != 0.2 || !l.BatchNorm || l.Patience != 8 || l.HoldoutFrac != 0 {
		t.Errorf("options: %+v", l)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", "d", "--out", "m", "--model", "lstm", "--window", "8"}, "window_steps"},
		{[]string{"--data", "d", "--out", "m", "--model", "lstm", "--layers", "1", "--dropout", "0.3"}, "dropout"},
		{[]string{"--data", "d", "--out", "m", "--model", "lstm", "--early-stop-frac", "0.2"}, "early_stop_frac"},
		{[]string{"--data", "d", "--out", "m", "--model", "lstm", "--layers", "1", "--batch-norm"}, "batch_norm"},
		{[]string{"--data", "d", "--out", "m", "--variant", "C"}, "--variant"},
		{[]string{"--data", "d", "--out", "m", "--model", "gbdt"}, "available:"},
		{[]string{"--out", "m"}, "--data"},
	} {
		got = nil
		if err := parse(t, testApp().newTrainReentryCmd(stop), c.args...); err == nil || got != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q before any work", c.args, err, c.want)
		}
	}
}

func TestTrainTabularAndCompareOptions(t *testing.T) {
	var tt *trainTabularOptions
	if err := parse(t, testApp().newTrainTabularCmd(func(_ context.Context, o *trainTabularOptions) error { tt = o; return nil }),
		"--data", "t.csv", "--target", "y", "--model", "fcn", "--lr", "0.002", "--search", "5", "--cv", "3x2"); err != nil {
		t.Fatal(err)
	}
	if tt.kind != "fcn" || tt.nSearch != 5 || tt.folds.cv != "3x2" || tt.specs.lr != 0.002 || !tt.changed("lr") || tt.changed("trees") {
		t.Errorf("train tabular options %+v", tt)
	}
	var co *compareOptions
	stop := func(_ context.Context, o *compareOptions) error { co = o; return nil }
	if err := parse(t, testApp().newCompareCmd(stop), "--data", "t.csv", "--target", "y", "--policy", "constraint", "--constraint", "recall[m]>=0.9", "--maximize", "precision[m]"); err != nil {
		t.Fatal(err)
	}
	if co.models != "logistic,gbdt,fcn" || co.folds.cv != "5x3" || co.policies != "constraint" {
		t.Errorf("compare defaults %+v", co)
	}
	co = nil
	if err := parse(t, testApp().newCompareCmd(stop), "--models", "gbdt"); err == nil || co != nil {
		t.Errorf("one model: %v", err)
	}
	// A misspelt metric or policy term is refused before any data is read.
	for _, args := range [][]string{
		{"--policy", "constraint", "--constraint", "recal[m]>=0.9", "--maximize", "precision[m]"},
		{"--policy", "primary", "--metric", "roc-auc"},
		{"--policy", "wins", "--metric", "acuracy"},
		{"--policy", "constraint", "--constraint", "recall[m]>=0.9"},
	} {
		co = nil
		if err := parse(t, testApp().newCompareCmd(stop), append([]string{"--data", "t.csv"}, args...)...); err == nil || co != nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

func TestEvalOptions(t *testing.T) {
	var got *evalOptions
	stop := func(_ context.Context, o *evalOptions) error { got = o; return nil }
	if err := parse(t, testApp().newEvalCmd(stop), "--model", "m", "--data", "d"); err != nil || got.threshold != 0 {
		t.Errorf("default threshold: %v %v (0: the model's)", got, err)
	}
	if err := parse(t, testApp().newEvalCmd(stop), "--model", "m", "--data", "d", "--threshold", "0.3"); err != nil || got.threshold != 0.3 {
		t.Errorf("--threshold 0.3: %v %v", got, err)
	}
	got = nil
	if err := parse(t, testApp().newEvalCmd(stop), "--model", "m", "--data", "d", "--threshold", "1.5"); err == nil || got != nil {
		t.Errorf("--threshold 1.5: %v", err)
	}
}

// Flags carry the parameter names of pipelines and model files; the older
// spellings still parse to the same settings.
func TestFlagNamesAndAliases(t *testing.T) {
	var got *trainReentryOptions
	stop := func(_ context.Context, o *trainReentryOptions) error { got = o; return nil }
	for _, args := range [][]string{
		{"--window-steps", "64", "--max-lr", "0.01", "--augment-sigma-m", "5"},
		{"--window", "64", "--lr", "0.01", "--augment-sigma", "5"},
	} {
		all := append([]string{"--data", "d", "--out", "m", "--model", "lstm"}, args...)
		if err := parse(t, testApp().newTrainReentryCmd(stop), all...); err != nil {
			t.Fatal(err)
		}
		if l := got.cfg.LSTM; l.Window != 64 || l.LR != 0.01 || l.AugmentSigma != 5 {
			t.Errorf("%v: %+v", args, l)
		}
	}
	var tt *trainTabularOptions
	stopT := func(_ context.Context, o *trainTabularOptions) error { tt = o; return nil }
	for _, c := range []struct {
		args      []string
		gbdt, fcn float64
		logisticC float64
	}{
		{[]string{"--learning-rate", "0.05", "--lr", "0.002", "--c", "3"}, 0.05, 0.002, 3},
		{[]string{"--lr", "0.2", "--C", "3"}, 0.2, 0.2, 3}, // --lr alone: both, as before
		{nil, 0.1, 0.001, 1},
	} {
		args := append([]string{"--data", "t.csv", "--target", "y"}, c.args...)
		if err := parse(t, testApp().newTrainTabularCmd(stopT), args...); err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"gbdt", "fcn", "logistic"} {
			sp, err := tt.specs.spec(tt.changed, kind, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if kind == "gbdt" && sp.GBDT.LearningRate != c.gbdt || kind == "fcn" && sp.FCN.LR != c.fcn || kind == "logistic" && sp.Logistic.C != c.logisticC {
				t.Errorf("%v: %s spec %+v", c.args, kind, sp)
			}
		}
	}
}

func TestRunAndGenOptions(t *testing.T) {
	var ro *runOptions
	stop := func(_ context.Context, o *runOptions) error { ro = o; return nil }
	if err := parse(t, testApp().newRunCmd(stop), "-f", "../../examples/tumor/pipeline.yaml", "--no-cache"); err != nil {
		t.Fatal(err)
	}
	if ro.spec == nil || !ro.spec.Tabular() || !ro.noCache {
		t.Errorf("run options %+v", ro)
	}
	// A bad file fails while parsing: nothing runs, nothing opens a store.
	ro = nil
	if err := parse(t, testApp().newRunCmd(stop), "-f", "../../pipeline/testdata/bad/unknown_key.yaml"); err == nil || ro != nil || !strings.Contains(err.Error(), "tagret") {
		t.Errorf("bad pipeline: %v", err)
	}
	var g *genReentryOptions
	if err := parse(t, testApp().newGenReentryCmd(func(_ context.Context, o *genReentryOptions) error { g = o; return nil }),
		"--out", "d", "--count", "12", "--seed", "3", "--variant", "B", "--horizons", "2,5"); err != nil {
		t.Fatal(err)
	}
	if g.cfg.Count != 12 || g.cfg.Seed != 3 || g.cfg.Variant != "B" || !reflect.DeepEqual(g.cfg.Horizons, []float64{2, 5}) || g.out != "d" {
		t.Errorf("gen options %+v", g.cfg)
	}
}

func TestRunsListAndRegisterOptions(t *testing.T) {
	var lo *runsListOptions
	stop := func(_ context.Context, o *runsListOptions) error { lo = o; return nil }
	if err := parse(t, testApp().newRunsListCmd(stop), "--sort", "metric:roc_auc:desc", "--status", "succeeded", "--team", "tumor", "--limit", "5"); err != nil {
		t.Fatal(err)
	}
	if q := lo.q; q.SortMetric != "roc_auc" || !q.Desc || q.Status != "succeeded" || q.Team != "tumor" || q.Limit != 5 {
		t.Errorf("query %+v", q)
	}
	for _, bad := range [][]string{{"--sort", "roc_auc"}, {"--status", "done"}} {
		lo = nil
		if err := parse(t, testApp().newRunsListCmd(stop), bad...); err == nil || lo != nil {
			t.Errorf("%v accepted", bad)
		}
	}
	var req *pipeline.CheckpointRequest
	stopR := func(_ context.Context, r *pipeline.CheckpointRequest) error { req = r; return nil }
	if err := parse(t, testApp().newRegisterCheckpointCmd(stopR), "reentry", "--run", "abc", "--checkpoint", "30"); err != nil {
		t.Fatal(err)
	}
	if req.Model != "reentry" || req.RunID != "abc" || req.Checkpoint != "checkpoint/epoch-0030" {
		t.Errorf("request %+v", req)
	}
	req = nil
	if err := parse(t, testApp().newRegisterCheckpointCmd(stopR), "reentry", "--run", "abc", "--checkpoint", "30", "--alias", "champion"); err == nil || req != nil || !strings.Contains(err.Error(), "--reason") {
		t.Errorf("alias without a reason: %v", err)
	}
}

func TestPromoteAndInspectOptions(t *testing.T) {
	var po *promoteOptions
	stop := func(_ context.Context, o *promoteOptions) error { po = o; return nil }
	if err := parse(t, testApp().newPromoteCmd(stop), "tumor:3", "--alias", "champion", "--reason", "review"); err != nil {
		t.Fatal(err)
	}
	if po.ref.Name != "tumor" || po.ref.Version != 3 || po.alias != "champion" || po.reason != "review" {
		t.Errorf("promote %+v", po)
	}
	for _, bad := range [][]string{{"tumor@champion", "--alias", "x", "--reason", "y"}, {"tumor:3", "--alias", "x"}, {"tumor", "--alias", "x", "--reason", "y"}} {
		po = nil
		if err := parse(t, testApp().newPromoteCmd(stop), bad...); err == nil || po != nil {
			t.Errorf("%v accepted", bad)
		}
	}
	var ins *inspectOptions
	stopI := func(_ context.Context, o *inspectOptions) error { ins = o; return nil }
	if err := parse(t, testApp().newInspectCmd(stopI), "t.csv", "--on-error", "set-aside", "--type", "zip=categorical"); err != nil {
		t.Fatal(err)
	}
	if ins.path != "t.csv" || ins.table.onError != "set-aside" || !reflect.DeepEqual(ins.table.types, []string{"zip=categorical"}) {
		t.Errorf("inspect %+v", ins)
	}
	for _, bad := range [][]string{{"t.csv", "--on-error", "skip"}, {"t.csv", "--type", "zip"}} {
		ins = nil
		if err := parse(t, testApp().newInspectCmd(stopI), bad...); err == nil || ins != nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestHelpHasNoDoubledDefaults: cobra prints a flag's default after its
// usage, so a usage that states one too would say it twice, possibly
// contradicting itself (issue 12: --home said both $RECKON_HOME and
// ".reckon").
func TestHelpHasNoDoubledDefaults(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			zero := map[string]bool{"": true, "false": true, "0": true, "[]": true, "0s": true}
			if strings.Contains(f.Usage, "(default") && !zero[f.DefValue] {
				t.Errorf("%s --%s: usage %q states a default and cobra adds (default %s)", c.CommandPath(), f.Name, f.Usage, f.DefValue)
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(testApp().rootCmd())
}
