package pipeline

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/sqlite"
)

func tumorSpec(t *testing.T, models string, extra string) *Spec {
	t.Helper()
	y := `name: tumor
team: t
data: {name: bcw, table: "embedded:tumor", target: diagnosis, positive: malignant}
split: {cv: 3x1, seed: 1}
` + extra + `models:
` + models + `select: {policy: primary, metric: roc_auc}
register: {model: tumor}
`
	s, err := Decode("test.yaml", strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	weakGBDT = "  - {name: gbdt, kind: gbdt, params: {trees: 2, depth: 1}}\n"
	logistic = "  - {name: logistic, kind: logistic}\n"
)

func testEnv(t *testing.T) Env {
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "reckon.db"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := blobs.Open(context.Background(), filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); b.Close() })
	return Env{Store: s, Blobs: b, Code: "test", User: "ada", DataDir: filepath.Join(dir, "data")}
}

func mustRun(t *testing.T, env Env, s *Spec) *Result {
	t.Helper()
	var log bytes.Buffer
	env.Log = &log
	r, err := Run(context.Background(), env, s)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return r
}

func cachedSteps(r *Result) (cached, ran []string) {
	for _, s := range r.Steps {
		if s.Cached {
			cached = append(cached, s.Name)
		} else {
			ran = append(ran, s.Name)
		}
	}
	return
}

// TestChampionLifecycle walks the registry through the cases selection
// must get right: no champion yet, a newcomer beating the champion, the
// champion beating a newcomer (registered without the alias, with the
// reason), unchanged re-runs (every step cached, nothing registered twice)
// and --no-cache (every step runs, same bytes).
func TestChampionLifecycle(t *testing.T) {
	ctx := context.Background()
	env := testEnv(t)

	// A: the first model takes the alias.
	a := mustRun(t, env, tumorSpec(t, weakGBDT, ""))
	if a.Registered.Version != 1 || !a.AliasMoved || a.Champion != nil || a.Action != "registered" {
		t.Fatalf("A: %+v", a)
	}
	// B: logistic regression beats the champion (its recipe retrained on
	// the same folds) and takes the alias.
	b := mustRun(t, env, tumorSpec(t, logistic, ""))
	if b.Champion == nil || b.Champion.Version != 1 || b.Winner != "logistic" || b.Registered.Version != 2 || !b.AliasMoved {
		t.Fatalf("B: winner %s, registered %d, moved %v, champion %+v", b.Winner, b.Registered.Version, b.AliasMoved, b.Champion)
	}
	if len(b.Candidates) != 2 || !b.Candidates[1].Champion || b.Candidates[1].Metrics["roc_auc"] >= b.Candidates[0].Metrics["roc_auc"] {
		t.Errorf("B candidates: %+v", b.Candidates)
	}
	// C: the weak trees again: training is cached, the champion (v2) wins,
	// and those bytes are already v1: nothing new, the alias stays.
	c := mustRun(t, env, tumorSpec(t, weakGBDT, ""))
	if c.Winner != "tumor:2 (logistic)" || c.AliasMoved || c.Action != "already registered" || c.Registered.Version != 1 {
		t.Errorf("C: winner %s, moved %v, %s v%d", c.Winner, c.AliasMoved, c.Action, c.Registered.Version)
	}
	if cached, _ := cachedSteps(c); !strings.Contains(strings.Join(cached, ","), "train/gbdt") {
		t.Errorf("C re-trained the cached model: cached %v", cached)
	}
	// D: B unchanged: every step cached, selection too (the champion is
	// B's own model, so the one it replaced stands in, as in B); already
	// the champion, no new alias move.
	d := mustRun(t, env, tumorSpec(t, logistic, ""))
	if _, ran := cachedSteps(d); len(ran) != 0 || d.AliasMoved || d.Action != "already registered" || d.Registered.Version != 2 {
		t.Errorf("D: ran %v, %s v%d, moved %v", ran, d.Action, d.Registered.Version, d.AliasMoved)
	}
	// D2: and again: now nothing at all changed, every step is cached.
	d2 := mustRun(t, env, tumorSpec(t, logistic, ""))
	if _, ran := cachedSteps(d2); len(ran) != 0 {
		t.Errorf("D2 ran %v", ran)
	}
	// E: --no-cache runs every step and reproduces the same bytes.
	env.NoCache = true
	e := mustRun(t, env, tumorSpec(t, logistic, ""))
	env.NoCache = false
	if cached, _ := cachedSteps(e); len(cached) != 0 || e.Registered.Version != 2 || e.Action != "already registered" {
		t.Errorf("E: cached %v, %s v%d", cached, e.Action, e.Registered.Version)
	}
	// F: other features (a column left out) change the data and every
	// step after it.
	f := mustRun(t, env, tumorSpec(t, logistic, "features: {exclude: [mean_radius]}\n"))
	if cached, _ := cachedSteps(f); len(cached) != 0 || f.Data.Hash == a.Data.Hash {
		t.Errorf("F: cached %v with other features", cached)
	}
	// G: a weaker newcomer against the champion is registered without the
	// alias; its note and the run say why.
	g := mustRun(t, env, tumorSpec(t, "  - {name: gbdt3, kind: gbdt, params: {trees: 3, depth: 1}}\n", ""))
	if g.AliasMoved || g.Action != "registered" || g.Registered.Version != 4 || !strings.Contains(g.Registered.Note, "stays champion") {
		t.Errorf("G: %s v%d moved %v note %q", g.Action, g.Registered.Version, g.AliasMoved, g.Registered.Note)
	}

	m, err := env.Store.GetModel(ctx, "tumor")
	if err != nil || m.Aliases["champion"] != 3 && m.Aliases["champion"] != 2 {
		t.Errorf("model %+v %v", m, err)
	}
	h, _ := env.Store.History(ctx, "tumor")
	if len(h) < 2 || h[0].To != 1 || h[1].From != 1 || h[1].To != 2 || h[1].Who != "ada" || !strings.Contains(h[1].Why, "logistic") {
		t.Errorf("history %+v", h)
	}
	// Every version's run succeeded and every step run hangs off a
	// pipeline run.
	vs, _ := env.Store.Versions(ctx, "tumor")
	for _, v := range vs {
		r, err := env.Store.GetRun(ctx, v.RunID)
		if err != nil || r.Status != store.Succeeded || r.Parent == "" || r.Inputs["data"] == "" {
			t.Errorf("v%d's run %+v %v", v.Version, r, err)
		}
	}
	runs, _ := env.Store.ListRuns(ctx, store.Query{Name: "pipeline/tumor"})
	if len(runs) != 8 {
		t.Errorf("%d pipeline runs, want 8", len(runs))
	}
	for _, r := range runs {
		if r.Status != store.Succeeded {
			t.Errorf("pipeline run %s: %s", r.ID, r.Status)
		}
	}
}

