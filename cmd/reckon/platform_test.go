package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/blobs/blobstest"
	"github.com/reckon-ml/reckon/pipeline"
	"github.com/reckon-ml/reckon/store/postgres/pgtest"
)

const smallTumor = `name: tumor
team: oncology
data: {name: bcw, table: "embedded:tumor", target: diagnosis, positive: malignant}
split: {cv: 3x1}
models:
  - {name: logistic, kind: logistic}
  - {name: gbdt, kind: gbdt, params: {trees: 5, depth: 2}}
select: {policy: primary, metric: roc_auc}
register: {model: tumor}
`

// TestRunRunsModels drives the registry and runs commands the way a user
// would after 'reckon run'.
func TestRunRunsModels(t *testing.T) {
	home := t.TempDir()
	pipe := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(pipe, []byte(smallTumor), 0o644)

	var res pipeline.Result
	if err := json.Unmarshal([]byte(mustReckonHome(t, home, "--json", "run", "-f", pipe)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Winner != "logistic" || res.Registered.Version != 1 {
		t.Fatalf("run: %+v", res)
	}
	again := mustReckonHome(t, home, "run", "-f", pipe)
	if !strings.Contains(again, "0 run, 5 reused from the cache") || !strings.Contains(again, "already registered tumor:1") {
		t.Errorf("unchanged re-run:\n%s", again)
	}

	ls := mustReckonHome(t, home, "runs", "ls", "--team", "oncology", "--sort", "metric:roc_auc:desc", "--limit", "3")
	lines := strings.Split(strings.TrimSpace(ls), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "tumor/train/logistic") || !strings.Contains(lines[2], "tumor/train/gbdt") {
		t.Errorf("runs ls sorted by roc_auc:\n%s", ls)
	}
	show := mustReckonHome(t, home, "runs", "show", res.Candidates[0].RunID)
	for _, want := range []string{"tumor/train/logistic", "status succeeded", "inputs:", "data = sha256:", "roc_auc", "artifacts:", "model  sha256/"} {
		if !strings.Contains(show, want) {
			t.Errorf("runs show lacks %q:\n%s", want, show)
		}
	}
	diff := mustReckonHome(t, home, "runs", "diff", res.Candidates[0].RunID, res.Candidates[1].RunID)
	if !strings.Contains(diff, "param config") || !strings.Contains(diff, "metric roc_auc") || !strings.Contains(diff, "*") {
		t.Errorf("runs diff:\n%s", diff)
	}

	if out := mustReckonHome(t, home, "data", "versions", "bcw"); !strings.Contains(out, res.Data.Hash) || !strings.Contains(out, "569") {
		t.Errorf("data versions:\n%s", out)
	}
	if out := mustReckonHome(t, home, "models", "ls"); !strings.Contains(out, "champion=1") {
		t.Errorf("models ls:\n%s", out)
	}
	model := filepath.Join(t.TempDir(), "champ.rkm")
	show = mustReckonHome(t, home, "models", "show", "tumor@champion", "--out", model)
	if !strings.Contains(show, "tumor:1  logistic  aliases: champion") {
		t.Errorf("models show:\n%s", show)
	}
	// The exported file is a model eval understands.
	if out := mustReckonHome(t, home, "eval", "--model", model, "--data", "../../examples/tumor/breast_cancer_wisconsin_clean.csv"); !strings.Contains(out, "roc_auc") && !strings.Contains(out, "ROC AUC") {
		t.Errorf("eval of the exported champion:\n%s", out)
	}
	// Every command takes the same references: eval and predict read a bare
	// name (the latest version), an alias or a version from the registry.
	csv := "../../examples/tumor/breast_cancer_wisconsin_clean.csv"
	for _, ref := range []string{"tumor", "tumor@champion", "tumor:1"} {
		if out := mustReckonHome(t, home, "eval", "--model", ref, "--data", csv, "--plots", "-"); !strings.Contains(out, "ROC AUC") {
			t.Errorf("eval --model %s:\n%s", ref, out)
		}
	}
	preds := filepath.Join(t.TempDir(), "preds")
	if out := mustReckonHome(t, home, "predict", "--model", "tumor", "--input", csv, "--out", preds); !strings.Contains(out, "tumor:1: 569 read, 569 predicted, 0 failed") {
		t.Errorf("predict --model tumor:\n%s", out)
	}
	// Drift checks of a registered version are kept against it: predict's
	// and monitor's (issue 15).
	if _, errs, code := reckonHome(t, home, "monitor", "--model", "tumor@champion", "--input", csv); code != 0 || !strings.Contains(errs, "recorded against tumor:1") {
		t.Errorf("monitor --model tumor@champion: exit %d %s", code, errs)
	}
	if out := mustReckonHome(t, home, "monitor", "ls", "tumor"); strings.Count(out, "\n") != 3 || strings.Contains(out, "DRIFT") {
		t.Errorf("monitor ls tumor: want predict's and monitor's checks, no drift:\n%s", out)
	}
	if _, errs, code := reckonHome(t, home, "predict", "--model", "nosuch", "--input", csv, "--out", preds); code != 1 || !strings.Contains(errs, "neither a model file nor a registered model") {
		t.Errorf("predict --model nosuch: exit %d, %q", code, errs)
	}
	mustReckonHome(t, home, "models", "promote", "tumor:1", "--alias", "challenger", "--reason", "keep an eye on it")
	hist := mustReckonHome(t, home, "models", "history", "tumor")
	if !strings.Contains(hist, "challenger") || !strings.Contains(hist, "keep an eye on it") || !strings.Contains(hist, "roc_auc") {
		t.Errorf("history:\n%s", hist)
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"models", "promote", "tumor:1", "--alias", "champion"}, "--reason"},
		{[]string{"models", "promote", "tumor:9", "--alias", "champion", "--reason", "x"}, "tumor:9: not found"},
		{[]string{"models", "promote", "tumor@champion", "--alias", "x", "--reason", "x"}, "NAME:VERSION"},
		{[]string{"models", "show", "nope@champion"}, "not found"},
		{[]string{"runs", "ls", "--sort", "roc_auc"}, "metric:KEY"},
		{[]string{"runs", "ls", "--status", "done"}, "--status"},
		{[]string{"runs", "show", "nope"}, "run nope: not found"},
		{[]string{"run"}, "-f PIPELINE.yaml is required"},
		{[]string{"run", "-f", "../../pipeline/testdata/bad/unknown_key.yaml"}, "tagret"},
	} {
		_, errs, code := reckonHome(t, home, bad.args...)
		if code != 1 || !strings.Contains(errs, bad.want) {
			t.Errorf("reckon %s: exit %d, stderr %q (want %q)", strings.Join(bad.args, " "), code, errs, bad.want)
		}
	}
}

