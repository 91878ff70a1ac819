package sched

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// pool is n teams, each with a nominal share of gpus GPUs of flavor "h100"
// (and CPUs and memory enough never to matter).
func pool(n, gpus int) []Team {
	var ts []Team
	for i := range n {
		ts = append(ts, Team{Name: fmt.Sprintf("t%d", i+1), Nominal: map[string]Resources{"h100": {CPU: 1000, MemoryGB: 10000, GPUs: gpus}}})
	}
	return ts
}

func job(id, team string, gpus int, submitted time.Duration, expected time.Duration) Job {
	return Job{ID: id, Team: team, Flavor: "h100", Request: Resources{CPU: 1, MemoryGB: 1, GPUs: gpus}, State: Queued,
		Submitted: t0.Add(submitted), Expected: expected}
}

func running(j Job, started time.Duration, borrowed bool) Job {
	j.State, j.Started, j.Borrowed = Running, t0.Add(started), borrowed
	return j
}

func ids(as []Admission) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

func TestFairShareOrder(t *testing.T) {
	// t1 used a lot recently, t2 nothing: with room for one job, t2's
	// (newer) job goes first; equal usage: the older job.
	s := Snapshot{Teams: pool(2, 4), Jobs: []Job{
		job("a", "t1", 8, 0, time.Hour), job("b", "t2", 8, time.Minute, time.Hour),
	}, Usage: map[string]float64{"t1": 100}}
	d := Decide(s, t0.Add(time.Hour))
	if got := ids(d.Admit); !slices.Equal(got, []string{"b"}) {
		t.Errorf("admitted %v, want [b] (t1 used 100 GPU-hours)", got)
	}
	s.Usage = nil
	if got := ids(Decide(s, t0.Add(time.Hour)).Admit); !slices.Equal(got, []string{"a"}) {
		t.Errorf("admitted %v, want [a] (older, same share)", got)
	}
	// Priority within a team before age.
	s = Snapshot{Teams: pool(1, 8), Jobs: []Job{job("old", "t1", 8, 0, 0), job("urgent", "t1", 8, time.Minute, 0)}}
	s.Jobs[1].Priority = 10
	if got := ids(Decide(s, t0).Admit); !slices.Equal(got, []string{"urgent"}) {
		t.Errorf("admitted %v, want [urgent]", got)
	}
}

// TestNominalQuotaReclaimed: a team that lent its quota gets it back in the
// same round, by preempting only borrowed jobs, newest first.
func TestNominalQuotaReclaimed(t *testing.T) {
	s := Snapshot{Teams: pool(2, 8), Jobs: []Job{
		running(job("own", "t1", 8, 0, 0), 0, false),
		running(job("b1", "t1", 4, 0, 0), time.Minute, true),
		running(job("b2", "t1", 4, 0, 0), 2*time.Minute, true),
		job("back", "t2", 4, 3*time.Minute, 0),
	}}
	d := Decide(s, t0.Add(time.Hour))
	if !slices.Equal(d.Preempt, []string{"b2"}) || !slices.Equal(ids(d.Admit), []string{"back"}) {
		t.Errorf("preempted %v, admitted %v; want [b2] (the newest borrowed) and [back]", d.Preempt, ids(d.Admit))
	}
	// Beyond its nominal quota a team does not preempt anyone.
	s.Jobs[3].Request.GPUs = 12
	if d := Decide(s, t0.Add(time.Hour)); len(d.Preempt) != 0 || len(d.Admit) != 0 {
		t.Errorf("a request over nominal preempted %v / admitted %v", d.Preempt, ids(d.Admit))
	}
}

