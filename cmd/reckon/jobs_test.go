package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/sqlite"
)

func jobsJSON(t *testing.T, home string) []sched.Record {
	t.Helper()
	var jobs []sched.Record
	if err := json.Unmarshal([]byte(mustReckonHome(t, home, "--json", "jobs", "ls")), &jobs); err != nil {
		t.Fatal(err)
	}
	return jobs
}

// attemptsJSON is a job's attempts, from reckon jobs show --json.
func attemptsJSON(t *testing.T, home, id string) []sched.Attempt {
	t.Helper()
	var v struct {
		Attempts []sched.Attempt `json:"attempts"`
	}
	if err := json.Unmarshal([]byte(mustReckonHome(t, home, "--json", "jobs", "show", id)), &v); err != nil {
		t.Fatal(err)
	}
	return v.Attempts
}

// waitIdle waits for a reckon scheduler --exit-when-idle process to
// return, failing with its log when it fails or takes longer than within.
func waitIdle(t *testing.T, s *exec.Cmd, log *bytes.Buffer, within time.Duration) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("scheduler: %v\n%s", err, log.String())
		}
	case <-time.After(within):
		s.Process.Kill()
		<-done
		t.Fatalf("scheduler not idle after %s:\n%s", within, log.String())
	}
}

// TestKillNineSchedulerWhileFourJobsRun (issue 13): kill -9 of the
// scheduler while 4 jobs run, then a restart: every job ends once and only
// once. Each job writes a track file that a second start would refuse to
// overwrite, and the store keeps each job's attempts.
func TestKillNineSchedulerWhileFourJobsRun(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	out := t.TempDir()
	for i := range 4 {
		mustReckonHome(t, home, "jobs", "submit", "--team", fmt.Sprint("team", i%2), "--cpu", "0.5", "--",
			"data", "gen", "reentry", "--count", "30", "--seed", fmt.Sprint(i+1), "--out-dir", filepath.Join(out, fmt.Sprint(i)))
	}
	var log1 bytes.Buffer
	s1 := reckonProcess(t, &log1, "--home", home, "scheduler", "--interval", "50ms", "--lease-ttl", "2s")
	deadline := time.Now().Add(time.Minute)
	for {
		running := 0
		for _, j := range jobsJSON(t, home) {
			if j.State == sched.Running {
				running++
			}
		}
		if running == 4 {
			break
		}
		if time.Now().After(deadline) {
			s1.Process.Kill()
			t.Fatalf("4 jobs not running after a minute:\n%s", log1.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s1.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	s1.Wait()
	for _, j := range jobsJSON(t, home) {
		if j.State.Final() {
			t.Logf("%s already %s when the scheduler was killed: make the jobs longer", j.ID, j.State)
		}
	}
	var log2 bytes.Buffer
	s2 := reckonProcess(t, &log2, "--home", home, "scheduler", "--interval", "50ms", "--exit-when-idle")
	waitIdle(t, s2, &log2, 2*time.Minute)
	for _, j := range jobsJSON(t, home) {
		at := attemptsJSON(t, home, j.ID)
		if j.State != sched.Succeeded || len(at) != 1 || at[0].Outcome != sched.OutcomeSucceeded {
			t.Errorf("%s: %s, attempts %+v; want succeeded in one attempt\n%s", j.ID, j.State, at, mustReckonHome(t, home, "jobs", "logs", j.ID))
		}
		logs := mustReckonHome(t, home, "jobs", "logs", j.ID)
		if strings.Count(logs, "wrote 30 tracks") != 1 {
			t.Errorf("%s's log:\n%s", j.ID, logs)
		}
	}
	for i := range 4 {
		if _, err := os.Stat(filepath.Join(out, fmt.Sprint(i), "tracks.csv")); err != nil {
			t.Error(err)
		}
	}
	t.Logf("first scheduler:\n%s\nrestarted:\n%s", log1.String(), log2.String())
}

// TestJobsSubmitRefusesWhatCouldNeverRun: errors at submission, naming
// what is wrong, and nothing queued by them.
func TestJobsSubmitRefusesWhatCouldNeverRun(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	queues := filepath.Join("..", "..", "sched", "testdata", "queues.yaml")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nteam: tumor\nmodels: [{kind: nope}]\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--queues", queues, "--team", "nobody", "--", "version"}, `team "nobody" has no queue in ` + queues + ` (teams: reentry, tumor, vision, speech)`},
		{[]string{"--queues", queues, "--team", "tumor", "--flavor", "a100", "--", "version"}, `flavor "a100": not one of the queues' flavors (h100)`},
		{[]string{"--queues", queues, "--team", "tumor", "--gpus", "64", "--", "version"}, "more than flavor h100 has in all, so it could never start: 8 GPUs (needs 64, 56 free)"},
		{[]string{"--queues", queues, "--team", "tumor", "--priority", "high", "--", "version"}, `--priority "high": want a number >= 0 or a priority class (low, normal, urgent)`},
		{[]string{"--team", "tumor"}, "nothing to run"},
		{[]string{"--team", "tumor", "--predict"}, "--predict: give reckon predict's arguments after --"},
		{[]string{"-f", bad}, bad},
		{[]string{"--team", "tumor", "version"}, `unexpected argument "version": put the command's arguments after --`},
		{[]string{"--", "version"}, "--team: which team's queue is the job for?"},
	} {
		_, errs, code := reckonHome(t, home, append([]string{"jobs", "submit"}, tc.args...)...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("submit %v: exit %d, %q; want an error with %q", tc.args, code, errs, tc.want)
		}
	}
	if jobs := jobsJSON(t, home); len(jobs) != 0 {
		t.Errorf("refused submissions queued %d jobs", len(jobs))
	}
	// A good one, with a priority class, is explained while it waits.
	mustReckonHome(t, home, "jobs", "submit", "--queues", queues, "--team", "tumor", "--gpus", "56", "--priority", "urgent", "--", "version")
	mustReckonHome(t, home, "jobs", "submit", "--queues", queues, "--team", "tumor", "--gpus", "8", "--", "version")
	why := mustReckonHome(t, home, "jobs", "why", "--queues", queues, "j2")
	if !strings.Contains(why, "j2 is 1st in the queue (1st in team tumor's); h100 short by 8 GPUs (needs 8, 0 free)") {
		t.Errorf("why j2: %s", why)
	}
	if j := jobsJSON(t, home); len(j) != 2 || j[0].Priority != 1000 || j[1].Priority != 100 {
		t.Errorf("jobs %+v", j)
	}
	if got := mustReckonHome(t, home, "jobs", "cancel", "j1", "j2"); got != "j1 cancelled\nj2 cancelled\n" {
		t.Errorf("cancel: %q", got)
	}
	_, errs, code := reckonHome(t, home, "jobs", "cancel", "j1")
	if code != 1 || !strings.Contains(errs, "job j1 is cancelled: job already ended") {
		t.Errorf("second cancel: %d %s", code, errs)
	}
}

const fanPipeline = `name: fan
team: tumor
data:
  name: bcw
  table: bcw.csv
  target: diagnosis
  positive: malignant
split: {cv: 3x1, seed: 1}
models:
  - {name: logistic, kind: logistic}
  - {name: gbdt, kind: gbdt, params: {trees: 30, depth: 3}}
  - {name: shallow, kind: gbdt, params: {trees: 20, depth: 2}}
select: {policy: primary, metric: roc_auc}
register: {model: fan, alias: champion}
`

// fanPipelineRef writes fanPipeline and its table into a directory and
// runs it in-process: the file, and the reference train keys and champion
// bytes a run of it as jobs must reproduce.
func fanPipelineRef(t *testing.T) (pipe string, keys map[string]string, sha string) {
	t.Helper()
	dir := t.TempDir()
	csv, err := os.ReadFile("../../examples/tumor/breast_cancer_wisconsin_clean.csv")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "bcw.csv"), csv, 0o644)
	pipe = filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(pipe, []byte(fanPipeline), 0o644)
	ref := filepath.Join(t.TempDir(), "ref")
	mustReckonHome(t, ref, "run", "-f", pipe)
	keys, sha = trainKeys(t, ref)
	return pipe, keys, sha
}

