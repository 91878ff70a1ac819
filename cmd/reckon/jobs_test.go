package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/sched"
)

func jobsJSON(t *testing.T, home string) []sched.Record {
	t.Helper()
	var jobs []sched.Record
	if err := json.Unmarshal([]byte(mustReckonHome(t, home, "--json", "jobs", "ls")), &jobs); err != nil {
		t.Fatal(err)
	}
	return jobs
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
	done := make(chan error, 1)
	go func() { done <- s2.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("restarted scheduler: %v\n%s", err, log2.String())
		}
	case <-time.After(2 * time.Minute):
		s2.Process.Kill()
		t.Fatalf("restarted scheduler not idle after 2 minutes:\n%s", log2.String())
	}
	for _, j := range jobsJSON(t, home) {
		show := mustReckonHome(t, home, "--json", "jobs", "show", j.ID)
		var v struct {
			Attempts []sched.Attempt `json:"attempts"`
		}
		if err := json.Unmarshal([]byte(show), &v); err != nil {
			t.Fatal(err)
		}
		if j.State != sched.Succeeded || len(v.Attempts) != 1 || v.Attempts[0].Outcome != sched.OutcomeSucceeded {
			t.Errorf("%s: %s, attempts %+v; want succeeded in one attempt\n%s", j.ID, j.State, v.Attempts, mustReckonHome(t, home, "jobs", "logs", j.ID))
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
