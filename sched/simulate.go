package sched

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Stream is one team's submissions in a simulation: a job every Every,
// starting at Offset, each asking for GPUs of Flavor for Duration.
type Stream struct {
	Team     string        `yaml:"team"`
	Flavor   string        `yaml:"flavor"`
	GPUs     int           `yaml:"gpus"`
	Duration time.Duration `yaml:"duration"`
	Every    time.Duration `yaml:"every"`
	Offset   time.Duration `yaml:"offset"`
	// Count caps the submissions (0: until the end).
	Count int `yaml:"count"`
}

// Workload is a simulated period: the teams' queues and what they submit.
type Workload struct {
	Teams    []Team
	Streams  []Stream
	Period   time.Duration
	HalfLife time.Duration // fair-share memory (0: 7 days)
	Start    time.Time
	// Waits, when set, receives each admitted job's wait (for tests and
	// reports that follow one job).
	Waits func(job string, wait time.Duration)
}

// TeamStats is one team's outcome.
type TeamStats struct {
	Team      string        `json:"team"`
	GPUHours  float64       `json:"gpu_hours"`
	Jobs      int           `json:"jobs_finished"`
	MeanWait  time.Duration `json:"mean_wait"`
	P95Wait   time.Duration `json:"p95_wait"`
	Preempted int           `json:"preempted"`
}

// SimResult is what a simulation measured.
type SimResult struct {
	Utilisation float64     `json:"utilisation"` // GPU-hours used / GPU-hours available
	Jain        float64     `json:"jain_index"`  // of GPU-hours per weight
	Teams       []TeamStats `json:"teams"`
	Rounds      int         `json:"rounds"`
}

// Simulate drives Decide through the workload as discrete events: each
// submission and each expected completion is an event, the policy runs at
// every event, admitted jobs run their Duration, preempted ones go back to
// the queue and start over. Usage decays with the half-life as time moves.
func Simulate(w Workload) (*SimResult, error) {
	if w.Period <= 0 || len(w.Teams) == 0 {
		return nil, fmt.Errorf("simulate: a period and teams are required")
	}
	half := w.HalfLife
	if half == 0 {
		half = 7 * 24 * time.Hour
	}
	start := w.Start
	end := start.Add(w.Period)
	type sub struct {
		at time.Time
		j  Job
	}
	var subs []sub
	for si, st := range w.Streams {
		if st.Every <= 0 {
			return nil, fmt.Errorf("simulate: stream %d of %s: every must be > 0", si, st.Team)
		}
		n := 0
		for at := start.Add(st.Offset); at.Before(end) && (st.Count == 0 || n < st.Count); at = at.Add(st.Every) {
			subs = append(subs, sub{at, Job{ID: fmt.Sprintf("%s-%d-%d", st.Team, si, n), Team: st.Team, Flavor: st.Flavor,
				Request: Resources{GPUs: st.GPUs}, State: Queued, Submitted: at, Expected: st.Duration}})
			n++
		}
	}
	slices.SortStableFunc(subs, func(a, b sub) int { return a.at.Compare(b.at) })
	var capGPUs float64
	for _, t := range w.Teams {
		for _, r := range t.Nominal {
			capGPUs += float64(r.GPUs)
		}
	}
	usage := map[string]float64{}
	stats := map[string]*TeamStats{}
	waits := map[string][]time.Duration{}
	for _, t := range w.Teams {
		stats[t.Name] = &TeamStats{Team: t.Name}
	}
	var jobs []Job
	now, next := start, 0
	res := &SimResult{}
	var used float64
	for now.Before(end) {
		// Submissions due.
		for next < len(subs) && !subs[next].at.After(now) {
			jobs = append(jobs, subs[next].j)
			next++
		}
		d := Decide(Snapshot{Teams: w.Teams, Jobs: jobs, Usage: usage}, now)
		res.Rounds++
		pre := map[string]bool{}
		for _, id := range d.Preempt {
			pre[id] = true
		}
		adm := map[string]bool{}
		for _, a := range d.Admit {
			adm[a.ID] = a.Borrowed
		}
		for i := range jobs {
			j := &jobs[i]
			if pre[j.ID] {
				j.State, j.Started, j.Borrowed = Queued, time.Time{}, false
				stats[j.Team].Preempted++
			}
			if b, ok := adm[j.ID]; ok {
				j.State, j.Started, j.Borrowed = Running, now, b
				waits[j.Team] = append(waits[j.Team], now.Sub(j.Submitted))
				if w.Waits != nil {
					w.Waits(j.ID, now.Sub(j.Submitted))
				}
			}
		}
		// The next event: a completion or a submission.
		t := end
		if next < len(subs) && subs[next].at.Before(t) {
			t = subs[next].at
		}
		for _, j := range jobs {
			if j.State == Running && j.Started.Add(j.Expected).Before(t) {
				t = j.Started.Add(j.Expected)
			}
		}
		if !t.After(now) {
			t = now.Add(time.Second)
		}
		// Usage accrues and decays between events.
		dt := t.Sub(now)
		for team := range usage {
			usage[team] = Decay(usage[team], dt, half)
		}
		for _, j := range jobs {
			if j.State == Running {
				h := float64(j.Request.GPUs) * dt.Hours()
				usage[j.Team] += h
				stats[j.Team].GPUHours += h
				used += h
			}
		}
		now = t
		jobs = slices.DeleteFunc(jobs, func(j Job) bool {
			if j.State == Running && !j.Started.Add(j.Expected).After(now) {
				stats[j.Team].Jobs++
				return true
			}
			return false
		})
	}
	res.Utilisation = used / (capGPUs * w.Period.Hours())
	var sum, sq float64
	for _, t := range w.Teams {
		st := stats[t.Name]
		ws := waits[t.Name]
		if len(ws) > 0 {
			var total time.Duration
			for _, x := range ws {
				total += x
			}
			st.MeanWait = total / time.Duration(len(ws))
			slices.Sort(ws)
			st.P95Wait = ws[min(len(ws)-1, int(math.Ceil(0.95*float64(len(ws))))-1)]
		}
		x := st.GPUHours / t.weight()
		sum += x
		sq += x * x
		res.Teams = append(res.Teams, *st)
	}
	if sq > 0 {
		res.Jain = sum * sum / (float64(len(w.Teams)) * sq)
	}
	return res, nil
}
