// Package scheduler is the loop that runs the team scheduler: each round
// it takes the store's lease, reconciles the jobs the store says are
// admitted or running with what the executor says of their attempts,
// asks the policy (sched.Decide, pure) what to admit and preempt, and acts
// on it. Everything it knows is in the store and the executor, so a
// scheduler killed at any point and started again carries on: no job is
// lost and none starts twice (every move is a compare-and-set in the
// store, and the executor never starts an attempt twice).
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/store"
)

// LeaseName is the store lease only one scheduler holds at a time.
const LeaseName = "scheduler"

// Config is what a scheduler runs against.
type Config struct {
	Jobs   sched.Store
	Exec   sched.Executor
	Queues *sched.Queues
	// Devices are the GPU ids per flavor on this machine, handed to
	// attempts as CUDA_VISIBLE_DEVICES (absent flavor: none assigned).
	Devices map[string][]string
	// Holder names this scheduler in the lease (host and pid).
	Holder string
	// LeaseTTL is how long the lease lasts without renewal (default 30 s);
	// a scheduler that died is replaced after it.
	LeaseTTL time.Duration
	// Runs and Blobs, when set, keep each attempt's log as a blob and an
	// artifact of the runs the job produced.
	Runs  store.Runs
	Blobs *blobs.Bucket
	Log   *slog.Logger
	Now   func() time.Time
	// AdmitAll hands every queued job to the executor at once, in the
	// policy's order, for a cluster whose own admission (Kueue) decides
	// when it runs: reckon's quotas and preemption stand aside.
	AdmitAll bool
	// Tokens, when set, mint each attempt a token scoped to its team and
	// job (RECKON_TOKEN in its environment), revoked when it ends: what
	// a job's own calls to a reckon server (--server) carry.
	Tokens auth.Tokens
	// IndexedShards: the executor runs a sharded prediction as one job
	// of all its shards at once (a Kubernetes Indexed Job) rather than as
	// child jobs, so the job holds its request once per shard.
	IndexedShards bool
}

// Scheduler runs rounds.
type Scheduler struct{ c Config }

