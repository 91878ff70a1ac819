package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/sqlite"
)

// TestMain lets the test binary be the reckon command for tests that need
// a real process to kill.
func TestMain(m *testing.M) {
	if os.Getenv("RECKON_TEST_AS_CLI") == "1" {
		crashOnce() // a pod of a kube test made to crash
		sleeper()   // or made to run until stopped
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// reckonProcess starts this test binary as reckon with args.
func reckonProcess(t *testing.T, out *bytes.Buffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RECKON_TEST_AS_CLI=1")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// A small reentry pipeline whose only candidate is an LSTM checkpointing
// every epoch, so the registered bytes are the resumed training's.
const killPipeline = `name: kill
team: test
data:
  name: sim
  generate: {count: 14, seed: 3}
split: {test_frac: 0.25}
features: {window: 64}
models:
  - kind: lstm
    params: {epochs: 60, hidden: 6, layers: 1, batch: 4, workers: 2}
select: {policy: primary, metric: rmse_s}
register: {model: reentry, alias: champion}
checkpoint_every: 0s
`

// TestCalibrationKillNineResumes (run by CI with the calibration tests,
// outside the race detector): kill -9 during 'reckon run' leaves the store
// consistent (nothing registered, nothing cached from the unfinished step,
// SQLite intact), the next command marks the dead runs interrupted, and the
// re-run reuses the finished steps, resumes the LSTM from its last
// checkpoint and registers the same bytes as an uninterrupted run.
func TestCalibrationKillNineResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains an LSTM twice; runs outside -short")
	}
	dir := t.TempDir()
	pipe := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(pipe, []byte(killPipeline), 0o644)

	// The reference: an uninterrupted run in a home of its own.
	ref := filepath.Join(dir, "ref")
	mustReckonHome(t, ref, "run", "-f", pipe)
	refModel := filepath.Join(dir, "ref.rkm")
	mustReckonHome(t, ref, "models", "show", "reentry@champion", "--out", refModel)

	home := filepath.Join(dir, "home")
	db := filepath.Join(home, "reckon.db")
	var out bytes.Buffer
	cmd := reckonProcess(t, &out, "--home", home, "run", "-f", pipe)
	// Wait for the LSTM's second checkpoint, then kill -9.
	deadline := time.Now().Add(2 * time.Minute)
	for checkpoints(t, db) < 2 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no checkpoint within 2 minutes:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	t.Logf("killed with %d LSTM checkpoints stored", checkpoints(t, db))

	ctx := context.Background()
	s, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var lstmRun store.Run
	runs, _ := s.ListRuns(ctx, store.Query{})
	for _, r := range runs {
		if r.Name == "kill/train/lstm" {
			lstmRun = r
		}
	}
	if lstmRun.Status != store.Running {
		t.Fatalf("the LSTM step finished (%s) before the kill; the test needs a longer training:\n%s", lstmRun.Status, out.String())
	}
	if ms, _ := s.ListModels(ctx); len(ms) != 0 {
		t.Errorf("a killed run registered %+v", ms)
	}
	if _, err := s.GetCache(ctx, lstmRun.Tags["cache_key"]); err == nil {
		t.Error("the killed step's output is cached")
	}
	s.Close()
	integrity(t, db)

	// The next command (any) marks the dead runs interrupted.
	time.Sleep(1100 * time.Millisecond)
	ls := mustReckonHome(t, home, "--stale-after", "1s", "runs", "ls", "--status", "interrupted")
	if !strings.Contains(ls, "kill/train/lstm") || !strings.Contains(ls, "pipeline/kill") {
		t.Errorf("after the kill, interrupted runs:\n%s", ls)
	}

	// The re-run reuses data, split and features, resumes the LSTM.
	outRun := mustReckonHome(t, home, "--json", "run", "-f", pipe)
	for _, step := range []string{`"name": "data"`, `"name": "split"`, `"name": "features"`} {
		i := strings.Index(outRun, step)
		if i < 0 || !strings.Contains(outRun[i:i+200], `"cached": true`) {
			t.Errorf("re-run did not reuse %s:\n%s", step, outRun)
		}
	}
	s, err = sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	runs, _ = s.ListRuns(ctx, store.Query{Name: "kill/train/lstm", Status: store.Succeeded})
	if len(runs) == 1 {
		pts, _ := s.Metric(ctx, runs[0].ID, "train_loss")
		t.Logf("the re-run trained epochs %d..%d", pts[0].Step, pts[len(pts)-1].Step)
	}
	if len(runs) != 1 || runs[0].Tags["resumed_from"] != lstmRun.ID {
		t.Errorf("the re-run's LSTM step did not resume from run %s: %+v", lstmRun.ID, runs)
	}
	s.Close()
	got := filepath.Join(dir, "got.rkm")
	mustReckonHome(t, home, "models", "show", "reentry@champion", "--out", got)
	a, _ := os.ReadFile(refModel)
	b, _ := os.ReadFile(got)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("registered model after kill -9 and resume (%d bytes) differs from the uninterrupted run's (%d bytes)", len(b), len(a))
	}

	// An earlier checkpoint of the finished run can be registered; one of
	// the killed run cannot.
	reg := mustReckonHome(t, home, "models", "register", "reentry", "--run", runs[0].ID, "--checkpoint", "30", "--alias", "epoch30", "--reason", "earlier")
	if !strings.Contains(reg, "registered reentry:2 (checkpoint/epoch-0030 of run "+runs[0].ID+" (epoch 30 of 60))") || !strings.Contains(reg, "rmse_s") {
		t.Errorf("register checkpoint:\n%s", reg)
	}
	v30 := filepath.Join(dir, "v30.rkm")
	mustReckonHome(t, home, "models", "show", "reentry@epoch30", "--out", v30)
	if ev := mustReckonHome(t, home, "eval", "--model", v30, "--data", runs[0].Tags["data_source"]); !strings.Contains(ev, "RMSE") {
		t.Errorf("eval of the registered checkpoint:\n%s", ev)
	}
	_, errs, code := reckonHome(t, home, "models", "register", "reentry", "--run", lstmRun.ID, "--checkpoint", "2")
	if code != 1 || !strings.Contains(errs, "is interrupted; only checkpoints of runs that succeeded") {
		t.Errorf("registering the killed run's checkpoint: exit %d, %s", code, errs)
	}
}