// trainKeys reads the cache keys of a home's train steps and the
// champion's bytes.
func trainKeys(t *testing.T, home string) (map[string]string, string) {
	t.Helper()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(home, "reckon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	keys := map[string]string{}
	runs, err := s.ListRuns(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if strings.HasPrefix(r.Name, "fan/train/") && r.Status == store.Succeeded {
			if old, dup := keys[r.Name]; dup && old != r.Tags["cache_key"] {
				t.Errorf("%s trained under two keys", r.Name)
			}
			keys[r.Name] = r.Tags["cache_key"]
		}
	}
	v, err := s.Resolve(ctx, "fan", "champion")
	if err != nil {
		t.Fatal(err)
	}
	return keys, v.Artifact.SHA256
}

// TestPipelineJobFansOut (issue 13): a pipeline submitted as a job trains
// its candidates as parallel child jobs, under the same cache keys, and
// registers the same bytes as reckon run in-process; its selection waits
// for all of them.
func TestPipelineJobFansOut(t *testing.T) {
	pipe, refKeys, refSHA := fanPipelineRef(t)

	home := filepath.Join(t.TempDir(), "home")
	mustReckonHome(t, home, "jobs", "submit", "-f", pipe, "--cpu", "0.5")
	var log bytes.Buffer
	s := reckonProcess(t, &log, "--home", home, "scheduler", "--interval", "50ms", "--exit-when-idle")
	waitIdle(t, s, &log, 3*time.Minute)
	jobs := jobsJSON(t, home)
	if len(jobs) != 4 {
		t.Fatalf("%d jobs, want the pipeline and 3 children:\n%s", len(jobs), mustReckonHome(t, home, "jobs", "ls"))
	}
	for _, j := range jobs {
		if j.State != sched.Succeeded {
			t.Errorf("%s (%s): %s: %s\n%s", j.ID, j.Name, j.State, j.Message, mustReckonHome(t, home, "jobs", "logs", j.ID))
		}
		if j.ID != "j1" && (j.Parent != "j1" || !strings.HasPrefix(j.Name, "fan/")) {
			t.Errorf("%s: parent %q name %q, want a child of j1", j.ID, j.Parent, j.Name)
		}
	}
	keys, sha := trainKeys(t, home)
	if len(keys) != 3 || fmt.Sprint(keys) != fmt.Sprint(refKeys) {
		t.Errorf("train keys %v, in-process %v", keys, refKeys)
	}
	if sha != refSHA {
		t.Errorf("registered %s, in-process %s", sha, refSHA)
	}
	parentLog := mustReckonHome(t, home, "jobs", "logs", "j1")
	if !strings.Contains(parentLog, "training logistic, gbdt, shallow as parallel jobs") || strings.Count(parentLog, "cached: reused") < 3 {
		t.Errorf("parent's log:\n%s", parentLog)
	}
}

// TestShardedPredictionJob: --predict --shards 3 runs three shard jobs
// and merges them: every record once.
func TestShardedPredictionJob(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	csv := "../../examples/tumor/breast_cancer_wisconsin_clean.csv"
	model := filepath.Join(dir, "m.rkm")
	mustReckonHome(t, home, "train", "tabular", "--data", csv, "--target", "diagnosis", "--positive", "malignant", "--kind", "logistic", "--out", model)
	abs, _ := filepath.Abs(csv)
	preds := filepath.Join(dir, "preds")
	mustReckonHome(t, home, "jobs", "submit", "--team", "tumor", "--predict", "--shards", "3", "--cpu", "0.5", "--",
		"--model", model, "--data", abs, "--out-dir", preds, "--workers", "1")
	var log bytes.Buffer
	s := reckonProcess(t, &log, "--home", home, "scheduler", "--interval", "50ms", "--exit-when-idle")
	waitIdle(t, s, &log, 3*time.Minute)
	jobs := jobsJSON(t, home)
	if len(jobs) != 4 {
		t.Fatalf("%d jobs, want the prediction and 3 shards", len(jobs))
	}
	for _, j := range jobs {
		if j.State != sched.Succeeded {
			t.Errorf("%s %s: %s", j.ID, j.State, j.Message)
		}
	}
	out := mustReckonHome(t, home, "jobs", "logs", "j1")
	if !strings.Contains(out, "merged 3 shard jobs: 569 records, 569 predicted, 0 failed") {
		t.Errorf("parent's log:\n%s", out)
	}
	show := mustReckonHome(t, home, "jobs", "show", "j1")
	for _, c := range []string{"child j2: predict/shard-0-of-3, succeeded", "child j4: predict/shard-2-of-3, succeeded"} {
		if !strings.Contains(show, c) {
			t.Errorf("jobs show j1 lacks %q:\n%s", c, show)
		}
	}
	_, errs, code := reckonHome(t, home, "jobs", "submit", "--team", "tumor", "--predict", "--shards", "2", "--", "--model", model, "--data", abs, "--out-dir", preds, "--shard", "0/2")
	if code == 0 || !strings.Contains(errs, "leave --shard out") {
		t.Errorf("shard flag with --shards: %d %s", code, errs)
	}
}

// TestCalibrationPreemptedPipelineResumes (issue 13; trains an LSTM, so
// outside -short): team a's pipeline job borrows team b's CPU; when b
// submits, the job training a's LSTM candidate is preempted (SIGTERM), goes
// back to the queue with its attempt kept, and its next attempt resumes
// from the LSTM's last checkpoint; the pipeline then selects and registers.
func TestCalibrationPreemptedPipelineResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains an LSTM; runs outside -short")
	}
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	pipe := filepath.Join(dir, "pipeline.yaml")
	os.WriteFile(pipe, []byte(killPipeline), 0o644)
	queues := filepath.Join(dir, "queues.yaml")
	os.WriteFile(queues, []byte("flavors: [cpu]\nteams:\n  - {name: a, nominal: {cpu: {cpu: 1}}}\n  - {name: b, nominal: {cpu: {cpu: 1}}}\n"), 0o644)
	mustReckonHome(t, home, "jobs", "submit", "--queues", queues, "-f", pipe, "--team", "a", "--cpu", "2")
	var log bytes.Buffer
	s := reckonProcess(t, &log, "--home", home, "scheduler", "--queues", queues, "--interval", "100ms", "--exit-when-idle")
	db := filepath.Join(home, "reckon.db")
	deadline := time.Now().Add(3 * time.Minute)
	for checkpoints(t, db) < 2 {
		if time.Now().After(deadline) {
			s.Process.Kill()
			t.Fatalf("no LSTM checkpoint within 3 minutes:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	mustReckonHome(t, home, "jobs", "submit", "--queues", queues, "--team", "b", "--", "version")
	waitIdle(t, s, &log, 5*time.Minute)
	var child sched.Record
	for _, j := range jobsJSON(t, home) {
		if j.State != sched.Succeeded {
			t.Errorf("%s (%s): %s: %s", j.ID, j.Name, j.State, j.Message)
		}
		if j.Parent == "j1" {
			child = j
		}
	}
	if at := attemptsJSON(t, home, child.ID); len(at) != 2 || at[0].Outcome != sched.OutcomePreempted || at[1].Outcome != sched.OutcomeSucceeded {
		t.Fatalf("the LSTM's job %s: attempts %+v, want preempted then succeeded\n%s", child.ID, at, log.String())
	}
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, _ := st.ListRuns(t.Context(), store.Query{Name: "kill/train/lstm", Status: store.Succeeded})
	if len(runs) != 1 || runs[0].Tags["resumed_from"] == "" {
		t.Errorf("the LSTM's second attempt did not resume from a checkpoint: %+v", runs)
	}
	if _, err := st.Resolve(t.Context(), "reentry", "champion"); err != nil {
		t.Errorf("the pipeline registered nothing: %v", err)
	}
	t.Logf("scheduler:\n%s", log.String())
}