// TestCancelledStepIsNotCached: Ctrl-C in the middle of a training step
// finishes that step's run and the pipeline's as interrupted, caches and
// registers nothing of it, and keeps the steps finished before it cached.
func TestCancelledStepIsNotCached(t *testing.T) {
	env := testEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel after the first fold of cross-validation.
	env.Progress = func(string, int) (func(int, string), func()) {
		return func(done int, _ string) {
			if done >= 1 {
				cancel()
			}
		}, func() {}
	}
	if _, err := Run(ctx, env, tumorSpec(t, logistic, "")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: %v", err)
	}
	bg := context.Background()
	status := map[string]store.Status{}
	runs, _ := env.Store.ListRuns(bg, store.Query{})
	for _, r := range runs {
		status[r.Name] = r.Status
		if r.Name == "tumor/train/logistic" {
			if _, err := env.Store.GetCache(bg, r.Tags["cache_key"]); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the interrupted step's output is cached: %v", err)
			}
		}
	}
	want := map[string]store.Status{"pipeline/tumor": store.Interrupted, "tumor/features": store.Succeeded,
		"tumor/split": store.Succeeded, "tumor/train/logistic": store.Interrupted}
	if len(status) != len(want) {
		t.Errorf("runs %v, want %v", status, want)
	}
	for n, st := range want {
		if status[n] != st {
			t.Errorf("%s: %s, want %s", n, status[n], st)
		}
	}
	if ms, _ := env.Store.ListModels(bg); len(ms) != 0 {
		t.Errorf("registered %+v", ms)
	}
	// The next run reuses the finished steps.
	r := mustRun(t, testEnv2(env), tumorSpec(t, logistic, ""))
	if cached, _ := cachedSteps(r); len(cached) != 2 || r.Registered.Version != 1 {
		t.Errorf("after the interruption: cached %v, registered v%d", cached, r.Registered.Version)
	}
}