// New checks c and fills its defaults.
func New(c Config) (*Scheduler, error) {
	if c.Jobs == nil || c.Exec == nil || c.Queues == nil {
		return nil, errors.New("scheduler: a job store, an executor and queues are needed")
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Holder == "" {
		return nil, errors.New("scheduler: no holder name for the lease")
	}
	return &Scheduler{c}, nil
}

// ErrLeaseHeld: another scheduler holds the store's lease.
var ErrLeaseHeld = errors.New("another scheduler holds the store's lease")

// Round is what one round did.
type Round struct {
	Started, Ended, Requeued, Preempted []string
	// Queued, Running count the jobs left in each state; Idle is true
	// when nothing is queued, admitted or running.
	Queued, Running int
	Idle            bool
	// Waiting are the policy's reasons for the jobs it did not admit.
	Waiting map[string]sched.Reason
}

var active = []sched.State{sched.Queued, sched.Admitted, sched.Running}

// Round runs one round at the scheduler's clock.
func (s *Scheduler) Round(ctx context.Context) (Round, error) {
	var rd Round
	ok, err := s.c.Jobs.AcquireLease(ctx, LeaseName, s.c.Holder, s.c.LeaseTTL)
	if err != nil {
		return rd, err
	}
	if !ok {
		return rd, ErrLeaseHeld
	}
	jobs, err := s.c.Jobs.ListJobs(ctx, sched.JobQuery{States: active})
	if err != nil {
		return rd, err
	}
	// Reconcile: what the store says holds capacity against what runs.
	for i := range jobs {
		j := &jobs[i]
		if j.State == sched.Queued {
			continue
		}
		if err := s.reconcile(ctx, j, &rd); err != nil {
			return rd, fmt.Errorf("job %s: %w", j.ID, err)
		}
	}
	jobs = slices.DeleteFunc(jobs, func(j sched.Record) bool { return j.State.Final() })

	snap, err := Snapshot(ctx, s.c.Jobs, s.c.Queues, jobs, s.c.Now())
	if err != nil {
		return rd, err
	}
	if s.c.IndexedShards {
		for i := range snap.Jobs {
			if n := jobs[i].Pods(); n > 1 {
				snap.Jobs[i].Request = snap.Jobs[i].Request.Times(n)
			}
		}
	}
	d := sched.Decide(snap, s.c.Now())
	if s.c.AdmitAll {
		d = admitAll(d, jobs)
	}
	byID := map[string]*sched.Record{}
	for i := range jobs {
		byID[jobs[i].ID] = &jobs[i]
	}
	for _, id := range d.Preempt {
		j := byID[id]
		if j.Preempting {
			continue // asked to stop in an earlier round, still stopping
		}
		why := "preempted: its team had borrowed capacity another team's nominal quota takes back"
		if err := s.c.Jobs.PreemptJob(ctx, id, j.Attempt, why); err != nil {
			if errors.Is(err, sched.ErrConflict) {
				continue
			}
			return rd, err
		}
		if err := s.c.Exec.Cancel(ctx, id, j.Attempt); err != nil {
			return rd, err
		}
		s.c.Log.Info("preempting", "job", id, "team", j.Team, "attempt", j.Attempt)
		rd.Preempted = append(rd.Preempted, id)
	}
	held := s.heldDevices(jobs)
	for _, a := range d.Admit {
		j := byID[a.ID]
		if len(a.After) > 0 {
			// Its capacity comes free when the preempted jobs have
			// stopped: a later round starts it.
			d.Waiting[a.ID] = reclaiming(*j, a.After)
			continue
		}
		devices, free, ok := s.devices(j, held)
		if !ok {
			// Fewer of the machine's GPU ids are free than the policy
			// counted (an attempt still stopping holds some).
			d.Waiting[a.ID] = sched.Reason{Job: a.ID, Team: j.Team, Flavor: j.Flavor, Need: j.Request, Free: sched.Resources{CPU: j.Request.CPU, MemoryGB: j.Request.MemoryGB, GPUs: free}}
			continue
		}
		r, err := s.c.Jobs.AdmitJob(ctx, a.ID, a.Borrowed, devices)
		if errors.Is(err, sched.ErrConflict) {
			continue // cancelled meanwhile
		}
		if err != nil {
			return rd, err
		}
		*j = r
		if err := s.start(ctx, j); err != nil {
			return rd, fmt.Errorf("job %s: %w", j.ID, err)
		}
		rd.Started = append(rd.Started, j.ID)
	}
	for _, j := range jobs {
		switch j.State {
		case sched.Queued:
			rd.Queued++
		case sched.Admitted, sched.Running:
			rd.Running++
		}
	}
	rd.Idle = rd.Queued == 0 && rd.Running == 0
	rd.Waiting = d.Waiting
	return rd, nil
}

// admitAll admits every queued job: those the policy admitted first, in
// its order, then the ones it held back; nothing is preempted.
func admitAll(d sched.Decision, jobs []sched.Record) sched.Decision {
	out := sched.Decision{Waiting: map[string]sched.Reason{}}
	for _, a := range d.Admit {
		out.Admit = append(out.Admit, sched.Admission{ID: a.ID})
	}
	for _, j := range jobs {
		if _, held := d.Waiting[j.ID]; held && j.State == sched.Queued {
			out.Admit = append(out.Admit, sched.Admission{ID: j.ID})
		}
	}
	return out
}

// reclaiming is why a job the policy admitted into capacity it preempted
// for still waits: the preempted jobs have not stopped yet.
func reclaiming(j sched.Record, after []string) sched.Reason {
	return sched.Reason{Job: j.ID, Team: j.Team, Flavor: j.Flavor, Need: j.Request, Reclaiming: after}
}

// Snapshot is the policy's view of jobs (the active ones) at now: the
// queues for their teams, and the teams' usage decayed over the last ten
// half-lives (older use weighs under 0.1%).
func Snapshot(ctx context.Context, js sched.Store, queues *sched.Queues, jobs []sched.Record, now time.Time) (sched.Snapshot, error) {
	var teams []string
	for _, j := range jobs {
		teams = append(teams, j.Team)
	}
	q := queues.ForTeams(teams)
	hl := q.HalfLife
	if hl <= 0 {
		hl = 7 * 24 * time.Hour
	}
	at, err := js.AttemptsSince(ctx, now.Add(-10*hl))
	if err != nil {
		return sched.Snapshot{}, err
	}
	snap := sched.Snapshot{Teams: q.PolicyTeams(), Usage: sched.Usage(at, now, hl)}
	for _, j := range jobs {
		snap.Jobs = append(snap.Jobs, j.PolicyJob())
	}
	return snap, nil
}

// Why says why job id is where it is, in a sentence or two: for a queued
// job the policy's reason now (the same decision the scheduler's next
// round would take), for the others their state and how they got there.
func Why(ctx context.Context, js sched.Store, queues *sched.Queues, id string, now time.Time) (sched.Record, string, *sched.Reason, error) {
	j, err := js.GetJob(ctx, id)
	if err != nil {
		return j, "", nil, err
	}
	switch j.State {
	case sched.Queued:
		jobs, err := js.ListJobs(ctx, sched.JobQuery{States: active})
		if err != nil {
			return j, "", nil, err
		}
		snap, err := Snapshot(ctx, js, queues, jobs, now)
		if err != nil {
			return j, "", nil, err
		}
		d := sched.Decide(snap, now)
		for _, a := range d.Admit {
			if a.ID == id && len(a.After) > 0 {
				d.Waiting[id] = reclaiming(j, a.After)
			}
		}
		if r, ok := d.Waiting[id]; ok {
			text := r.Text()
			if j.Attempt > 0 && j.Message != "" {
				text += " Back in the queue after attempt " + strconv.Itoa(j.Attempt) + ": " + j.Message + "."
			}
			return j, text, &r, nil
		}
		return j, fmt.Sprintf("%s fits now: the scheduler starts it in its next round (is `reckon scheduler` running?).", id), nil, nil
	case sched.Admitted, sched.Running:
		text := fmt.Sprintf("%s is %s (attempt %d, since %s)", id, j.State, j.Attempt, j.Admitted.UTC().Format(time.DateTime))
		if j.Borrowed {
			text += " on borrowed capacity, so it may be preempted if a lender needs its quota back"
		}
		if j.CancelRequested || j.Preempting {
			text += "; it is being stopped: " + j.Message
		}
		if j.Waiting {
			kids, err := js.ListJobs(ctx, sched.JobQuery{Parent: id})
			if err != nil {
				return j, "", nil, err
			}
			var open []string
			for _, k := range kids {
				if !k.State.Final() {
					open = append(open, k.ID+" ("+string(k.State)+")")
				}
			}
			text += "; it waits for the jobs training its candidates, holding no capacity meanwhile: " + strings.Join(open, ", ")
		}
		return j, text + ".", nil, nil
	}
	text := fmt.Sprintf("%s %s at %s after %d attempt(s)", id, j.State, j.Ended.UTC().Format(time.DateTime), j.Attempt)
	if j.Message != "" {
		text += ": " + j.Message
	}
	return j, text + ".", nil, nil
}

// start starts an admitted attempt (again after a restart: the executor
// refuses a second start) and marks it running.
func (s *Scheduler) start(ctx context.Context, j *sched.Record) error {
	l := sched.Launch{Job: j.ID, Attempt: j.Attempt, Team: j.Team, Args: j.Args, Dir: j.Dir, CPU: j.Request.CPU, Devices: j.Devices,
		Flavor: j.Flavor, Request: j.Request, Shards: j.Shards}
	if s.c.Tokens != nil {
		// A week at most, should the scheduler die before revoking it.
		secret, _, err := auth.IssueForJob(ctx, s.c.Tokens, j.ID, j.User, j.Team, 7*24*time.Hour, s.c.Now())
		if err != nil {
			return fmt.Errorf("the token of job %s: %w", j.ID, err)
		}
		l.Env = append(l.Env, "RECKON_TOKEN="+secret)
	}
	err := s.c.Exec.Start(ctx, l)
	if err != nil && !errors.Is(err, sched.ErrStarted) {
		// It never ran: end the attempt so the job is retried or fails
		// with the reason, instead of holding capacity.
		r, endErr := s.c.Jobs.EndAttempt(ctx, j.ID, j.Attempt, sched.End{Outcome: sched.OutcomeFailed, Exit: -1, Message: "could not start: " + err.Error()})
		if endErr != nil {
			return errors.Join(err, endErr)
		}
		*j = r
		return nil
	}
	if err := s.c.Jobs.StartJob(ctx, j.ID, j.Attempt); err != nil && !errors.Is(err, sched.ErrConflict) {
		return err
	}
	j.State = sched.Running
	s.c.Log.Info("started", "job", j.ID, "team", j.Team, "attempt", j.Attempt, "devices", j.Devices)
	return nil
}

// reconcile brings an admitted or running job in line with its attempt.
func (s *Scheduler) reconcile(ctx context.Context, j *sched.Record, rd *Round) error {
	st, err := s.c.Exec.Status(ctx, j.ID, j.Attempt)
	if err != nil {
		return err
	}
	switch st.Phase {
	case sched.PhaseUnknown:
		// Admitted, then the scheduler stopped before starting it.
		if err := s.start(ctx, j); err != nil {
			return err
		}
		rd.Started = append(rd.Started, j.ID)
		return nil
	case sched.PhaseRunning:
		if j.State == sched.Admitted {
			if err := s.c.Jobs.StartJob(ctx, j.ID, j.Attempt); err != nil && !errors.Is(err, sched.ErrConflict) {
				return err
			}
			j.State = sched.Running
		}
		if j.CancelRequested || j.Preempting {
			return s.c.Exec.Cancel(ctx, j.ID, j.Attempt)
		}
		return nil
	}
	e := sched.End{Exit: st.Exit, Message: st.Message}
	switch {
	case st.Phase == sched.PhaseLost:
		e.Outcome = sched.OutcomeLost
	case j.Preempting:
		e.Outcome = sched.OutcomePreempted
		e.Message = j.Message
	case j.CancelRequested:
		e.Outcome = sched.OutcomeCancelled
		e.Message = j.Message
	case st.Exit == 0:
		e.Outcome = sched.OutcomeSucceeded
	default:
		e.Outcome = sched.OutcomeFailed
		if e.Message == "" {
			e.Message = "exit status " + strconv.Itoa(st.Exit)
		}
	}
	var last string
	e.Log, last = s.keepLog(ctx, j)
	if e.Outcome == sched.OutcomeFailed && last != "" {
		e.Message += ": " + last // most often the error reckon printed
	}
	r, err := s.c.Jobs.EndAttempt(ctx, j.ID, j.Attempt, e)
	if errors.Is(err, sched.ErrConflict) {
		return nil // another scheduler ended it
	}
	if err != nil {
		return err
	}
	if s.c.Tokens != nil {
		if err := auth.RevokeJob(ctx, s.c.Tokens, j.ID, s.c.Now()); err != nil {
			s.c.Log.Warn("revoking the job's token", "job", j.ID, "err", err)
		}
	}
	s.c.Log.Info("attempt ended", "job", j.ID, "attempt", j.Attempt, "outcome", e.Outcome, "exit", e.Exit, "now", r.State)
	if r.State == sched.Cancelled {
		s.cancelChildren(ctx, &r)
	}
	if r.State == sched.Queued {
		rd.Requeued = append(rd.Requeued, j.ID)
	} else {
		rd.Ended = append(rd.Ended, j.ID)
	}
	*j = r
	return nil
}

// keepLog stores the attempt's log as a blob and an artifact of each run
// the job produced, and returns its key ("" when there is nowhere to keep
// it) and its last line.
func (s *Scheduler) keepLog(ctx context.Context, j *sched.Record) (key, last string) {
	r, err := s.c.Exec.Logs(ctx, j.ID, j.Attempt)
	if err != nil {
		return "", ""
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		s.c.Log.Warn("reading the job's log", "job", j.ID, "err", err)
		return "", ""
	}
	last = lastLine(b)
	if s.c.Blobs == nil {
		return "", last
	}
	ref, err := s.c.Blobs.Put(ctx, b)
	if err != nil {
		s.c.Log.Warn("keeping the job's log", "job", j.ID, "err", err)
		return "", last
	}
	if s.c.Runs != nil {
		rec, err := s.c.Jobs.GetJob(ctx, j.ID)
		if err == nil {
			for _, run := range rec.Runs {
				a := store.Artifact{Name: fmt.Sprintf("job-%s-%d.log", j.ID, j.Attempt), Key: ref.Key, SHA256: ref.SHA256, Size: ref.Size}
				if err := s.c.Runs.LogArtifact(ctx, run, a); err != nil {
					s.c.Log.Warn("linking the job's log to its run", "job", j.ID, "run", run, "err", err)
				}
			}
		}
	}
	return ref.Key, last
}

// lastLine is the log's last non-empty line, at most 300 bytes.
func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 300 {
		l = l[:300] + "..."
	}
	return l
}

