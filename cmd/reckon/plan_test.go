package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPlanReference: the reference scenario through the CLI, with the JSON
// keys the issue names and both chart files written.
func TestPlanReference(t *testing.T) {
	dir := t.TempDir()
	gantt := filepath.Join(dir, "plan.png")
	out := mustReckon(t, "--json", "plan", "--teams", "4", "--runs-per-week", "2", "--cpu-hours", "100",
		"--gpu-speedup", "6", "--gpus-per-vm", "8", "--max-vms", "7", "--gantt", gantt)
	var res struct {
		MakespanH   float64 `json:"makespan_h"`
		LowerBoundH float64 `json:"lower_bound_h"`
		VMHours     float64 `json:"vm_hours"`
		Runs        []struct {
			Team   string  `json:"team"`
			Run    int     `json:"run"`
			VMs    int     `json:"vms"`
			StartH float64 `json:"start_h"`
			EndH   float64 `json:"end_h"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.LowerBoundH-2.380952) > 1e-5 || res.MakespanH > 1.01*res.LowerBoundH || len(res.Runs) != 8 || res.Runs[0].Team == "" || res.Runs[0].VMs < 1 {
		t.Errorf("plan %+v", res)
	}
	for _, f := range []string{gantt, filepath.Join(dir, "plan.svg")} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, stderr, code := reckon(t, "plan", "--scaling-efficiency", "1.2"); code != 1 || stderr == "" {
		t.Errorf("efficiency 1.2: exit %d %s", code, stderr)
	}
}

// TestQueuesCLI: the default queue, a queues file (JSON, a borrowing limit
// with unlimited resources as null) and a mistake named with file:line.
func TestQueuesCLI(t *testing.T) {
	if out := mustReckon(t, "queues"); !strings.Contains(out, "default") {
		t.Errorf("default queues:\n%s", out)
	}
	var q struct {
		Teams []struct {
			Name      string                    `json:"name"`
			Borrowing map[string]map[string]any `json:"borrowing"`
		} `json:"teams"`
	}
	if err := json.Unmarshal([]byte(mustReckon(t, "--json", "queues", "-f", "../../sched/testdata/queues.yaml")), &q); err != nil || len(q.Teams) != 4 || q.Teams[0].Borrowing["h100"]["gpus"] != 28.0 || q.Teams[0].Borrowing["h100"]["cpu"] != nil {
		t.Errorf("queues JSON %+v %v", q, err)
	}
	bad := filepath.Join(t.TempDir(), "q.yaml")
	os.WriteFile(bad, []byte("flavors: [h100]\nteams:\n  - name: a\n    nominal: {a100: {gpus: 8}}\n"), 0o600)
	if _, stderr, code := reckon(t, "queues", "-f", bad); code != 1 || !strings.Contains(stderr, bad+":4:") {
		t.Errorf("bad queues file: exit %d %s", code, stderr)
	}
}

func TestPlanScenarioAndSimulate(t *testing.T) {
	var p struct {
		Makespan float64 `json:"makespan_h"`
		Runs     []struct {
			Team string `json:"team"`
		} `json:"runs"`
	}
	out := mustReckon(t, "--json", "plan", "-f", "../../plan/testdata/scenario.yaml", "--max-vms", "6", "--gantt", "-")
	if err := json.Unmarshal([]byte(out), &p); err != nil || len(p.Runs) != 6 || p.Makespan <= 0 {
		t.Errorf("plan -f: %v\n%s", err, out)
	}
	var sim struct {
		Jain  float64 `json:"jain_index"`
		Teams []struct {
			Team string  `json:"team"`
			GPUH float64 `json:"gpu_hours"`
		} `json:"teams"`
	}
	out = mustReckon(t, "--json", "plan", "--simulate", "-f", "../../sched/testdata/workload.yaml")
	if err := json.Unmarshal([]byte(out), &sim); err != nil || len(sim.Teams) != 4 || sim.Jain <= 0 {
		t.Errorf("plan --simulate: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", "--simulate"}, "--simulate: give the workload with -f"},
		{[]string{"plan", "--simulate", "-f", "../../sched/testdata/workload.yaml", "--max-vms", "3"}, "--max-vms: a simulation takes its teams and pool from the workload's queues file"},
		{[]string{"plan", "-f", "../../plan/testdata/scenario.yaml", "--teams", "3"}, "--teams: the teams come from"},
	} {
		_, errs, code := reckon(t, tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %s", tc.args, code, errs)
		}
	}
}