// TestBackfillDoesNotDelayTheHead: the big job at the head holds the
// reservation from running jobs' expected ends; a small job that ends
// before it backfills, one that would delay it waits, one that fits in
// what is left at the reservation backfills.
func TestBackfillDoesNotDelayTheHead(t *testing.T) {
	s := Snapshot{Teams: pool(1, 8), Jobs: []Job{
		running(job("r1", "t1", 4, 0, 0), 0, false),
		running(job("r2", "t1", 2, 0, 0), 0, false),
		job("big", "t1", 8, time.Minute, time.Hour),
		job("short", "t1", 1, 2*time.Minute, 30*time.Minute),
		job("long", "t1", 1, 3*time.Minute, 5*time.Hour),
	}}
	s.Jobs[0].Expected, s.Jobs[1].Expected = time.Hour, 2*time.Hour
	now := t0.Add(10 * time.Minute)
	d := Decide(s, now)
	if got := ids(d.Admit); !slices.Equal(got, []string{"short"}) {
		t.Errorf("admitted %v, want [short]", got)
	}
	big := d.Waiting["big"]
	if !big.Reserved || !big.ExpectedStart.Equal(t0.Add(2*time.Hour)) || !strings.Contains(big.Short(), "needs 8, 2 free") {
		t.Errorf("big: %+v", big)
	}
	long := d.Waiting["long"]
	if long.Reserved || !strings.Contains(long.Text(), "would delay big") {
		t.Errorf("long: %+v", long)
	}
	// Once r2 is gone and 4 GPUs are left beside big at its reservation,
	// a long job of 2 fits there too.
	s.Jobs = slices.Delete(s.Jobs, 1, 2)
	s.Jobs[0].Expected = time.Hour
	s.Jobs = append(s.Jobs, running(job("r3", "t1", 4, 0, 0), 0, false))
	s.Jobs[len(s.Jobs)-1].Expected = 20 * time.Hour
	d = Decide(s, now)
	// 8 GPUs: r1 4 (ends t0+1h) + r3 4 (ends t0+20h). big needs 8 -> at
	// t0+20h with nothing left; short ends before, long does not fit.
	if got := ids(d.Admit); len(got) != 0 {
		t.Errorf("nothing is free, admitted %v", got)
	}
}

// TestNoStarvation: a job needing a whole VM (its team's nominal quota),
// submitted ahead of a stream of small jobs of its team, starts by its
// first reservation: backfill never delays it. (Queued jobs of a team with
// a lower share go first, by fair share; and a job beyond its nominal
// quota borrows: it gets what other teams leave unused, after their own
// jobs.)
func TestNoStarvation(t *testing.T) {
	teams := pool(2, 8)
	var jobs []Job
	for i := range 16 {
		j := running(job(fmt.Sprint("s", i), fmt.Sprint("t", i%2+1), 1, 0, 0), 0, false)
		j.Expected = time.Duration(30+5*i) * time.Minute
		jobs = append(jobs, j)
	}
	jobs = append(jobs, job("whole", "t1", 8, time.Minute, 2*time.Hour))
	next := 0
	stream := func(at time.Time) {
		for range 2 {
			j := job(fmt.Sprint("n", next), "t1", 1, at.Sub(t0), 45*time.Minute)
			next++
			jobs = append(jobs, j)
		}
	}
	var bound time.Time
	started := time.Time{}
	for now := t0.Add(2 * time.Minute); now.Before(t0.Add(24 * time.Hour)); now = now.Add(5 * time.Minute) {
		// Jobs end at their expected time.
		jobs = slices.DeleteFunc(jobs, func(j Job) bool {
			return j.State == Running && !j.Started.Add(j.Expected).After(now)
		})
		stream(now)
		d := Decide(Snapshot{Teams: teams, Jobs: jobs}, now)
		for _, a := range d.Admit {
			for i := range jobs {
				if jobs[i].ID == a.ID {
					jobs[i].State, jobs[i].Started, jobs[i].Borrowed = Running, now, a.Borrowed
				}
			}
			if a.ID == "whole" {
				started = now
			}
		}
		if w, ok := d.Waiting["whole"]; ok && bound.IsZero() {
			if !w.Reserved || w.ExpectedStart.IsZero() {
				t.Fatalf("whole: %+v", w)
			}
			bound = w.ExpectedStart
		}
		if !started.IsZero() {
			break
		}
	}
	if started.IsZero() || started.After(bound.Add(5*time.Minute)) {
		t.Errorf("whole started at %v, its reservation said %v", started, bound)
	}
}

