package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/sched"
)

// FanOut is the pipeline's fan-out hook for a pipeline running as job
// parent (attempt): each candidate becomes a child job (reckon run -f FILE
// --candidate NAME, the parent's team, flavor, request and priority) and
// the hook returns when all have ended. Meanwhile the parent is marked
// waiting, so the policy gives its capacity to its children. A parent
// started again (preempted, or its scheduler restarted) finds the
// children it submitted before and waits for those instead of submitting
// again; one that failed or was cancelled is submitted anew.
func FanOut(js sched.Store, parent string, attempt int, file string, poll time.Duration, log io.Writer) func(context.Context, []string) error {
	return func(ctx context.Context, names []string) error {
		p, err := js.GetJob(ctx, parent)
		if err != nil {
			return err
		}
		kids, err := js.ListJobs(ctx, sched.JobQuery{Parent: parent})
		if err != nil {
			return err
		}
		children := map[string]string{} // candidate -> job
		for _, name := range names {
			want := p.Name + "/" + name
			for _, k := range kids {
				if k.Name == want && k.State != sched.Failed && k.State != sched.Cancelled {
					children[name] = k.ID
				}
			}
			if _, ok := children[name]; ok {
				fmt.Fprintf(log, "  candidate %s: job %s (submitted by an earlier attempt)\n", name, children[name])
				continue
			}
			sp := p.Spec
			sp.Name, sp.Parent, sp.Kind = want, parent, sched.KindPipeline
			sp.Args = []string{"run", "-f", file, "--candidate", name}
			r, err := js.SubmitJob(ctx, sp)
			if err != nil {
				return err
			}
			children[name] = r.ID
			fmt.Fprintf(log, "  candidate %s: job %s\n", name, r.ID)
		}
		if err := js.SetWaiting(ctx, parent, attempt, true); err != nil {
			return err
		}
		defer js.SetWaiting(context.WithoutCancel(ctx), parent, attempt, false)
		for {
			var failed []string
			done := 0
			for _, name := range names {
				k, err := js.GetJob(ctx, children[name])
				if err != nil {
					return err
				}
				if !k.State.Final() {
					continue
				}
				done++
				if k.State != sched.Succeeded {
					failed = append(failed, fmt.Sprintf("candidate %s: job %s %s (%s; reckon jobs logs %s)", name, k.ID, k.State, k.Message, k.ID))
				}
			}
			if done == len(names) {
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
