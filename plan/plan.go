// Package plan is reckon's capacity planner: given teams' training runs
// (CPU-hours each), how much a GPU speeds them up, how runs scale across
// GPUs and a pool of VMs, it finds the schedule with the smallest makespan
// and measures it against a lower bound. It is pure: no clock, no I/O.
//
// The model: a run of H CPU-hours takes H/S hours on one GPU; on g GPUs it
// keeps E^log2(g) of perfect scaling (E per doubling, 1 = perfect), so it
// takes H / (S · g · E^log2 g) hours. Runs take whole VMs (G GPUs each),
// between 1 and MaxVMsPerRun of them, all at once for the whole run.
package plan

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Team is one team's runs.
type Team struct {
	Name     string  `json:"name" yaml:"name"`
	Runs     int     `json:"runs" yaml:"runs"`           // runs in the period planned (e.g. per week)
	CPUHours float64 `json:"cpu_hours" yaml:"cpu_hours"` // one run on one CPU
}

// Scenario is what is planned.
type Scenario struct {
	Teams      []Team  `json:"teams" yaml:"teams"`
	GPUSpeedup float64 `json:"gpu_speedup" yaml:"gpu_speedup"`
	GPUsPerVM  int     `json:"gpus_per_vm" yaml:"gpus_per_vm"`
	MaxVMs     int     `json:"max_vms" yaml:"max_vms"`
	// Efficiency kept per doubling of GPUs (1: perfect scaling).
	Efficiency float64 `json:"scaling_efficiency" yaml:"scaling_efficiency"`
	// MaxVMsPerRun caps one run's VMs (0: MaxVMs).
	MaxVMsPerRun int `json:"max_vms_per_run" yaml:"max_vms_per_run"`
}

// Validate names the first impossible setting.
func (s Scenario) Validate() error {
	switch {
	case len(s.Teams) == 0:
		return errors.New("plan: no teams")
	case !(s.GPUSpeedup > 0):
		return fmt.Errorf("plan: gpu speedup must be > 0, got %v", s.GPUSpeedup)
	case s.GPUsPerVM < 1:
		return fmt.Errorf("plan: gpus per VM must be >= 1, got %d", s.GPUsPerVM)
	case s.MaxVMs < 1:
		return fmt.Errorf("plan: max VMs must be >= 1, got %d", s.MaxVMs)
	case !(s.Efficiency > 0 && s.Efficiency <= 1):
		return fmt.Errorf("plan: scaling efficiency must be in (0, 1], got %v", s.Efficiency)
	case s.MaxVMsPerRun < 0 || s.MaxVMsPerRun > s.MaxVMs:
		return fmt.Errorf("plan: max VMs per run must be in [1, %d] (0: all), got %d", s.MaxVMs, s.MaxVMsPerRun)
	}
	for _, t := range s.Teams {
		if t.Runs < 0 || !(t.CPUHours > 0) {
			return fmt.Errorf("plan: team %q: want runs >= 0 and cpu hours > 0, got %d and %v", t.Name, t.Runs, t.CPUHours)
		}
	}
	return nil
}

func (s Scenario) maxK() int {
	if s.MaxVMsPerRun == 0 {
		return s.MaxVMs
	}
	return s.MaxVMsPerRun
}

// Hours is how long a run of cpuHours takes on vms VMs.
func (s Scenario) Hours(cpuHours float64, vms int) float64 {
	g := float64(vms * s.GPUsPerVM)
	return cpuHours / (s.GPUSpeedup * g * math.Pow(s.Efficiency, math.Log2(g)))
}

// Run is one run placed in the schedule.
type Run struct {
	Team   string  `json:"team"`
	Run    int     `json:"run"` // 1-based, per team
	VMs    int     `json:"vms"`
	VMIDs  []int   `json:"vm_ids"`
	StartH float64 `json:"start_h"`
	EndH   float64 `json:"end_h"`
}

// TeamWait is when a team's runs start and end.
type TeamWait struct {
	Team       string  `json:"team"`
	FirstStart float64 `json:"first_start_h"`
	LastEnd    float64 `json:"last_end_h"`
}

