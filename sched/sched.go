// Package sched is the domain of reckon's team scheduler: jobs with the
// resources they ask for, the teams' queues with quotas in a shared
// cohort, and the scheduling policy, a pure function of the queue state
// and the clock that decides what to admit, what to preempt and why every
// other job waits. The words are Kueue's (flavor, cohort, nominal quota,
// borrowing limit, fair-sharing weight) and Slurm's (fair share over usage
// decayed with a half-life, backfill behind a reservation, pending
// reasons), so users recognise them.
package sched

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// State is a job's state. A preempted job goes back to Queued and keeps
// its attempts.
type State string

// Job states.
const (
	Queued    State = "queued"
	Admitted  State = "admitted"
	Running   State = "running"
	Succeeded State = "succeeded"
	Failed    State = "failed"
	Cancelled State = "cancelled"
)

// Resources is an amount of each resource.
type Resources struct {
	CPU      float64 `json:"cpu" yaml:"cpu"`
	MemoryGB float64 `json:"memory_gb" yaml:"memory_gb"`
	GPUs     int     `json:"gpus" yaml:"gpus"`
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{r.CPU + o.CPU, r.MemoryGB + o.MemoryGB, r.GPUs + o.GPUs}
}

// Sub returns r - o.
func (r Resources) Sub(o Resources) Resources {
	return Resources{r.CPU - o.CPU, r.MemoryGB - o.MemoryGB, r.GPUs - o.GPUs}
}

// Fits reports whether r covers o.
func (r Resources) Fits(o Resources) bool {
	const eps = 1e-9
	return o.CPU <= r.CPU+eps && o.MemoryGB <= r.MemoryGB+eps && o.GPUs <= r.GPUs
}

// Short names what o needs beyond r ("" when it fits).
func (r Resources) Short(o Resources) string {
	switch {
	case o.GPUs > r.GPUs:
		return fmt.Sprintf("%d GPUs (needs %d, %d free)", o.GPUs-r.GPUs, o.GPUs, max(r.GPUs, 0))
	case o.CPU > r.CPU+1e-9:
		return fmt.Sprintf("%s (needs %.4g, %.4g free)", CPUs(o.CPU-r.CPU), o.CPU, math.Max(r.CPU, 0))
	case o.MemoryGB > r.MemoryGB+1e-9:
		return fmt.Sprintf("%.4g GB of memory (needs %.4g, %.4g free)", o.MemoryGB-r.MemoryGB, o.MemoryGB, math.Max(r.MemoryGB, 0))
	}
	return ""
}

// Amount writes r briefly: "8 GPUs, 2 CPUs, 16 GB", what is zero left out
// ("-" for nothing).
func (r Resources) Amount() string {
	var parts []string
	if r.GPUs > 0 {
		parts = append(parts, fmt.Sprintf("%d GPUs", r.GPUs))
	}
	if r.CPU > 1e-9 {
		parts = append(parts, CPUs(r.CPU))
	}
	if r.MemoryGB > 1e-9 {
		parts = append(parts, fmt.Sprintf("%.4g GB", r.MemoryGB))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// CPUs writes an amount of CPUs ("1 CPU", "2.5 CPUs").
func CPUs(n float64) string {
	if n == 1 {
		return "1 CPU"
	}
	return fmt.Sprintf("%.4g CPUs", n)
}

// Job is one unit of work a team submitted.
type Job struct {
	ID       string    `json:"id"`
	Team     string    `json:"team"`
	Priority int       `json:"priority"`
	Flavor   string    `json:"flavor"` // resource flavor (e.g. a GPU model)
	Request  Resources `json:"request"`
	State    State     `json:"state"`
	// Submitted orders jobs of equal share and priority (oldest first).
	Submitted time.Time `json:"submitted"`
	// Started is when a running or admitted job was admitted.
	Started time.Time `json:"started,omitzero"`
	// Expected is how long the job runs (0: unknown); reservations and
	// backfill use it.
	Expected time.Duration `json:"expected,omitempty"`
	// Borrowed: admitted beyond its team's nominal quota, so it may be
	// preempted when a lender wants its quota back.
	Borrowed bool `json:"borrowed,omitempty"`
	// Stopping: a running job being preempted or cancelled; it holds its
	// resources until it has exited, and a reclaim takes it first.
	Stopping bool `json:"stopping,omitempty"`
}

// Team is a team's queue: its share of the cohort.
type Team struct {
	Name string `json:"name"`
	// Nominal is the quota per flavor the team is guaranteed.
	Nominal map[string]Resources `json:"nominal"`
	// Borrowing caps what it may use beyond Nominal per flavor (absent:
	// unlimited within the cohort).
	Borrowing map[string]Resources `json:"borrowing,omitempty"`
	// Lending caps how much of its unused nominal quota per flavor others
	// may use (absent: all of it); the rest waits for its own jobs.
	Lending map[string]Resources `json:"lending,omitempty"`
	// Weight is its fair-sharing weight (0: 1).
	Weight float64 `json:"weight"`
}

func (t Team) weight() float64 {
	if t.Weight > 0 {
		return t.Weight
	}
	return 1
}

// Snapshot is everything the policy looks at.
type Snapshot struct {
	Teams []Team
	// Jobs are the queued, admitted and running jobs.
	Jobs []Job
	// Usage is each team's decayed past usage in GPU-hours (see Decay);
	// fair share orders teams by Usage / Weight, lowest first.
	Usage map[string]float64
}

// Decay is usage that happened age ago, seen with a half-life: Slurm's
// fair-share memory, so a team that ran a lot last month is not punished
// for it forever and a bursty team is not punished at all.
func Decay(gpuHours float64, age, halfLife time.Duration) float64 {
	if halfLife <= 0 {
		return gpuHours
	}
	return gpuHours * math.Exp2(-age.Hours()/halfLife.Hours())
}
