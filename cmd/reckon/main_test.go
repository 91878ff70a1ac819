package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/sched"

	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/pipeline"
	"github.com/reckon-ml/reckon/release"
)

// reckon runs the CLI in-process and returns stdout, stderr and the status.
func reckon(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--home", t.TempDir()}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func mustReckon(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := reckon(t, args...)
	if code != 0 {
		t.Fatalf("reckon %s: exit %d\nstderr: %s", strings.Join(args, " "), code, errs)
	}
	return out
}

func TestVersionJSON(t *testing.T) {
	var v release.Info
	if err := json.Unmarshal([]byte(mustReckon(t, "version", "--json")), &v); err != nil {
		t.Fatal(err)
	}
	if v.Version == "" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("version %+v", v)
	}
	if out := mustReckon(t, "version"); !strings.Contains(out, "commit ") {
		t.Errorf("human version: %q", out)
	}
}

func TestBadGlobalFlags(t *testing.T) {
	if _, errs, code := reckon(t, "--log-format", "xml", "version"); code != 1 || !strings.Contains(errs, "--log-format") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	for _, n := range []string{"tracks.csv", "labels.csv", "meta.json"} {
		x, err1 := os.ReadFile(filepath.Join(a, n))
		y, err2 := os.ReadFile(filepath.Join(b, n))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between %s and %s", n, a, b)
		}
	}
}

