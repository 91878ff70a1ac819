package scheduler

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/reckon-ml/reckon/sched"
)

// Service is the jobs API every front end speaks: Local on a job store
// (the CLI on this machine, the server behind its routes), and the
// client package's over HTTP (the CLI with --server). One interface, so
// that a command prints the same answer either way.
type Service interface {
	// Submit queues a job (Submission.User is the submitter).
	Submit(ctx context.Context, s Submission) (sched.Record, error)
	ListJobs(ctx context.Context, q sched.JobQuery) ([]sched.Record, error)
	// Job is a job with its attempts, children and why.
	Job(ctx context.Context, id string) (JobView, error)
	Why(ctx context.Context, id string) (WhyView, error)
	// Cancel asks a job to stop; why says who asked and why.
	Cancel(ctx context.Context, id, why string) (sched.Record, error)
	// Logs is an attempt's output from byte offset on (attempt 0: the
	// last).
	Logs(ctx context.Context, id string, attempt int, offset int64) (LogChunk, error)
	// Usage is the queues with each team's use of them now.
	Usage(ctx context.Context) (QueuesView, error)
}

// JobView is a job with its attempts, the jobs it fanned out (a
// pipeline's candidates, a prediction's shards) and why it is where it is.
type JobView struct {
	sched.Record
	Attempts []sched.Attempt `json:"attempts"`
	Children []sched.Record  `json:"children"`
	Why      string          `json:"why"`
}

// WhyView is why a job is where it is: the sentence, and for a queued job
// the policy's reason with its numbers.
type WhyView struct {
	sched.Record `json:"-"`
	ID           string        `json:"id"`
	Status       sched.State   `json:"status"`
	Text         string        `json:"why"`
	Reason       *sched.Reason `json:"reason,omitempty"`
}

// LogChunk is part of an attempt's output.
type LogChunk struct {
	Attempt int
	// Data is the output from the offset asked for.
	Data []byte
	// Running: the attempt may write more.
	Running bool
}

// QueuesView is the queues and each team's use of them.
type QueuesView struct {
	*sched.Queues
	Usage []TeamUsage `json:"usage"`
}

// Getter reads a blob (the attempts' kept logs).
type Getter interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// Local is the Service on a job store.
type Local struct {
	Jobs   sched.Store
	Queues *sched.Queues
	// Blobs holds the logs of the attempts that ended (nil: none kept).
	Blobs Getter
	// Exec reads the output of attempts still running (nil: only the
	// kept logs are read).
	Exec sched.Executor
	Now  func() time.Time // nil: time.Now
}

var _ Service = (*Local)(nil)

func (l *Local) now() time.Time {
	if l.Now == nil {
		return time.Now()
	}
	return l.Now()
}

// Submit implements Service.
func (l *Local) Submit(ctx context.Context, s Submission) (sched.Record, error) {
	return Submit(ctx, l.Jobs, l.Queues, s)
}

// ListJobs implements Service.
func (l *Local) ListJobs(ctx context.Context, q sched.JobQuery) ([]sched.Record, error) {
	jobs, err := l.Jobs.ListJobs(ctx, q)
	if jobs == nil {
		jobs = []sched.Record{}
	}
	return jobs, err
}

// Job implements Service.
func (l *Local) Job(ctx context.Context, id string) (JobView, error) {
	w, err := l.Why(ctx, id)
	if err != nil {
		return JobView{}, err
	}
	v := JobView{Record: w.Record, Why: w.Text, Attempts: []sched.Attempt{}, Children: []sched.Record{}}
	at, err := l.Jobs.Attempts(ctx, id)
	if err != nil {
		return v, err
	}
	kids, err := l.Jobs.ListJobs(ctx, sched.JobQuery{Parent: id})
	if err != nil {
		return v, err
	}
	v.Attempts = append(v.Attempts, at...)
	v.Children = append(v.Children, kids...)
	return v, nil
}

// Why implements Service.
func (l *Local) Why(ctx context.Context, id string) (WhyView, error) {
	j, text, r, err := Why(ctx, l.Jobs, l.Queues, id, l.now())
	if err != nil {
		return WhyView{}, err
	}
	return WhyView{Record: j, ID: j.ID, Status: j.State, Text: text, Reason: r}, nil
}

// Cancel implements Service.
func (l *Local) Cancel(ctx context.Context, id, why string) (sched.Record, error) {
	return Cancel(ctx, l.Jobs, id, why)
}

// Logs implements Service: the kept log of an attempt that ended, else
// what the executor has of the running one.
func (l *Local) Logs(ctx context.Context, id string, attempt int, offset int64) (LogChunk, error) {
	j, err := l.Jobs.GetJob(ctx, id)
	if err != nil {
		return LogChunk{}, err
	}
	n := attempt
	if n == 0 {
		n = j.Attempt
	}
	if n < 1 || n > j.Attempt {
		if j.Attempt == 0 {
			return LogChunk{}, fmt.Errorf("%s has not started yet (reckon jobs why %s): %w", j.ID, j.ID, ErrNoAttempt)
		}
		return LogChunk{}, fmt.Errorf("attempt %d: %s has attempts 1 to %d: %w", n, j.ID, j.Attempt, ErrNoAttempt)
	}
	if offset < 0 {
		return LogChunk{}, fmt.Errorf("log offset %d: want >= 0", offset)
	}
	at, err := l.Jobs.Attempts(ctx, j.ID)
	if err != nil {
		return LogChunk{}, err
	}
	c := LogChunk{Attempt: n}
	if n > len(at) {
		return c, fmt.Errorf("%s: attempt %d is not recorded", j.ID, n)
	}
	var b []byte
	switch key := at[n-1].Log; {
	case key != "" && l.Blobs != nil:
		if b, err = l.Blobs.Get(ctx, key); err != nil {
			return c, err
		}
	case l.Exec != nil:
		// The state first, then the output: an attempt that ends between
		// the two has all it wrote read, now or on the next call.
		st, err := l.Exec.Status(ctx, j.ID, n)
		if err != nil {
			return c, err
		}
		c.Running = st.Phase == sched.PhaseRunning
		r, err := l.Exec.Logs(ctx, j.ID, n)
		if err != nil {
			return c, err
		}
		defer r.Close()
		if b, err = io.ReadAll(r); err != nil {
			return c, err
		}
	default:
		return c, fmt.Errorf("%s attempt %d: its output is not kept where this reckon can read it", j.ID, n)
	}
	c.Data = b[min(offset, int64(len(b))):]
	return c, nil
}

// ErrNoAttempt: the job has no such attempt (yet).
var ErrNoAttempt = fmt.Errorf("no such attempt")

// Usage implements Service.
func (l *Local) Usage(ctx context.Context) (QueuesView, error) {
	q, usage, err := Usage(ctx, l.Jobs, l.Queues, l.now())
	if usage == nil {
		usage = []TeamUsage{}
	}
	return QueuesView{Queues: q, Usage: usage}, err
}

// Follow writes an attempt's output to w, and with follow keeps writing
// what it adds until it ends (or ctx is done), asking every poll.
func Follow(ctx context.Context, s Service, id string, attempt int, w io.Writer, follow bool, poll time.Duration) error {
	var off int64
	for {
		c, err := s.Logs(ctx, id, attempt, off)
		if err != nil {
			return err
		}
		if _, err := w.Write(c.Data); err != nil {
			return err
		}
		off += int64(len(c.Data))
		attempt = c.Attempt // the same one on the next call, even if another starts
		if !follow || !c.Running {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}