func TestReasonText(t *testing.T) {
	s := Snapshot{Teams: pool(2, 4), Jobs: []Job{
		running(job("r", "t1", 6, 0, time.Hour), 0, true),
		job("w", "t2", 4, time.Minute, 0),
	}}
	s.Jobs[1].Request.GPUs = 3
	d := Decide(s, t0)
	// t2 is within its nominal 4 but r is borrowed: it is preempted.
	if !slices.Equal(d.Preempt, []string{"r"}) {
		t.Errorf("preempt %v", d.Preempt)
	}
	s.Jobs[0].Borrowed = false // not borrowed (say, nominal was larger then)
	d = Decide(s, t0)
	w := d.Waiting["w"]
	for _, want := range []string{"1st in the queue", "1st in team t2's", "short by 1 GPUs (needs 3, 2 free)", "t1 (2 GPUs over its nominal 4)", "Expected to start by 2026-12-01 10:00:00"} {
		if !strings.Contains(w.Text(), want) {
			t.Errorf("reason %q lacks %q", w.Text(), want)
		}
	}
}

func TestDecay(t *testing.T) {
	if got := Decay(100, 7*24*time.Hour, 7*24*time.Hour); math.Abs(got-50) > 1e-9 {
		t.Errorf("one half-life: %v", got)
	}
	if got := Decay(100, 14*24*time.Hour, 7*24*time.Hour); math.Abs(got-25) > 1e-9 {
		t.Errorf("two half-lives: %v", got)
	}
}

// BenchmarkDecide10000: one round over 10,000 queued jobs of 4 teams and 2
// flavors with 200 running (the target: under 50 ms).
func BenchmarkDecide10000(b *testing.B) {
	teams := pool(4, 16)
	for i := range teams {
		teams[i].Nominal["a100"] = Resources{CPU: 1000, MemoryGB: 10000, GPUs: 16}
	}
	var jobs []Job
	for i := range 10200 {
		j := job(fmt.Sprint("j", i), fmt.Sprint("t", i%4+1), 1+i%4, time.Duration(i)*time.Second, time.Duration(1+i%5)*time.Hour)
		if i%2 == 1 {
			j.Flavor = "a100"
		}
		if i < 200 {
			j = running(j, 0, false)
			j.Request.GPUs = 0
		}
		jobs = append(jobs, j)
	}
	s := Snapshot{Teams: teams, Jobs: jobs, Usage: map[string]float64{"t1": 10, "t2": 20}}
	b.ResetTimer()
	for b.Loop() {
		Decide(s, t0.Add(time.Hour))
	}
}

// TestEveryWaitingJobHasAReason: each queued job is either admitted or
// explained, never both, never neither; admitted ones fit the pool.
func TestEveryWaitingJobHasAReason(t *testing.T) {
	teams := pool(3, 4)
	teams[2].Borrowing = map[string]Resources{"h100": {GPUs: 0}} // t3 may not borrow
	var jobs []Job
	for i := range 60 {
		jobs = append(jobs, job(fmt.Sprint("j", i), fmt.Sprint("t", i%3+1), 1+i%5, time.Duration(i)*time.Minute, time.Duration(1+i%3)*time.Hour))
	}
	d := Decide(Snapshot{Teams: teams, Jobs: jobs}, t0.Add(2*time.Hour))
	seen := map[string]bool{}
	gpus := 0
	t3 := 0
	for _, a := range d.Admit {
		seen[a.ID] = true
		for _, j := range jobs {
			if j.ID == a.ID {
				gpus += j.Request.GPUs
				if j.Team == "t3" {
					t3 += j.Request.GPUs
				}
			}
		}
	}
	for id, r := range d.Waiting {
		if seen[id] {
			t.Errorf("%s admitted and waiting", id)
		}
		seen[id] = true
		if r.Text() == "" || r.Position < 1 {
			t.Errorf("%s: reason %+v", id, r)
		}
	}
	if len(seen) != len(jobs) || gpus > 12 || t3 > 4 {
		t.Errorf("%d of %d jobs decided, %d GPUs admitted of 12, t3 %d of its 4 (no borrowing)", len(seen), len(jobs), gpus, t3)
	}
}