func (s *Scheduler) heldDevices(jobs []sched.Record) map[string]bool {
	held := map[string]bool{}
	for _, j := range jobs {
		if j.State == sched.Admitted || j.State == sched.Running {
			for _, d := range strings.Split(j.Devices, ",") {
				if d != "" {
					held[j.Flavor+"/"+d] = true
				}
			}
		}
	}
	return held
}

// devices picks free GPU ids of the job's flavor on this machine; false
// (with how many are free) when fewer are free than it asks for.
func (s *Scheduler) devices(j *sched.Record, held map[string]bool) (string, int, bool) {
	ids, known := s.c.Devices[j.Flavor]
	if !known || j.Request.GPUs == 0 {
		return "", 0, true
	}
	var got []string
	for _, id := range ids {
		if len(got) == j.Request.GPUs {
			break
		}
		if !held[j.Flavor+"/"+id] {
			got = append(got, id)
		}
	}
	if len(got) < j.Request.GPUs {
		return "", len(got), false
	}
	for _, id := range got {
		held[j.Flavor+"/"+id] = true
	}
	return strings.Join(got, ","), len(got), true
}

// Run runs rounds every interval until ctx ends, or, with exitWhenIdle,
// until a round finds nothing queued or running. It waits while another
// scheduler holds the lease, and gives the lease up when it returns.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration, exitWhenIdle bool, each func(Round)) error {
	err := s.rounds(ctx, interval, "another scheduler holds the store's lease; waiting for it to stop or for its lease to expire",
		func(rd Round, held bool) (bool, error) {
			if held {
				return false, nil
			}
			if each != nil {
				each(rd)
			}
			return exitWhenIdle && rd.Idle, nil
		})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// rounds runs a round every interval until ctx ends, a round fails, or