func genAndCheck(t *testing.T, small, large int) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "A"), filepath.Join(dir, "B"), filepath.Join(dir, "C")
	n := strconv.Itoa
	mustReckon(t, "data", "gen", "reentry", "--count", n(small), "--seed", "7", "--out", a)
	mustReckon(t, "data", "gen", "reentry", "--count", n(small), "--seed", "7", "--out", b, "--workers", "1")
	sameFiles(t, a, b)
	mustReckon(t, "data", "gen", "reentry", "--count", n(large), "--seed", "7", "--out", c)
	for _, f := range []string{"tracks.csv", "labels.csv"} {
		x, err1 := os.ReadFile(filepath.Join(a, f))
		y, err2 := os.ReadFile(filepath.Join(c, f))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		// An empty smaller file would be a prefix of anything.
		if len(x) == 0 || len(y) <= len(x) {
			t.Fatalf("%s: %d bytes for --count %d, %d for --count %d", f, len(x), small, len(y), large)
		}
		if !bytes.HasPrefix(y, x) {
			t.Errorf("%s of --count %d does not reproduce --count %d", f, large, small)
		}
	}
	var res inspectResult
	if err := json.Unmarshal([]byte(mustReckon(t, "data", "inspect", a, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Kind != "tracks" || res.Tracks.TrackCount != small || res.Tracks.Reentering != small {
		t.Errorf("inspect: kind %s, %+v", res.Kind, res.Tracks)
	}
}

func TestGenDeterministicAndPrefixStable(t *testing.T) { genAndCheck(t, 4, 5) }

// The issue's own acceptance check at full size; not -short because it
// generates 280 tracks.
func TestCalibrationCLIGen90(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 280 tracks; skipped with -short")
	}
	genAndCheck(t, 90, 100)
}

func TestGenRefusesOverwrite(t *testing.T) {
	dir := t.TempDir()
	mustReckon(t, "data", "gen", "reentry", "--count", "1", "--out", dir)
	_, errs, code := reckon(t, "data", "gen", "reentry", "--count", "1", "--out", dir)
	if code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	mustReckon(t, "data", "gen", "reentry", "--count", "1", "--out", dir, "--force")
	if _, errs, code := reckon(t, "data", "gen", "reentry", "--count", "0", "--out", dir); code != 1 || !strings.Contains(errs, "--count") {
		t.Errorf("count 0: exit %d, stderr %q", code, errs)
	}
}

const tumor = "../../examples/tumor/breast_cancer_wisconsin_clean.csv"

func TestInspectTumorJSON(t *testing.T) {
	var res inspectResult
	if err := json.Unmarshal([]byte(mustReckon(t, "data", "inspect", tumor, "--json")), &res); err != nil {
		t.Fatal(err)
	}
	s := res.Table
	if res.Kind != "table" || s.Rows != 569 || s.Target != "diagnosis" || s.ClassBalance["malignant"] != 212 || s.ClassBalance["benign"] != 357 {
		t.Errorf("kind %s rows %d target %s balance %v", res.Kind, s.Rows, s.Target, s.ClassBalance)
	}
	if out := mustReckon(t, "data", "inspect", tumor); !strings.Contains(out, "benign 357") || !strings.Contains(out, "malignant 212") {
		t.Errorf("human output lacks the class balance:\n%s", out)
	}
}

// withBadLine37 copies the tumor CSV with an unparsable number on line 37.
func withBadLine37(t *testing.T) string {
	b, err := os.ReadFile(tumor)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	f := strings.Split(lines[36], ",")
	f[3] = "12O4.5" // a letter O typed for a zero
	lines[36] = strings.Join(f, ",")
	p := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInspectBadLine(t *testing.T) {
	p := withBadLine37(t)
	_, errs, code := reckon(t, "data", "inspect", p)
	if code != 1 || !strings.Contains(errs, "bad.csv:37") || !strings.Contains(errs, `column "mean_area"`) || !strings.Contains(errs, "12O4.5") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}

	errPath := filepath.Join(t.TempDir(), "rows.csv")
	var res inspectResult
	out := mustReckon(t, "data", "inspect", p, "--on-error", "set-aside", "--errors", errPath, "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Table.Rows != 568 || res.Read.SetAside != 1 || res.Errors != errPath {
		t.Errorf("rows %d set aside %d errors file %q", res.Table.Rows, res.Read.SetAside, res.Errors)
	}
	f, err := os.Open(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1][0] != "37" || recs[1][1] != "mean_area" || recs[1][3+3] != "12O4.5" {
		t.Errorf("errors file: %v", recs)
	}

	// Default errors path is under --home.
	home := t.TempDir()
	var out2, errb bytes.Buffer
	if code := run(context.Background(), []string{"--home", home, "data", "inspect", p, "--on-error", "set-aside"}, &out2, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(home, "errors", "bad.errors.csv")); err != nil {
		t.Errorf("default errors file: %v", err)
	}
}

func TestInspectUnknownTarget(t *testing.T) {
	if _, errs, code := reckon(t, "data", "inspect", tumor, "--target", "nope"); code != 1 || !strings.Contains(errs, `"nope"`) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

func TestDemo(t *testing.T) {
	// The demo's jobs run as processes of this test binary, acting as
	// reckon (TestMain).
	t.Setenv("RECKON_TEST_AS_CLI", "1")
	var res demoResult
	if err := json.Unmarshal([]byte(mustReckon(t, "demo", "--count", "10", "--lstm-epochs", "2", "--json")), &res); err != nil {
		t.Fatal(err)
	}
	if res.Reentry == nil || res.Tumor == nil || res.Rerun == nil {
		t.Fatalf("demo: %+v", res)
	}
	if res.Reentry.Data.Rows != 10 || len(res.Reentry.Candidates) != 3 || res.Reentry.Registered.Version != 1 || !res.Reentry.AliasMoved {
		t.Errorf("reentry: %+v", res.Reentry)
	}
	if res.Tumor.Data.Rows != 569 || len(res.Tumor.Candidates) != 3 || res.Tumor.Reason == "" || !res.Tumor.AliasMoved {
		t.Errorf("tumor: %+v", res.Tumor)
	}
	for _, s := range res.Rerun.Steps {
		if !s.Cached {
			t.Errorf("unchanged re-run ran step %s", s.Name)
		}
	}
	if res.Rerun.Action != "already registered" || res.Rerun.AliasMoved {
		t.Errorf("re-run: %s, alias moved %v", res.Rerun.Action, res.Rerun.AliasMoved)
	}
	if len(res.Models) != 2 || len(res.History["tumor"]) != 1 || len(res.Runs) == 0 {
		t.Errorf("registry %+v, history %+v", res.Models, res.History)
	}
	if len(res.Predict) != 2 || res.Predict[0].Manifest.Read != 4 || res.Predict[1].Manifest.Predicted != 569 || len(res.Predict[1].Head) != 4 {
		t.Errorf("demo predictions: %+v", res.Predict)
	}
	if j := res.Jobs; j == nil || len(j.Final) != 2 || j.Final[0].State != sched.Succeeded || j.Final[1].State != sched.Succeeded ||
		j.Waiting != "j2" || !strings.Contains(j.Why, "short by") || len(j.Final[0].Runs) != 1 {
		t.Errorf("demo jobs: %+v", res.Jobs)
	}
	if res.Plan == nil || res.Plan.MakespanH > 1.01*res.Plan.LowerBoundH {
		t.Errorf("demo plan: %+v", res.Plan)
	}
	if _, err := os.Stat(res.Home); !os.IsNotExist(err) {
		t.Errorf("demo left its temporary home %s", res.Home)
	}
}

func writeSeqbin(t *testing.T, n, steps, f int) string {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, [3]int32{int32(n), int32(steps), int32(f)})
	x := make([]float32, n*steps*f)
	for i := range x {
		x[i] = float32(i%7) / 7
	}
	binary.Write(&b, binary.LittleEndian, x)
	binary.Write(&b, binary.LittleEndian, make([]float32, n))
	p := filepath.Join(t.TempDir(), "s.seqbin")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBenchLSTM(t *testing.T) {
	p := writeSeqbin(t, 40, 6, 3)
	var res map[string]any
	out := mustReckon(t, "bench", "lstm", "--data", p, "--epochs", "2", "--hidden", "8", "--batch", "16", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"median_s_per_epoch", "s_per_epoch", "loss_per_epoch", "threads", "engine"} {
		if _, ok := res[k]; !ok {
			t.Errorf("missing JSON key %q (the anchor prints it)", k)
		}
	}
	// A truncated file is refused with its path.
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)-10], 0o644)
	if _, errs, code := reckon(t, "bench", "lstm", "--data", p); code != 1 || !strings.Contains(errs, "truncated") {
		t.Errorf("truncated seqbin: exit %d, %q", code, errs)
	}
}