// TestLendingLimit: t1 lends only 2 of its 8 GPUs; t2 gets its 8 and 2 of
// t1's, no more, and the rest waits saying so; t1's jobs then start on its
// kept GPUs without preempting anyone.
func TestLendingLimit(t *testing.T) {
	teams := pool(2, 8)
	teams[0].Lending = map[string]Resources{"h100": {CPU: math.Inf(1), MemoryGB: math.Inf(1), GPUs: 2}}
	var jobs []Job
	for i := range 6 {
		jobs = append(jobs, job(fmt.Sprint("b", i), "t2", 2, time.Duration(i)*time.Second, time.Hour))
	}
	d := Decide(Snapshot{Teams: teams, Jobs: jobs}, t0.Add(time.Minute))
	if got := ids(d.Admit); len(got) != 5 {
		t.Fatalf("admitted %v, want 5 jobs (10 GPUs: t2's 8 and the 2 t1 lends)", got)
	}
	w := d.Waiting["b5"]
	if w.Guarded.GPUs != 6 || !strings.Contains(w.Text(), "6 GPUs more is idle but kept by other teams' lending limits") {
		t.Errorf("b5 waits: %+v %q", w, w.Text())
	}
	for i, a := range d.Admit {
		jobs[i] = running(jobs[i], time.Minute, a.Borrowed)
	}
	jobs = append(jobs, job("a0", "t1", 6, 2*time.Minute, time.Hour))
	d = Decide(Snapshot{Teams: teams, Jobs: jobs}, t0.Add(3*time.Minute))
	if got := ids(d.Admit); len(got) != 1 || got[0] != "a0" || len(d.Preempt) != 0 {
		t.Errorf("t1's job: admitted %v, preempted %v; want a0 at once, nobody preempted", got, d.Preempt)
	}
}

// TestReclaimedCapacityIsNotBorrowedBack: a borrower preempted for team
// t2 is back in the queue, older than t2's job; t2's job, within its
// nominal quota, goes first, so the borrower is not admitted into the
// capacity just taken from it (and preempted again, round after round).
func TestReclaimedCapacityIsNotBorrowedBack(t *testing.T) {
	teams := pool(2, 4)
	jobs := []Job{job("a-big", "t1", 8, 0, time.Hour), job("b", "t2", 4, time.Minute, time.Hour)}
	d := Decide(Snapshot{Teams: teams, Jobs: jobs}, t0.Add(2*time.Minute))
	if got := ids(d.Admit); !slices.Equal(got, []string{"b"}) || len(d.Preempt) != 0 {
		t.Errorf("admitted %v, preempted %v; want b alone", got, d.Preempt)
	}
	// While a preempted job is stopping, the job it was preempted for
	// waits for it rather than being counted into its capacity twice.
	stopping := running(job("a1", "t1", 4, 0, time.Hour), 0, true)
	stopping.Stopping = true
	d = Decide(Snapshot{Teams: teams, Jobs: []Job{running(job("a0", "t1", 4, 0, time.Hour), 0, false), stopping, jobs[1]}}, t0.Add(2*time.Minute))
	if len(d.Admit) != 1 || !slices.Equal(d.Admit[0].After, []string{"a1"}) {
		t.Errorf("admissions %+v, want b after a1 has stopped", d.Admit)
	}
}