// testEnv2 is env without the cancelling progress hook.
func testEnv2(env Env) Env {
	env.Progress = nil
	return env
}

// TestDamagedBlobsAreHealed: a damaged registered model and a deleted step
// output are cache misses on the next run, which rewrites their identical
// bytes (issue 12: both ran "successfully" while the champion could not be
// loaded, or failed every later run until the file was deleted by hand).
func TestDamagedBlobsAreHealed(t *testing.T) {
	ctx := context.Background()
	env := testEnv(t)
	spec := tumorSpec(t, logistic, "")
	first := mustRun(t, env, spec)
	champ := first.Registered
	dir := filepath.Join(filepath.Dir(env.DataDir), "blobs")
	modelFile := filepath.Join(dir, filepath.FromSlash(champ.Artifact.Key))
	data, err := os.ReadFile(modelFile)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 1
	if err := os.WriteFile(modelFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// The split step's folds: deleted.
	var splitRun string
	for _, s := range first.Steps {
		if s.Name == "split" {
			splitRun = s.RunID
		}
	}
	arts, err := env.Store.Artifacts(ctx, splitRun)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range arts {
		if a.Name != "log" {
			os.Remove(filepath.Join(dir, filepath.FromSlash(a.Key)))
		}
	}
	var log bytes.Buffer
	env.Log = &log
	r, err := Run(ctx, env, spec)
	if err != nil {
		t.Fatalf("re-run over damaged blobs: %v\n%s", err, log.String())
	}
	_, ran := cachedSteps(r)
	if !slices.Contains(ran, "split") || !slices.Contains(ran, "train/logistic") || slices.Contains(ran, "features") {
		t.Errorf("steps run again: %v, want split and train/logistic (their blobs were broken), not features\n%s", ran, log.String())
	}
	if r.Registered.Version != champ.Version || r.Action != "already registered" {
		t.Errorf("re-run registered %s:%d (%s)", r.Registered.Model, r.Registered.Version, r.Action)
	}
	if err := env.Blobs.Check(ctx, champ.Artifact.Key); err != nil {
		t.Errorf("the champion's blob was not repaired: %v", err)
	}
	if !strings.Contains(log.String(), "damaged") || !strings.Contains(log.String(), "missing") {
		t.Errorf("the log does not say what was wrong:\n%s", log.String())
	}
	// Healed: the next run is all cached again.
	if _, ran := cachedSteps(mustRun(t, env, spec)); len(ran) != 0 {
		t.Errorf("after healing, ran %v", ran)
	}
}

// TestMisspeltClassStopsBeforeTraining: a class the target does not have
// in the selection policy stops the run after the features step, before
// any candidate trains, and nothing is registered (issue 12).
func TestMisspeltClassStopsBeforeTraining(t *testing.T) {
	y := `name: tumor
team: t
data: {name: bcw, table: "embedded:tumor", target: diagnosis, positive: malignant}
split: {cv: 3x1, seed: 1}
models:
  - {name: logistic, kind: logistic}
select: {policy: constraint, constraint: "recall[malignent]>=0.97", maximize: "precision[malignant]"}
register: {model: tumor}
`
	s, err := Decode("typo.yaml", strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	env.Log = &bytes.Buffer{}
	_, err = Run(context.Background(), env, s)
	if err == nil || !strings.Contains(err.Error(), `no class "malignent"`) || !strings.Contains(err.Error(), "typo.yaml") {
		t.Fatalf("run with a misspelt class: %v", err)
	}
	noCandidateTrained(t, env)
	if ms, _ := env.Store.ListModels(context.Background()); len(ms) != 0 {
		t.Errorf("registered %+v", ms)
	}
	// A misspelt metric is refused when the file is read.
	bad := strings.Replace(y, `maximize: "precision[malignant]"`, `maximize: "precison[malignant]"`, 1)
	if _, err := Decode("typo.yaml", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "precison") {
		t.Errorf("misspelt metric at load: %v", err)
	}
}

// noCandidateTrained fails t when env's store holds a train/ run.
func noCandidateTrained(t *testing.T, env Env) {
	t.Helper()
	runs, _ := env.Store.ListRuns(context.Background(), store.Query{})
	for _, r := range runs {
		if strings.Contains(r.Name, "train/") {
			t.Errorf("a candidate trained: %s", r.Name)
		}
	}
}

// TestKindThatCannotFitTheTargetStopsBeforeTraining: a ridge regression
// among a classification pipeline's candidates stops the run before the
// first candidate trains, naming the file and the candidate.
func TestKindThatCannotFitTheTargetStopsBeforeTraining(t *testing.T) {
	y := `name: tumor
team: t
data: {name: bcw, table: "embedded:tumor", target: diagnosis, positive: malignant}
split: {cv: 3x1, seed: 1}
models:
  - {name: logistic, kind: logistic}
  - {name: ridge, kind: linear, params: {alpha: 2}}
select: {policy: primary, metric: roc_auc}
register: {model: tumor}
`
	s, err := Decode("ridge.yaml", strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t)
	env.Log = &bytes.Buffer{}
	_, err = Run(context.Background(), env, s)
	if err == nil || !strings.Contains(err.Error(), "ridge.yaml: models[1] (ridge)") || !strings.Contains(err.Error(), "ridge regression") {
		t.Fatalf("run with a ridge candidate on classes: %v", err)
	}
	noCandidateTrained(t, env)
}

// TestCVMetricIsTheMean: a training step's cv/<metric> is the mean over
// the folds, not the last fold's (issue 12), and the per-fold series lie
// under fold/ where summaries leave them out.
func TestCVMetricIsTheMean(t *testing.T) {
	ctx := context.Background()
	env := testEnv(t)
	r := mustRun(t, env, tumorSpec(t, logistic, ""))
	var train string
	for _, s := range r.Steps {
		if s.Name == "train/logistic" {
			train = s.RunID
		}
	}
	run, err := env.Store.GetRun(ctx, train)
	if err != nil {
		t.Fatal(err)
	}
	folds, err := env.Store.Metric(ctx, train, store.FoldPrefix+"roc_auc")
	if err != nil || len(folds) != 3 {
		t.Fatalf("per-fold series: %v %v", folds, err)
	}
	var mean float64
	for _, p := range folds {
		mean += p.Value / 3
	}
	if got := run.Last["cv/roc_auc"]; math.Abs(got-mean) > 1e-12 || math.Abs(run.Last["roc_auc"]-mean) > 1e-12 {
		t.Errorf("cv/roc_auc %v, roc_auc %v; the folds' mean is %v", got, run.Last["roc_auc"], mean)
	}
	if _, ok := run.Last["cv_sd/roc_auc"]; !ok {
		t.Error("no cv_sd/roc_auc")
	}
	for _, row := range store.Diff(run, run).Rows {
		if strings.Contains(row.Key, store.FoldPrefix) {
			t.Errorf("diff shows the per-fold series %s", row.Key)
		}
	}
}

// TestRegressionPipeline: the shipped regression pipeline cross-validates
// ridge, the trees and the network on its folds, ranks them by rmse
// (lowest first) and registers the winner; a second run reuses every step.
// A regression refuses the constraint policy when the target is known.
func TestRegressionPipeline(t *testing.T) {
	s, err := Load("../examples/regression/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Lighter than shipped, for the race detector's sake.
	s.Models[1].Params = map[string]any{"trees": 80}
	s.Models[2].Params = map[string]any{"epochs": 8}
	env := testEnv(t)
	r := mustRun(t, env, s)
	if r.Winner != "gbdt" || len(r.Candidates) != 3 || r.Registered.Version != 1 {
		t.Fatalf("winner %s, candidates %+v, registered %+v", r.Winner, r.Candidates, r.Registered)
	}
	for _, c := range r.Candidates {
		if !(c.Metrics["rmse"] > 0) || c.Metrics["r2"] == 0 {
			t.Errorf("%s: metrics %v", c.Name, c.Metrics)
		}
	}
	again := mustRun(t, env, s)
	for _, st := range again.Steps {
		if !st.Cached {
			t.Errorf("step %s ran again", st.Name)
		}
	}
	s.Select = Select{Policy: "constraint", Constraint: "r2>=0.5", Maximize: "rmse"}
	env.Log = &bytes.Buffer{}
	if _, err := Run(context.Background(), env, s); err == nil || !strings.Contains(err.Error(), "constraint policy") {
		t.Errorf("constraint on a regression: %v", err)
	}
}