func TestTrainAndEvalReentry(t *testing.T) {
	dir := t.TempDir()
	data, mpath := filepath.Join(dir, "tracks"), filepath.Join(dir, "b.rkm")
	mustReckon(t, "data", "gen", "reentry", "--count", "10", "--seed", "3", "--out", data)
	var tr trainResult
	if err := json.Unmarshal([]byte(mustReckon(t, "train", "reentry", "--data", data, "--out", mpath, "--json")), &tr); err != nil {
		t.Fatal(err)
	}
	if tr.Train != 8 || tr.Validation.N != 2 || tr.Kind != "baseline-mean-altitude" {
		t.Errorf("train: %+v", tr)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(mustReckon(t, "eval", "--model", mpath, "--data", data, "--json")), &ev); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rmse_s", "mae_s", "max_abs_error_s", "exact_index_rate", "rmse_ci95_s"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("eval JSON lacks %q", k)
		}
	}
	if ev["scope"] != "held-out" || ev["rmse_s"] != tr.Validation.RMSE {
		t.Errorf("eval on the training data: scope %v, rmse %v vs validation %v", ev["scope"], ev["rmse_s"], tr.Validation.RMSE)
	}
	if out := mustReckon(t, "eval", "--model", mpath, "--data", data, "--all"); !strings.Contains(out, "all tracks") || !strings.Contains(out, "tracks 10") {
		t.Errorf("eval --all:\n%s", out)
	}
	// Existing model files are kept; damaged ones are refused.
	if _, errs, code := reckon(t, "train", "reentry", "--data", data, "--out", mpath); code != 1 || !strings.Contains(errs, "--force") {
		t.Errorf("overwrite: exit %d, %q", code, errs)
	}
	b, _ := os.ReadFile(mpath)
	os.WriteFile(mpath, b[:len(b)-5], 0o644)
	if _, errs, code := reckon(t, "eval", "--model", mpath, "--data", data); code != 1 || !strings.Contains(errs, "truncated") {
		t.Errorf("truncated model: exit %d, %q", code, errs)
	}
	if _, errs, code := reckon(t, "train", "reentry", "--data", data, "--out", mpath+"2", "--model", "gbdt"); code != 1 || !strings.Contains(errs, "available: baseline-mean-altitude, physics-fit, lstm") {
		t.Errorf("unknown kind: exit %d, %q", code, errs)
	}
}

// Every kind survives the trip through `train` and `eval` (the model file
// carries both the orchestration's and the kind's configuration).
func TestTrainEvalEveryKind(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "tracks")
	mustReckon(t, "data", "gen", "reentry", "--count", "5", "--seed", "4", "--out", data)
	for _, kind := range []string{"baseline-mean-altitude", "physics-fit", "lstm"} {
		m := filepath.Join(dir, kind+".rkm")
		mustReckon(t, "train", "reentry", "--data", data, "--model", kind, "--epochs", "1", "--out", m)
		var ev map[string]any
		if err := json.Unmarshal([]byte(mustReckon(t, "eval", "--model", m, "--data", data, "--all", "--json")), &ev); err != nil {
			t.Fatal(err)
		}
		if ev["kind"] != kind || ev["n"] != 5.0 {
			t.Errorf("%s: eval %v %v", kind, ev["kind"], ev["n"])
		}
		plots, _ := ev["plots"].([]any)
		if want := map[string]int{"lstm": 3}[kind]; (want > 0 && len(plots) != want) || len(plots) < 2 {
			t.Errorf("%s: figures %v", kind, plots)
		}
		for _, p := range plots {
			if _, err := os.Stat(p.(string)); err != nil {
				t.Errorf("%s: %v", kind, err)
			}
		}
	}
}

