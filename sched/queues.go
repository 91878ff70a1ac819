package sched

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/yamlfile"
)

// Queues is a queues.yaml: the resource flavors, the teams of the cohort
// with their quotas, the usage half-life and the priority classes.
type Queues struct {
	Flavors         []string       `yaml:"flavors" json:"flavors"`
	HalfLife        time.Duration  `yaml:"half_life" json:"half_life"`
	PriorityClasses map[string]int `yaml:"priority_classes" json:"priority_classes,omitempty"`
	Teams           []QueueTeam    `yaml:"teams" json:"teams"`
	// File is where it was read ("" for the default).
	File string `yaml:"-" json:"file,omitempty"`
}

// QueueTeam is one team's entry: Team in the file's words.
type QueueTeam struct {
	Name      string               `yaml:"name" json:"name"`
	Weight    float64              `yaml:"weight" json:"weight"`
	Nominal   map[string]Resources `yaml:"nominal" json:"nominal"`
	Borrowing map[string]Resources `yaml:"borrowing" json:"borrowing,omitempty"`
	Lending   map[string]Resources `yaml:"lending" json:"lending,omitempty"`
}

// Team is the entry as the policy takes it.
func (q QueueTeam) Team() Team {
	return Team{Name: q.Name, Weight: q.Weight, Nominal: q.Nominal, Borrowing: q.Borrowing, Lending: q.Lending}
}

// PolicyTeams are all the teams as the policy takes them.
func (q *Queues) PolicyTeams() []Team {
	out := make([]Team, len(q.Teams))
	for i, t := range q.Teams {
		out[i] = t.Team()
	}
	return out
}

// Capacity is the cohort's capacity per flavor: the sum of the nominal
// quotas.
func (q *Queues) Capacity() map[string]Resources {
	c := map[string]Resources{}
	for _, t := range q.Teams {
		for f, r := range t.Nominal {
			c[f] = c[f].Add(r)
		}
	}
	return c
}

// DefaultQueues is what reckon schedules on without a queues.yaml: one
// queue, "default", spanning this machine's cores (flavor "cpu"), and its
// NVIDIA GPUs if it has any (flavor "gpu").
func DefaultQueues() *Queues {
	nominal := map[string]Resources{"cpu": {CPU: float64(runtime.NumCPU()), MemoryGB: memoryGB()}}
	flavors := []string{"cpu"}
	if n := gpus(); n > 0 {
		nominal["gpu"] = Resources{GPUs: n}
		flavors = append(flavors, "gpu")
	}
	return &Queues{Flavors: flavors, HalfLife: 7 * 24 * time.Hour,
		Teams: []QueueTeam{{Name: "default", Weight: 1, Nominal: nominal}}}
}

func memoryGB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb float64
	for _, l := range strings.Split(string(b), "\n") {
		if _, err := fmt.Sscanf(l, "MemTotal: %f kB", &kb); err == nil {
			return kb / (1 << 20)
		}
	}
	return 0
}

// LocalGPUs is how many NVIDIA GPUs this machine has.
func LocalGPUs() int { return gpus() }

func gpus() int {
	m, _ := filepath.Glob("/dev/nvidia[0-9]*")
	return len(m)
}