// TestRunOnPostgresAndS3: the same pipeline with the shared back ends, a
// real PostgreSQL and a real S3-compatible server, through the flags a
// team would use; the unchanged re-run is served from the cache there too.
func TestRunOnPostgresAndS3(t *testing.T) {
	dsn := pgtest.Fresh(t)
	s3, dir := blobstest.S3(t)
	home := t.TempDir()
	pipe := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(pipe, []byte(smallTumor), 0o644)
	flags := []string{"--store", dsn, "--blobs", s3}
	first := mustReckonHome(t, home, append(flags, "run", "-f", pipe)...)
	again := mustReckonHome(t, home, append(flags, "run", "-f", pipe)...)
	if !strings.Contains(first, "registered tumor:1") || !strings.Contains(again, "5 reused from the cache") {
		t.Errorf("first:\n%s\nagain:\n%s", first, again)
	}
	model := filepath.Join(t.TempDir(), "m.rkm")
	mustReckonHome(t, home, append(flags, "models", "show", "tumor@champion", "--out", model)...)
	if fi, err := os.Stat(model); err != nil || fi.Size() == 0 {
		t.Errorf("champion from S3: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, "reckon.db")); err == nil {
		t.Error("with --store postgres://, a SQLite file was created in the home")
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "sha256")); len(ents) == 0 {
		t.Error("no blob reached the S3 server")
	}
}