func TestVariantBPerHorizon(t *testing.T) {
	dir := t.TempDir()
	data, m := filepath.Join(dir, "b"), filepath.Join(dir, "b.rkm")
	mustReckon(t, "data", "gen", "reentry", "--count", "5", "--variant", "B", "--horizons", "2,60", "--out", data)
	var tr trainResult
	if err := json.Unmarshal([]byte(mustReckon(t, "train", "reentry", "--data", data, "--variant", "B", "--model", "physics-fit", "--out", m, "--json")), &tr); err != nil {
		t.Fatal(err)
	}
	if len(tr.Validation.ByHorizon) != 2 || tr.Validation.ByHorizon[0].Horizon != 2 || tr.Validation.N != 2 {
		t.Errorf("per-horizon scores %+v (n %d)", tr.Validation.ByHorizon, tr.Validation.N)
	}
	// The lstm forecasts too, and the variant is the data's when not
	// given; the wrong one is refused before anything trains.
	var lr trainResult
	if err := json.Unmarshal([]byte(mustReckon(t, "train", "reentry", "--data", data, "--model", "lstm", "--epochs", "2", "--window-steps", "32", "--hidden", "4",
		"--out", m+"2", "--json")), &lr); err != nil {
		t.Fatal(err)
	}
	if len(lr.Validation.ByHorizon) != 2 || lr.Validation.N != 2 {
		t.Errorf("lstm per-horizon scores %+v", lr.Validation.ByHorizon)
	}
	a, err := model.ReadFile(m + "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(a.Header.Hyper), `"variant":"B"`) || !strings.Contains(string(a.Header.State), `"forecast":true`) || a.Header.Metrics["rmse_s[h=60]"] == 0 {
		t.Errorf("lstm forecast file: hyper %s state %s metrics %v", a.Header.Hyper, a.Header.State, a.Header.Metrics)
	}
	if _, errs, code := reckon(t, "train", "reentry", "--data", data, "--variant", "A", "--model", "lstm", "--out", m+"3"); code != 1 || !strings.Contains(errs, "forecast horizon") {
		t.Errorf("variant A on cut tracks: exit %d, %q", code, errs)
	}
}

// TestNotFoundNamesTheStore: a model that is not there is reported with
// the store that was searched (issue 12: "tumor@champion: not found" from
// another directory, with no hint).
func TestNotFoundNamesTheStore(t *testing.T) {
	home := t.TempDir()
	_, stderr, code := reckonHome(t, home, "models", "show", "tumor@champion")
	if code != 1 || !strings.Contains(stderr, "not found") || !strings.Contains(stderr, filepath.Join(home, "reckon.db")) {
		t.Errorf("exit %d: %s", code, stderr)
	}
}

// TestDefaultHomeIsPerUser: without --home or $RECKON_HOME the store is
// the user's, whatever the current directory; a ./.reckon holding a store
// (the old default) is still used.
func TestDefaultHomeIsPerUser(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("RECKON_HOME", "")
	t.Setenv("XDG_DATA_HOME", filepath.Join(dir, "xdg"))
	if h, note := defaultHome(); h != filepath.Join(dir, "xdg", "reckon") || note != "" {
		t.Errorf("default home %q (%q)", h, note)
	}
	os.MkdirAll(".reckon", 0o700)
	os.WriteFile(filepath.Join(".reckon", "reckon.db"), nil, 0o600)
	if h, note := defaultHome(); h != ".reckon" || !strings.Contains(note, "./.reckon") {
		t.Errorf("with an old ./.reckon store: %q (%q)", h, note)
	}
	t.Setenv("RECKON_HOME", "/elsewhere")
	if h, _ := defaultHome(); h != "/elsewhere" {
		t.Errorf("$RECKON_HOME ignored: %q", h)
	}
}

// TestExamplesExtract: the examples come out of the binary whole, their
// pipelines load and resolve their data from the extracted directory, and
// a second extract does not overwrite them.
func TestExamplesExtract(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ex")
	mustReckon(t, "examples", "extract", dir)
	for _, p := range []string{"tumor/pipeline.yaml", "reentry/pipeline.yaml", "forecast/pipeline.yaml", "regression/pipeline.yaml"} {
		s, err := pipeline.Load(filepath.Join(dir, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if s.Tabular() {
			if _, err := s.Resolve("data.table", s.Data.Table, nil); err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "tumor", examples.TumorCSVName))
	if !bytes.Equal(b, examples.TumorCSV) {
		t.Error("extracted table differs from the embedded one")
	}
	if _, stderr, code := reckon(t, "examples", "extract", dir); code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("second extract: exit %d %s", code, stderr)
	}
}
