package plan

import (
	"fmt"
	"io"
	"os"

	"github.com/reckon-ml/reckon/yamlfile"
)

// DecodeScenario reads a scenario.yaml strictly, for teams that differ:
//
//	gpu_speedup: 6
//	gpus_per_vm: 8
//	max_vms: 7
//	scaling_efficiency: 0.9   # optional, 1 = perfect scaling
//	max_vms_per_run: 4        # optional, 0 = max_vms
//	teams:
//	  - {name: reentry, runs: 2, cpu_hours: 100}
//	  - {name: tumor, runs: 3, cpu_hours: 40}
//
// Errors name file:line.
func DecodeScenario(name string, r io.Reader) (Scenario, error) {
	s := Scenario{Efficiency: 1}
	root, err := yamlfile.Decode(name, "scenario", r, &s)
	if err != nil {
		return Scenario{}, err
	}
	at := func(path ...any) string { return fmt.Sprintf("%s:%d", name, yamlfile.Line(root, path...)) }
	seen := map[string]int{}
	for i, t := range s.Teams {
		if t.Name == "" {
			return Scenario{}, fmt.Errorf("%s: teams[%d]: a name is needed", at("teams", i), i)
		}
		if k, dup := seen[t.Name]; dup {
			return Scenario{}, fmt.Errorf("%s: team %q again (first at teams[%d])", at("teams", i, "name"), t.Name, k)
		}
		seen[t.Name] = i
		if t.Runs < 0 || !(t.CPUHours > 0) {
			return Scenario{}, fmt.Errorf("%s: team %s: want runs >= 0 and cpu_hours > 0, got %d and %v", at("teams", i), t.Name, t.Runs, t.CPUHours)
		}
	}
	for _, k := range []string{"gpu_speedup", "gpus_per_vm", "max_vms"} {
		if _, ok := yamlfile.Find(root, k); !ok {
			return Scenario{}, fmt.Errorf("%s: %s is required", at(), k)
		}
	}
	if err := s.Validate(); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// LoadScenario reads a scenario file.
func LoadScenario(path string) (Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return Scenario{}, err
	}
	defer f.Close()
	return DecodeScenario(path, f)
}
