package plan

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func reference() Scenario {
	return Scenario{Teams: Uniform(4, 2, 100), GPUSpeedup: 6, GPUsPerVM: 8, MaxVMs: 7, Efficiency: 1}
}

// TestReferenceScenario: 4 teams x 2 runs of 100 CPU-hours, 6x GPUs, 8
// GPUs a VM, 7 VMs: the lower bound is the GPU-hours over the pool's GPUs,
// 8 * 100/6 / 56 = 2.381 h, and the plan reaches it (a hand schedule took
// about 4 h).
func TestReferenceScenario(t *testing.T) {
	p, err := Solve(reference(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := 8 * 100.0 / 6 / 56
	if math.Abs(p.LowerBoundH-want) > 1e-12 {
		t.Errorf("lower bound %.6f h, want %.6f", p.LowerBoundH, want)
	}
	if p.MakespanH > 1.01*p.LowerBoundH || len(p.Runs) != 8 || !p.Optimal {
		t.Errorf("makespan %.4f h against %.4f h, %d runs, optimal %v", p.MakespanH, p.LowerBoundH, len(p.Runs), p.Optimal)
	}
	checkSchedule(t, reference(), p)
}

// checkSchedule verifies a plan on its own: every run once per team and
// index, no VM doing two runs at once, durations from the model, VMs in
// range, makespan and VM-hours as stated.
func checkSchedule(t *testing.T, s Scenario, p *Plan) {
	t.Helper()
	want := map[string]int{}
	hours := map[string]float64{}
	for _, tm := range s.Teams {
		want[tm.Name] = tm.Runs
		hours[tm.Name] = tm.CPUHours
	}
	got := map[string]int{}
	type span struct{ a, b float64 }
	busy := map[int][]span{}
	var makespan, vmh float64
	for _, r := range p.Runs {
		got[r.Team]++
		if r.VMs != len(r.VMIDs) || r.VMs < 1 || r.VMs > s.maxK() {
			t.Errorf("run %+v: VM count", r)
		}
		g := float64(r.VMs * s.GPUsPerVM)
		d := hours[r.Team] / s.GPUSpeedup / g / math.Pow(s.Efficiency, math.Log2(g))
		if math.Abs(r.EndH-r.StartH-d) > 1e-9 || r.StartH < -1e-12 {
			t.Errorf("run %+v: lasts %.6f h, the model says %.6f", r, r.EndH-r.StartH, d)
		}
		for _, id := range r.VMIDs {
			if id < 1 || id > s.MaxVMs {
				t.Errorf("run %+v: VM %d", r, id)
			}
			for _, o := range busy[id] {
				if r.StartH < o.b-1e-9 && o.a < r.EndH-1e-9 {
					t.Errorf("VM %d runs two runs at once around %.3f h", id, r.StartH)
				}
			}
			busy[id] = append(busy[id], span{r.StartH, r.EndH})
		}
		makespan = math.Max(makespan, r.EndH)
		vmh += float64(r.VMs) * (r.EndH - r.StartH)
	}
	for team, n := range want {
		if got[team] != n {
			t.Errorf("team %s: %d runs placed, want %d", team, got[team], n)
		}
	}
	if math.Abs(makespan-p.MakespanH) > 1e-9 || math.Abs(vmh-p.VMHours) > 1e-9 {
		t.Errorf("makespan %.6f / vm-hours %.6f stated, %.6f / %.6f in the runs", p.MakespanH, p.VMHours, makespan, vmh)
	}
	if p.MakespanH < p.LowerBoundH-1e-9 {
		t.Errorf("makespan %.6f below the lower bound %.6f", p.MakespanH, p.LowerBoundH)
	}
}

// bruteForce tries every order of the runs and every VM count of each,
// placing each run on the VMs that free first: the space Solve searches,
// enumerated without pruning or symmetry, written separately.
func bruteForce(s Scenario) float64 {
	var runs []float64
	for _, tm := range s.Teams {
		for range tm.Runs {
			runs = append(runs, tm.CPUHours)
		}
	}
	best := math.Inf(1)
	n := len(runs)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	ks := make([]int, n)
	var permute func(i int)
	var alloc func(i int)
	alloc = func(i int) {
		if i == n {
			free := make([]float64, s.MaxVMs)
			var m float64
			for j, idx := range perm {
				sort.Float64s(free)
				k := ks[j]
				end := free[k-1] + s.Hours(runs[idx], k)
				for v := 0; v < k; v++ {
					free[v] = end
				}
				m = math.Max(m, end)
			}
			best = math.Min(best, m)
			return
		}
		for k := 1; k <= s.maxK(); k++ {
			ks[i] = k
			alloc(i + 1)
		}
	}
	permute = func(i int) {
		if i == n {
			alloc(0)
			return
		}
		for j := i; j < n; j++ {
			perm[i], perm[j] = perm[j], perm[i]
			permute(i + 1)
			perm[i], perm[j] = perm[j], perm[i]
		}
	}
	permute(0)
	return best
}

// TestOptimalAgainstExhaustive: with imperfect scaling (0.9 per doubling)
// and teams that differ, Solve finds the brute force's makespan on small
// random cases.
func TestOptimalAgainstExhaustive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for c := range 40 {
		s := Scenario{GPUSpeedup: 6, GPUsPerVM: 1 + r.IntN(8), MaxVMs: 1 + r.IntN(4), Efficiency: 0.9}
		if c%2 == 1 {
			s.Efficiency = 0.6 + 0.4*r.Float64()
		}
		runs := 0
		for i := range 1 + r.IntN(3) {
			n := 1 + r.IntN(2)
			if runs+n > 5 {
				break
			}
			runs += n
			s.Teams = append(s.Teams, Team{Name: string(rune('a' + i)), Runs: n, CPUHours: float64(10 + r.IntN(100))})
		}
		p, err := Solve(s, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(s)
		if math.Abs(p.MakespanH-want) > 1e-9 || !p.Optimal {
			t.Errorf("case %d %+v: makespan %.6f, exhaustive %.6f (optimal %v)", c, s, p.MakespanH, want, p.Optimal)
		}
		checkSchedule(t, s, p)
	}
}

func TestHoursModel(t *testing.T) {
	s := Scenario{GPUSpeedup: 6, GPUsPerVM: 8, Efficiency: 0.9}
	// 100 CPU-hours, 6x on one GPU: 16.67 h; 8 GPUs keep 0.9^3 of 8x.
	if got, want := s.Hours(100, 1), 100.0/6/(8*0.729); math.Abs(got-want) > 1e-12 {
		t.Errorf("Hours(100, 1) = %v, want %v", got, want)
	}
	if got, want := s.Hours(100, 2), 100.0/6/(16*0.6561); math.Abs(got-want) > 1e-12 {
		t.Errorf("Hours(100, 2) = %v, want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	for _, s := range []Scenario{
		{},
		{Teams: Uniform(1, 1, 1), GPUSpeedup: 6, GPUsPerVM: 8, MaxVMs: 7, Efficiency: 1.5},
		{Teams: Uniform(1, 1, 1), GPUSpeedup: 6, GPUsPerVM: 8, MaxVMs: 7, Efficiency: 1, MaxVMsPerRun: 9},
		{Teams: []Team{{Name: "x", Runs: 1, CPUHours: -1}}, GPUSpeedup: 6, GPUsPerVM: 8, MaxVMs: 7, Efficiency: 1},
	} {
		if _, err := Solve(s, 0); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}
