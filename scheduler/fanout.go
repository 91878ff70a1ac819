package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/sched"
)

// Child is one job a running job fans out: its name (unique under the
// parent) and reckon arguments.
type Child struct {
	Name string
	Args []string
}

// RunChildren runs kids as child jobs of parent (attempt) and returns when
// all have ended: an error naming each that did not succeed. Each child
// takes the parent's team, flavor, request and priority. Meanwhile the
// parent is marked waiting, so the policy gives its capacity to its
// children. A parent started again (preempted, or its scheduler
// restarted) finds the children it submitted before and waits for those
// instead of submitting again; one that failed or was cancelled is
// submitted anew.
func RunChildren(ctx context.Context, js sched.Store, parent string, attempt int, kids []Child, poll time.Duration, log io.Writer) error {
	p, err := js.GetJob(ctx, parent)
	if err != nil {
		return err
	}
	old, err := js.ListJobs(ctx, sched.JobQuery{Parent: parent})
	if err != nil {
		return err
	}
	ids := make([]string, len(kids))
	for i, c := range kids {
		want := p.Name + "/" + c.Name
		for _, k := range old {
			if k.Name == want && k.State != sched.Failed && k.State != sched.Cancelled {
				ids[i] = k.ID
			}
		}
		if ids[i] != "" {
			fmt.Fprintf(log, "  %s: job %s (submitted by an earlier attempt)\n", c.Name, ids[i])
			continue
		}
		sp := p.Spec
		sp.Name, sp.Parent, sp.Args, sp.Shards = want, parent, c.Args, 0
		r, err := js.SubmitJob(ctx, sp)
		if err != nil {
			return err
		}
		ids[i] = r.ID
		fmt.Fprintf(log, "  %s: job %s\n", c.Name, r.ID)
	}
	if err := js.SetWaiting(ctx, parent, attempt, true); err != nil {
		return err
	}
	defer js.SetWaiting(context.WithoutCancel(ctx), parent, attempt, false)
	for {
		var failed []string
		done := 0
		for i, c := range kids {
			k, err := js.GetJob(ctx, ids[i])
			if err != nil {
				return err
			}
			if !k.State.Final() {
				continue
			}
			done++
			if k.State != sched.Succeeded {
				failed = append(failed, fmt.Sprintf("%s: job %s %s (%s; reckon jobs logs %s)", c.Name, k.ID, k.State, k.Message, k.ID))
			}
		}
		if done == len(kids) {
			if len(failed) > 0 {
				return errors.New(strings.Join(failed, "; "))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// FanOut is the pipeline's fan-out hook for a pipeline running as job
// parent (attempt): each candidate becomes a child job, reckon run -f FILE
// --candidate NAME (see RunChildren).
func FanOut(js sched.Store, parent string, attempt int, file string, poll time.Duration, log io.Writer) func(context.Context, []string) error {
	return func(ctx context.Context, names []string) error {
		kids := make([]Child, len(names))
		for i, n := range names {
			kids[i] = Child{Name: n, Args: []string{"run", "-f", file, "--candidate", n}}
		}
		return RunChildren(ctx, js, parent, attempt, kids, poll, log)
	}
}

// ShardChildren are the shard jobs of a sharded prediction job with args
// (as submitted, sched.ShardFlag N included): each the same prediction
// with --shard i/N.
func ShardChildren(args []string) ([]Child, error) {
	base, n := sched.SplitShards(args)
	if n < 2 {
		return nil, fmt.Errorf("no %s N >= 2 in the job's arguments %q", sched.ShardFlag, args)
	}
	base, only, err := sched.SplitIndexes(base)
	if err != nil {
		return nil, err
	}
	if len(only) == 0 {
		for i := range n {
			only = append(only, i)
		}
	}
	var kids []Child
	for _, i := range only {
		if i >= n {
			return nil, fmt.Errorf("%s: shard %d of %d does not exist", sched.IndexesFlag, i, n)
		}
		kids = append(kids, Child{Name: fmt.Sprintf("shard-%d-of-%d", i, n), Args: append(slices.Clone(base), "--shard", fmt.Sprintf("%d/%d", i, n))})
	}
	return kids, nil
}

// cancelChildren cancels the jobs a cancelled job fanned out.
func (s *Scheduler) cancelChildren(ctx context.Context, j *sched.Record) {
	kids, err := s.c.Jobs.ListJobs(ctx, sched.JobQuery{Parent: j.ID})
	if err != nil {
		s.c.Log.Warn("listing the cancelled job's children", "job", j.ID, "err", err)
		return
	}
	for _, k := range kids {
		if !k.State.Final() {
			if _, err := s.c.Jobs.CancelJob(ctx, k.ID, "its parent "+j.ID+" was cancelled"); err != nil && !errors.Is(err, sched.ErrJobFinished) {
				s.c.Log.Warn("cancelling a child job", "job", k.ID, "err", err)
			}
		}
	}
}

// Cancel cancels job id and every job it fanned out that has not ended:
// reckon jobs cancel. A running one is stopped by the scheduler's next
// round.
func Cancel(ctx context.Context, js sched.Store, id, why string) (sched.Record, error) {
	r, err := js.CancelJob(ctx, id, why)
	if err != nil {
		return r, err
	}
	kids, err := js.ListJobs(ctx, sched.JobQuery{Parent: id})
	if err != nil {
		return r, err
	}
	for _, k := range kids {
		if !k.State.Final() {
			if _, err := Cancel(ctx, js, k.ID, "its parent "+id+" was cancelled"); err != nil && !errors.Is(err, sched.ErrJobFinished) {
				return r, err
			}
		}
	}
	return r, nil
}