// Plan is a schedule and how good it is.
type Plan struct {
	MakespanH   float64    `json:"makespan_h"`
	LowerBoundH float64    `json:"lower_bound_h"`
	VMHours     float64    `json:"vm_hours"`
	Runs        []Run      `json:"runs"`
	Teams       []TeamWait `json:"teams"`
	// Optimal: the search over list schedules finished, so no list
	// schedule is shorter (false: it stopped at its node budget and this
	// is the best found).
	Optimal bool `json:"optimal"`
	Nodes   int  `json:"search_nodes"`
}

// LowerBound no schedule can beat: the least VM-hours of all runs spread
// over the pool, and the longest run at its fastest.
func LowerBound(s Scenario) float64 {
	var area, longest float64
	for _, t := range s.Teams {
		if t.Runs == 0 {
			continue
		}
		minArea, fastest := math.Inf(1), math.Inf(1)
		for k := 1; k <= s.maxK(); k++ {
			h := s.Hours(t.CPUHours, k)
			minArea, fastest = math.Min(minArea, float64(k)*h), math.Min(fastest, h)
		}
		area += float64(t.Runs) * minArea
		longest = math.Max(longest, fastest)
	}
	return math.Max(area/float64(s.MaxVMs), longest)
}

// group is runs that are interchangeable (same duration table).
type group struct {
	cpuHours float64
	teams    []string // the team of each of its runs, in order
	hours    []float64
	minArea  float64
}

// step is one placement in the search: the next run of group g on k VMs.
type step struct{ g, k int }

// DefaultNodes bounds the exact search; past it Solve returns the best
// schedule found and says it is not proven optimal.
const DefaultNodes = 2_000_000

// Solve finds the shortest list schedule: runs are placed one after
// another, each on the k VMs that free up first (starting when the last of
// them does). Every order and every VM count per run is considered, by
// branch and bound (interchangeable runs are not permuted among
// themselves; a partial schedule is cut when its lower bound reaches the
// best so far), within maxNodes (0: DefaultNodes).
func Solve(s Scenario, maxNodes int) (*Plan, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if maxNodes <= 0 {
		maxNodes = DefaultNodes
	}
	var groups []*group
	byHours := map[float64]*group{}
	for _, t := range s.Teams {
		if t.Runs == 0 {
			continue
		}
		g := byHours[t.CPUHours]
		if g == nil {
			g = &group{cpuHours: t.CPUHours, minArea: math.Inf(1)}
			for k := 1; k <= s.maxK(); k++ {
				h := s.Hours(t.CPUHours, k)
				g.hours = append(g.hours, h)
				g.minArea = math.Min(g.minArea, float64(k)*h)
			}
			byHours[t.CPUHours] = g
			groups = append(groups, g)
		}
		for range t.Runs {
			g.teams = append(g.teams, t.Name)
		}
	}
	if len(groups) == 0 {
		return nil, errors.New("plan: no runs to place")
	}
	lb := LowerBound(s)
	b := &bnb{s: s, groups: groups, max: maxNodes, lb: lb}
	b.best, b.bestSteps = math.Inf(1), nil
	// Upper bounds first: every run on the same VM count, longest first.
	for k := 1; k <= s.maxK(); k++ {
		var steps []step
		for gi := range groups {
			for range groups[gi].teams {
				steps = append(steps, step{gi, k})
			}
		}
		sort.SliceStable(steps, func(i, j int) bool { return groups[steps[i].g].hours[k-1] > groups[steps[j].g].hours[k-1] })
		if m := b.makespan(steps); m < b.best {
			b.best, b.bestSteps = m, steps
		}
	}
	left := make([]int, len(groups))
	for i, g := range groups {
		left[i] = len(g.teams)
	}
	b.search(make([]float64, s.MaxVMs), left, nil, 0)
	p := b.build(b.bestSteps)
	p.LowerBoundH, p.Optimal, p.Nodes = lb, !b.cut, b.nodes
	return p, nil
}

type bnb struct {
	s         Scenario
	groups    []*group
	best      float64
	bestSteps []step
	nodes     int
	max       int
	cut       bool
	lb        float64
}