// after says stop; after sees each round (held: another scheduler holds
// the lease, said once in the log as held says) and gives the lease up at
// the end.
func (s *Scheduler) rounds(ctx context.Context, interval time.Duration, heldMsg string, after func(rd Round, held bool) (bool, error)) error {
	defer s.c.Jobs.ReleaseLease(context.WithoutCancel(ctx), LeaseName, s.c.Holder)
	warned := false
	for {
		rd, err := s.Round(ctx)
		held := errors.Is(err, ErrLeaseHeld)
		switch {
		case held:
			if !warned {
				s.c.Log.Warn(heldMsg)
				warned = true
			}
		case err != nil:
			return err
		default:
			warned = false
		}
		if stop, err := after(rd, held); stop || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// teamsOf lists the teams of jobs.
func teamsOf(jobs []sched.Record) []string {
	set := map[string]bool{}
	for _, j := range jobs {
		set[j.Team] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// TeamUsage is one team's line of reckon queues: what it holds now per
// flavor, how much of that is borrowed, its jobs, and its decayed usage.
type TeamUsage struct {
	Team string `json:"team"`
	// Using and Borrowing per flavor: the requests of its admitted and
	// running jobs, and the part beyond its nominal quota.
	Using     map[string]sched.Resources `json:"using"`
	Borrowing map[string]sched.Resources `json:"borrowing"`
	Queued    int                        `json:"queued"`
	Running   int                        `json:"running"`
	// GPUHours is its usage for fair share: GPU-hours decayed with the
	// half-life.
	GPUHours float64 `json:"gpu_hours_decayed"`
}

// Usage reports every team of the queues (and any other team with jobs).
func Usage(ctx context.Context, js sched.Store, queues *sched.Queues, now time.Time) (*sched.Queues, []TeamUsage, error) {
	jobs, err := js.ListJobs(ctx, sched.JobQuery{States: active})
	if err != nil {
		return nil, nil, err
	}
	snap, err := Snapshot(ctx, js, queues, jobs, now)
	if err != nil {
		return nil, nil, err
	}
	teams := teamsOf(jobs)
	for t := range snap.Usage {
		teams = append(teams, t) // teams whose jobs ended lately
	}
	q := queues.ForTeams(teams)
	byTeam := map[string]*TeamUsage{}
	var out []*TeamUsage
	get := func(team string) *TeamUsage {
		if u, ok := byTeam[team]; ok {
			return u
		}
		u := &TeamUsage{Team: team, Using: map[string]sched.Resources{}, Borrowing: map[string]sched.Resources{}, GPUHours: snap.Usage[team]}
		byTeam[team] = u
		out = append(out, u)
		return u
	}
	for _, t := range q.Teams {
		get(t.Name)
	}
	for _, j := range jobs {
		u := get(j.Team)
		if j.State == sched.Queued {
			u.Queued++
			continue
		}
		u.Running++
		u.Using[j.Flavor] = u.Using[j.Flavor].Add(j.Request)
	}
	for _, t := range q.Teams {
		u := byTeam[t.Name]
		for f, use := range u.Using {
			n := t.Nominal[f]
			b := sched.Resources{CPU: max(use.CPU-n.CPU, 0), MemoryGB: max(use.MemoryGB-n.MemoryGB, 0), GPUs: max(use.GPUs-n.GPUs, 0)}
			if b != (sched.Resources{}) {
				u.Borrowing[f] = b
			}
		}
	}
	res := make([]TeamUsage, len(out))
	for i, u := range out {
		res[i] = *u
	}
	return q, res, nil
}

// RunUntil runs rounds every interval until job id has ended, and returns
// its record: the scheduler of a command that submits one job and waits
// for it (reckon predict --on kube). While another scheduler holds the
// store's lease, that one runs the job and RunUntil only watches. Other
// teams' jobs are scheduled meanwhile as by any scheduler; those still
// running when it returns go on, and the next scheduler picks them up.
func (s *Scheduler) RunUntil(ctx context.Context, id string, interval time.Duration, each func(Round)) (sched.Record, error) {
	var j sched.Record
	err := s.rounds(ctx, interval, "another scheduler holds the store's lease: it runs job "+id+"; waiting for the job to end",
		func(rd Round, held bool) (bool, error) {
			if !held && each != nil {
				each(rd)
			}
			var err error
			j, err = s.c.Jobs.GetJob(ctx, id)
			return err == nil && j.State.Final(), err
		})
	return j, err
}
