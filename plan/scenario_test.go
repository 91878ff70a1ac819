package plan

import (
	"strings"
	"testing"
)

func TestLoadScenario(t *testing.T) {
	s, err := LoadScenario("testdata/scenario.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Teams) != 3 || s.Teams[1] != (Team{Name: "tumor", Runs: 3, CPUHours: 40}) || s.Efficiency != 0.9 || s.MaxVMs != 7 {
		t.Errorf("scenario %+v", s)
	}
}

func TestScenarioErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"gpu_speedup: 6\ngpus_per_vm: 8\nmax_vms: 7\nteams:\n  - {name: a, runs: 1, cpu_hours: 10}\n  - {name: a, runs: 1, cpu_hours: 10}\n", `s.yaml:6: team "a" again (first at teams[0])`},
		{"gpu_speedup: 6\ngpus_per_vm: 8\nmax_vms: 7\nteams:\n  - {name: a, runs: 1, cpu_hours: 0}\n", "s.yaml:5: team a: want runs >= 0 and cpu_hours > 0"},
		{"gpu_speedup: 6\ngpus_per_vm: 8\nteams:\n  - {name: a, runs: 1, cpu_hours: 1}\n", "s.yaml:1: max_vms is required"},
		{"gpu_speedup: 6\ngpus_per_vm: 8\nmax_vms: 7\nmax_vm: 2\nteams: []\n", "field max_vm not found"},
		{"gpu_speedup: 6\ngpus_per_vm: 8\nmax_vms: 7\nscaling_efficiency: 1.5\nteams:\n  - {name: a, runs: 1, cpu_hours: 1}\n", "scaling efficiency must be in (0, 1]"},
	} {
		_, err := DecodeScenario("s.yaml", strings.NewReader(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