const eps = 1e-9

// place puts a run of h hours on the k VMs of free (sorted) that free
// first and returns the new free times (sorted) and the run's end.
func place(free []float64, k int, h float64) ([]float64, float64) {
	start := free[k-1]
	out := make([]float64, len(free))
	copy(out, free[k:])
	end := start + h
	for i := range k {
		out[len(free)-k+i] = end
	}
	slices.Sort(out)
	return out, end
}

func (b *bnb) makespan(steps []step) float64 {
	free := make([]float64, b.s.MaxVMs)
	var m float64
	for _, st := range steps {
		var end float64
		free, end = place(free, st.k, b.groups[st.g].hours[st.k-1])
		m = math.Max(m, end)
	}
	return m
}

func (b *bnb) search(free []float64, left []int, steps []step, cur float64) {
	b.nodes++
	if b.nodes > b.max {
		b.cut = true
		return
	}
	var area float64
	done := true
	for gi, n := range left {
		if n > 0 {
			done = false
			area += float64(n) * b.groups[gi].minArea
		}
	}
	if done {
		if cur < b.best-eps {
			b.best, b.bestSteps = cur, slices.Clone(steps)
		}
		return
	}
	// Every VM works until its free time, then the remaining work at its
	// most efficient spreads over the pool at best.
	var sum float64
	for _, f := range free {
		sum += f
	}
	if math.Max(cur, (sum+area)/float64(len(free))) >= b.best-eps || b.best <= b.lb+eps {
		return
	}
	for gi, n := range left {
		if n == 0 {
			continue
		}
		for k := 1; k <= b.s.maxK(); k++ {
			h := b.groups[gi].hours[k-1]
			if free[k-1]+h >= b.best-eps {
				continue
			}
			nf, end := place(free, k, h)
			left[gi]--
			b.search(nf, left, append(steps, step{gi, k}), math.Max(cur, end))
			left[gi]++
			if b.cut {
				return
			}
		}
	}
}

// build lays the steps out with VM ids and team names.
func (b *bnb) build(steps []step) *Plan {
	type vm struct {
		id   int
		free float64
	}
	vms := make([]vm, b.s.MaxVMs)
	for i := range vms {
		vms[i].id = i + 1
	}
	next := make([]int, len(b.groups))
	perTeam := map[string]int{}
	p := &Plan{}
	waits := map[string]*TeamWait{}
	for _, st := range steps {
		sort.SliceStable(vms, func(i, j int) bool { return vms[i].free < vms[j].free })
		g := b.groups[st.g]
		team := g.teams[next[st.g]]
		next[st.g]++
		perTeam[team]++
		start := vms[st.k-1].free
		h := g.hours[st.k-1]
		r := Run{Team: team, Run: perTeam[team], VMs: st.k, StartH: start, EndH: start + h}
		for i := range st.k {
			r.VMIDs = append(r.VMIDs, vms[i].id)
			vms[i].free = r.EndH
		}
		slices.Sort(r.VMIDs)
		p.Runs = append(p.Runs, r)
		p.VMHours += float64(st.k) * h
		p.MakespanH = math.Max(p.MakespanH, r.EndH)
		w := waits[team]
		if w == nil {
			w = &TeamWait{Team: team, FirstStart: r.StartH}
			waits[team] = w
		}
		w.FirstStart, w.LastEnd = math.Min(w.FirstStart, r.StartH), math.Max(w.LastEnd, r.EndH)
	}
	for _, t := range b.s.Teams {
		if w := waits[t.Name]; w != nil {
			p.Teams = append(p.Teams, *w)
		}
	}
	sort.SliceStable(p.Runs, func(i, j int) bool { return p.Runs[i].StartH < p.Runs[j].StartH })
	return p
}

// Uniform is the scenario of n teams with the same runs.
func Uniform(teams, runsPerTeam int, cpuHours float64) []Team {
	out := make([]Team, teams)
	for i := range out {
		out[i] = Team{Name: fmt.Sprintf("team-%d", i+1), Runs: runsPerTeam, CPUHours: cpuHours}
	}
	return out
}