// DecodeQueues reads a queues.yaml strictly: unknown keys and wrong types
// are errors with the line yaml reports; a flavor a team uses but the file
// does not declare, a duplicate or missing team name, a negative quota or
// weight are errors naming file:line.
func DecodeQueues(name string, r io.Reader) (*Queues, error) {
	q := &Queues{File: name}
	root, err := yamlfile.Decode(name, "queues", r, q)
	if err != nil {
		return nil, err
	}
	at := func(path ...any) string { return fmt.Sprintf("%s:%d", name, yamlfile.Line(root, path...)) }
	has := func(path ...any) bool { _, ok := yamlfile.Find(root, path...); return ok }
	if q.HalfLife == 0 {
		q.HalfLife = 7 * 24 * time.Hour
	}
	if q.HalfLife < 0 {
		return nil, fmt.Errorf("%s: half_life must be positive, got %v", at("half_life"), q.HalfLife)
	}
	if len(q.Flavors) == 0 {
		return nil, fmt.Errorf("%s: flavors: declare the resource flavors the teams' quotas use (e.g. [h100])", at())
	}
	if len(q.Teams) == 0 {
		return nil, fmt.Errorf("%s: teams: at least one team is needed", at())
	}
	seen := map[string]int{}
	for i, t := range q.Teams {
		if t.Name == "" || strings.ContainsAny(t.Name, " /@:") {
			return nil, fmt.Errorf("%s: teams[%d].name: want a team name without spaces, '/', '@' or ':', got %q", at("teams", i), i, t.Name)
		}
		if k, dup := seen[t.Name]; dup {
			return nil, fmt.Errorf("%s: team %q again (first at teams[%d])", at("teams", i, "name"), t.Name, k)
		}
		seen[t.Name] = i
		if t.Weight < 0 {
			return nil, fmt.Errorf("%s: team %s: weight must be >= 0 (0: 1), got %v", at("teams", i, "weight"), t.Name, t.Weight)
		}
		if len(t.Nominal) == 0 {
			return nil, fmt.Errorf("%s: team %s: nominal: give its quota per flavor (flavors: %s)", at("teams", i), t.Name, strings.Join(q.Flavors, ", "))
		}
		for _, part := range []struct {
			field string
			m     map[string]Resources
		}{{"nominal", t.Nominal}, {"borrowing", t.Borrowing}, {"lending", t.Lending}} {
			for f, r := range part.m {
				if !slices.Contains(q.Flavors, f) {
					return nil, fmt.Errorf("%s: team %s: %s: unknown flavor %q (flavors: %s)", at("teams", i, part.field, f), t.Name, part.field, f, strings.Join(q.Flavors, ", "))
				}
				if r.CPU < 0 || r.MemoryGB < 0 || r.GPUs < 0 {
					return nil, fmt.Errorf("%s: team %s: %s.%s: negative quota %+v", at("teams", i, part.field, f), t.Name, part.field, f, r)
				}
			}
		}
	}
	// A resource a borrowing or lending limit leaves out is not limited
	// (Kueue's borrowingLimit and lendingLimit): only the keys written
	// limit.
	for i := range q.Teams {
		for _, part := range []struct {
			field string
			m     map[string]Resources
		}{{"borrowing", q.Teams[i].Borrowing}, {"lending", q.Teams[i].Lending}} {
			for f, r := range part.m {
				if !has("teams", i, part.field, f, "cpu") {
					r.CPU = math.Inf(1)
				}
				if !has("teams", i, part.field, f, "memory_gb") {
					r.MemoryGB = math.Inf(1)
				}
				if !has("teams", i, part.field, f, "gpus") {
					r.GPUs = math.MaxInt32
				}
				part.m[f] = r
			}
		}
		for f, l := range q.Teams[i].Lending {
			n := q.Teams[i].Nominal[f]
			if l.GPUs < math.MaxInt32 && l.GPUs > n.GPUs || !math.IsInf(l.CPU, 1) && l.CPU > n.CPU || !math.IsInf(l.MemoryGB, 1) && l.MemoryGB > n.MemoryGB {
				return nil, fmt.Errorf("%s: team %s: lending.%s: a team lends at most its nominal quota (%+v), got more", at("teams", i, "lending", f), q.Teams[i].Name, f, n)
			}
		}
	}
	for c, p := range q.PriorityClasses {
		if p < 0 {
			return nil, fmt.Errorf("%s: priority class %s: want a priority >= 0, got %d", at("priority_classes", c), c, p)
		}
	}
	return q, nil
}

// LoadQueues reads a queues file.
func LoadQueues(path string) (*Queues, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return DecodeQueues(path, f)
}

// MarshalJSON writes a resource a borrowing or lending limit does not
// limit as null (JSON has no infinity).
func (q QueueTeam) MarshalJSON() ([]byte, error) {
	type limit struct {
		CPU      *float64 `json:"cpu"`
		MemoryGB *float64 `json:"memory_gb"`
		GPUs     *int     `json:"gpus"`
	}
	limits := func(m map[string]Resources) map[string]limit {
		out := map[string]limit{}
		for f, r := range m {
			var l limit
			if !math.IsInf(r.CPU, 1) {
				l.CPU = &r.CPU
			}
			if !math.IsInf(r.MemoryGB, 1) {
				l.MemoryGB = &r.MemoryGB
			}
			if r.GPUs < math.MaxInt32 {
				l.GPUs = &r.GPUs
			}
			out[f] = l
		}
		return out
	}
	return json.Marshal(struct {
		Name      string               `json:"name"`
		Weight    float64              `json:"weight"`
		Nominal   map[string]Resources `json:"nominal"`
		Borrowing map[string]limit     `json:"borrowing,omitempty"`
		Lending   map[string]limit     `json:"lending,omitempty"`
	}{q.Name, q.Weight, q.Nominal, limits(q.Borrowing), limits(q.Lending)})
}

// ForTeams is the queues the scheduler uses when jobs of teams are in the
// store. A queues file is taken as written (a team it does not name gets
// no capacity, and its jobs say so). The default queue instead gives every
// team that submits an equal nominal share of this machine, each free to
// borrow the rest: one team alone uses all of it, two share it fairly.
func (q *Queues) ForTeams(teams []string) *Queues {
	if q.File != "" || len(teams) == 0 {
		return q
	}
	names := slices.Clone(teams)
	slices.Sort(names)
	names = slices.Compact(names)
	total := q.Capacity()
	out := *q
	out.Teams = make([]QueueTeam, len(names))
	n := len(names)
	for i, name := range names {
		nominal := map[string]Resources{}
		for f, c := range total {
			share := Resources{CPU: c.CPU / float64(n), MemoryGB: c.MemoryGB / float64(n), GPUs: c.GPUs / n}
			if i < c.GPUs%n {
				share.GPUs++ // the GPUs that do not divide go to the first teams
			}
			nominal[f] = share
		}
		out.Teams[i] = QueueTeam{Name: name, Weight: 1, Nominal: nominal}
	}
	return &out
}