func reckonHome(t *testing.T, home string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--home", home}, args...), &out, &errb)
	return out.String(), errb.String(), code
}

func mustReckonHome(t *testing.T, home string, args ...string) string {
	t.Helper()
	out, errs, code := reckonHome(t, home, args...)
	if code != 0 {
		t.Fatalf("reckon %s: exit %d\n%s", strings.Join(args, " "), code, errs)
	}
	return out
}

// checkpoints counts the stored LSTM checkpoints (0 while the store does
// not exist yet).
func checkpoints(t *testing.T, db string) int {
	if _, err := os.Stat(db); err != nil {
		return 0
	}
	s, err := sqlite.Open(context.Background(), db)
	if err != nil {
		return 0
	}
	defer s.Close()
	runs, err := s.ListRuns(context.Background(), store.Query{Name: "kill/train/lstm"})
	if err != nil || len(runs) == 0 {
		return 0
	}
	arts, _ := s.Artifacts(context.Background(), runs[0].ID)
	n := 0
	for _, a := range arts {
		if strings.HasPrefix(a.Name, "checkpoint/") {
			n++
		}
	}
	return n
}

// integrity runs SQLite's own consistency check on the file.
func integrity(t *testing.T, db string) {
	t.Helper()
	c, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var res string
	if err := c.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Errorf("integrity_check after kill -9: %q %v", res, err)
	}
}
