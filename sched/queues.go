package sched

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
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
}

// Team is the entry as the policy takes it.
func (q QueueTeam) Team() Team {
	return Team{Name: q.Name, Weight: q.Weight, Nominal: q.Nominal, Borrowing: q.Borrowing}
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

func gpus() int {
	m, _ := filepath.Glob("/dev/nvidia[0-9]*")
	return len(m)
}

// DecodeQueues reads a queues.yaml strictly: unknown keys and wrong types
// are errors with the line yaml reports; a flavor a team uses but the file
// does not declare, a duplicate or missing team name, a negative quota or
// weight are errors naming file:line.
func DecodeQueues(name string, r io.Reader) (*Queues, error) {
	body, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(body) > 1<<20 || bytes.IndexByte(body, 0) >= 0 {
		return nil, fmt.Errorf("%s: not a queues file (over 1 MiB or binary)", name)
	}
	q := &Queues{File: name}
	dec := yaml.NewDecoder(bytes.NewReader(body))
	dec.KnownFields(true)
	if err := dec.Decode(q); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty queues file", name)
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var root yaml.Node
	if err := yaml.Unmarshal(body, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	at := func(path ...any) string { return fmt.Sprintf("%s:%d", name, lineOf(&root, path...)) }
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
		}{{"nominal", t.Nominal}, {"borrowing", t.Borrowing}} {
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
	// A resource a borrowing limit leaves out is not limited (Kueue's
	// borrowingLimit): only the keys written limit.
	for i := range q.Teams {
		for f, r := range q.Teams[i].Borrowing {
			if !hasKey(&root, "teams", i, "borrowing", f, "cpu") {
				r.CPU = math.Inf(1)
			}
			if !hasKey(&root, "teams", i, "borrowing", f, "memory_gb") {
				r.MemoryGB = math.Inf(1)
			}
			if !hasKey(&root, "teams", i, "borrowing", f, "gpus") {
				r.GPUs = math.MaxInt32
			}
			q.Teams[i].Borrowing[f] = r
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

// hasKey reports whether the key path exists in the document.
func hasKey(root *yaml.Node, path ...any) bool {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return false
			}
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					next = n.Content[i+1]
				}
			}
			if next == nil {
				return false
			}
			n = next
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return false
			}
			n = n.Content[k]
		}
	}
	return true
}

// lineOf finds the line of a key path (map keys as strings, sequence
// indexes as ints) in a YAML document; the deepest line found.
func lineOf(root *yaml.Node, path ...any) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, p := range path {
		switch k := p.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return line
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == k {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return line
			}
		case int:
			if n.Kind != yaml.SequenceNode || k >= len(n.Content) {
				return line
			}
			n = n.Content[k]
			line = n.Line
		}
	}
	return line
}

// MarshalJSON writes a resource a borrowing limit does not limit as null
// (JSON has no infinity).
func (q QueueTeam) MarshalJSON() ([]byte, error) {
	type limit struct {
		CPU      *float64 `json:"cpu"`
		MemoryGB *float64 `json:"memory_gb"`
		GPUs     *int     `json:"gpus"`
	}
	lims := map[string]limit{}
	for f, r := range q.Borrowing {
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
		lims[f] = l
	}
	return json.Marshal(struct {
		Name      string               `json:"name"`
		Weight    float64              `json:"weight"`
		Nominal   map[string]Resources `json:"nominal"`
		Borrowing map[string]limit     `json:"borrowing,omitempty"`
	}{q.Name, q.Weight, q.Nominal, lims})
}
