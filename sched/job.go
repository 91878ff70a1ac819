package sched

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Kind is what a job runs.
type Kind string

// Job kinds: all of them run the reckon binary with Args.
const (
	KindPipeline Kind = "pipeline" // reckon run -f PIPELINE
	KindPredict  Kind = "predict"  // reckon predict ...
	KindCommand  Kind = "command"  // any reckon command
)

// Spec is what a user submits.
type Spec struct {
	Team string `json:"team"`
	User string `json:"user"`
	// Name is shown in listings (the pipeline's name, or the command).
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Args are the reckon arguments the job runs (without "reckon").
	Args []string `json:"args"`
	// Dir is the working directory the job runs in ("": the executor's).
	Dir      string    `json:"dir,omitempty"`
	Flavor   string    `json:"flavor"`
	Request  Resources `json:"request"`
	Priority int       `json:"priority"`
	// Shards is how many parts a batch prediction is cut into (0: 1).
	Shards int `json:"shards,omitempty"`
	// MaxAttempts is how many attempts may fail before the job fails
	// (0: 1). Preemption and a scheduler restart do not count.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Expected is how long it is expected to run (0: unknown).
	Expected time.Duration `json:"expected,omitempty"`
	// Parent is the job this one was fanned out from ("" for none).
	Parent string `json:"parent,omitempty"`
}

// Record is a job as the store keeps it.
type Record struct {
	ID    string `json:"id"`
	State State  `json:"status"`
	Spec
	// Submitted, Admitted (the current attempt's start; zero while
	// queued) and Ended (zero until a final state).
	Submitted time.Time `json:"submitted"`
	Admitted  time.Time `json:"admitted,omitzero"`
	Ended     time.Time `json:"ended,omitzero"`
	Borrowed  bool      `json:"borrowed,omitempty"`
	// Attempt is the number of the current or last attempt (0: none yet);
	// Failures counts attempts that failed.
	Attempt  int `json:"attempt"`
	Failures int `json:"failures"`
	// Devices are the GPU ids the current attempt holds ("" for none).
	Devices string `json:"devices,omitempty"`
	// CancelRequested: a user cancelled it while it ran; the scheduler
	// stops it and it ends cancelled.
	CancelRequested bool `json:"cancel_requested,omitempty"`
	// Preempting: the policy is taking its capacity back; the attempt is
	// being stopped and the job goes back to the queue.
	Preempting bool `json:"preempting,omitempty"`
	// Waiting: the running job waits for child jobs it fanned out (a
	// pipeline's candidates); the policy counts none of its request
	// meanwhile, so its children can use it.
	Waiting bool `json:"waiting_for_children,omitempty"`
	// ExitCode is the last attempt's exit status; Message says how the
	// job ended or why it went back to the queue.
	ExitCode int    `json:"exit_code"`
	Message  string `json:"message,omitempty"`
	// Runs are the tracked runs the job produced.
	Runs []string `json:"runs,omitempty"`
}

// Final reports whether s is an end state.
func (s State) Final() bool { return s == Succeeded || s == Failed || s == Cancelled }

// PolicyJob is the record as the policy sees it.
func (r Record) PolicyJob() Job {
	j := Job{ID: r.ID, Team: r.Team, Priority: r.Priority, Flavor: r.Flavor, Request: r.Request, State: r.State,
		Submitted: r.Submitted, Started: r.Admitted, Expected: r.Expected, Borrowed: r.Borrowed, Stopping: r.Preempting || r.CancelRequested}
	if r.Waiting && r.State == Running {
		j.Request = Resources{} // its children hold the capacity
	}
	return j
}

// Pods is how many processes of its request the job runs at once when an
// executor runs its shards together in one Indexed Job: its shards (or
// the ones a retry runs), else 1.
func (r Record) Pods() int {
	base, n := SplitShards(r.Args)
	if r.Shards < 2 || n < 2 {
		return 1
	}
	if _, only, err := SplitIndexes(base); err == nil && len(only) > 0 {
		return len(only)
	}
	return n
}

// Times is r times n.
func (r Resources) Times(n int) Resources {
	return Resources{CPU: r.CPU * float64(n), MemoryGB: r.MemoryGB * float64(n), GPUs: r.GPUs * n}
}

// Outcome is how an attempt ended.
type Outcome string

// Attempt outcomes. Succeeded, Failed and Cancelled end the job (Failed
// only once its failures reach MaxAttempts); Preempted and Lost (the
// process vanished without an exit status: the machine or the executor
// went away) send it back to the queue. Lost counts as a failure.
const (
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeFailed    Outcome = "failed"
	OutcomeCancelled Outcome = "cancelled"
	OutcomePreempted Outcome = "preempted"
	OutcomeLost      Outcome = "lost"
)

// Attempt is one start of a job.
type Attempt struct {
	Job     string    `json:"job"`
	N       int       `json:"attempt"`
	Team    string    `json:"team"`
	Flavor  string    `json:"flavor"`
	GPUs    int       `json:"gpus"`
	CPU     float64   `json:"cpu"`
	Devices string    `json:"devices,omitempty"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	Outcome Outcome   `json:"outcome,omitempty"`
	Exit    int       `json:"exit_code"`
	Message string    `json:"message,omitempty"`
	Log     string    `json:"log,omitempty"` // blob key of its log
}

// GPUHours is the attempt's use up to now (or its end).
func (a Attempt) GPUHours(now time.Time) float64 {
	end := a.Ended
	if end.IsZero() {
		end = now
	}
	if end.Before(a.Started) {
		return 0
	}
	return float64(a.GPUs) * end.Sub(a.Started).Hours()
}

// End is how the scheduler ends an attempt.
type End struct {
	Outcome Outcome
	Exit    int
	Message string
	Log     string
}

// JobQuery selects jobs for ListJobs.
type JobQuery struct {
	Team   string
	States []State // none: all
	Parent string
	Limit  int // 0: no limit
}

// Errors of the job store.
var (
	// ErrConflict: the job is no longer in the state the caller saw (another
	// scheduler or a user moved it first).
	ErrConflict = errors.New("job changed state")
	// ErrJobNotFound is an unknown job id.
	ErrJobNotFound = errors.New("no such job")
	// ErrJobFinished refuses to cancel a job that already ended.
	ErrJobFinished = errors.New("job already ended")
)

// Store keeps jobs and their attempts. Every state change is a compare-and-
// set on the state the caller saw, so two schedulers (or a scheduler and a
// restarted one) can never both start or end the same attempt.
type Store interface {
	// SubmitJob queues a new job with a fresh id.
	SubmitJob(ctx context.Context, s Spec) (Record, error)
	GetJob(ctx context.Context, id string) (Record, error)
	// ListJobs returns jobs oldest first.
	ListJobs(ctx context.Context, q JobQuery) ([]Record, error)
	// AdmitJob moves a queued job to admitted and opens its next attempt
	// holding devices; ErrConflict unless it was queued and not cancelled.
	AdmitJob(ctx context.Context, id string, borrowed bool, devices string) (Record, error)
	// StartJob marks attempt running; ErrConflict unless the job is
	// admitted at that attempt.
	StartJob(ctx context.Context, id string, attempt int) error
	// EndAttempt closes attempt with e and moves the job on: to its final
	// state, or back to the queue (preempted, lost, or failed with
	// attempts left). ErrConflict if that attempt already ended.
	EndAttempt(ctx context.Context, id string, attempt int, e End) (Record, error)
	// PreemptJob marks the running attempt as being preempted, so that
	// however it exits (and whoever sees it exit, after a restart) it ends
	// OutcomePreempted; ErrConflict unless the job is at that attempt.
	PreemptJob(ctx context.Context, id string, attempt int, why string) error
	// SetWaiting says whether the running attempt waits for its child
	// jobs; ErrConflict unless the job runs at that attempt.
	SetWaiting(ctx context.Context, id string, attempt int, waiting bool) error
	// CancelJob ends a queued job cancelled at once and asks for a
	// running one to be stopped; ErrJobFinished if it had ended.
	CancelJob(ctx context.Context, id, why string) (Record, error)
	Attempts(ctx context.Context, id string) ([]Attempt, error)
	// AttemptsSince returns the attempts still open or ended after t, for
	// the teams' decayed usage.
	AttemptsSince(ctx context.Context, t time.Time) ([]Attempt, error)
	// LinkRun records that the job produced a run.
	LinkRun(ctx context.Context, id, run string) error
	// AcquireLease takes or renews the named lease for holder until ttl
	// from now; false when another holder's lease has not expired.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives it up if holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Next is the state a job moves to when attempt ends with o, given its
// failures so far (before this attempt) and its limit.
func Next(o Outcome, failures, maxAttempts int, cancelRequested bool) (State, int) {
	if maxAttempts <= 0 {
		maxAttempts = 1
	}
	switch o {
	case OutcomeSucceeded:
		return Succeeded, failures
	case OutcomeCancelled:
		return Cancelled, failures
	case OutcomePreempted:
		if cancelRequested {
			return Cancelled, failures
		}
		return Queued, failures
	}
	failures++
	if cancelRequested {
		return Cancelled, failures
	}
	if failures >= maxAttempts {
		return Failed, failures
	}
	return Queued, failures
}

// Usage sums the teams' GPU-hours of attempts, decayed by their age at now
// with halfLife: the policy's fair-share memory. An open attempt counts up
// to now, undecayed.
func Usage(attempts []Attempt, now time.Time, halfLife time.Duration) map[string]float64 {
	u := map[string]float64{}
	for _, a := range attempts {
		age := time.Duration(0)
		if !a.Ended.IsZero() {
			age = now.Sub(a.Ended)
		}
		u[a.Team] += Decay(a.GPUHours(now), age, halfLife)
	}
	return u
}

// Launch is one attempt as the executor starts it.
type Launch struct {
	Job     string
	Attempt int
	Team    string
	// Args are the reckon arguments (the executor supplies the binary).
	Args []string
	// Dir is the working directory ("": the executor's own).
	Dir string
	// Env are extra KEY=VALUE pairs.
	Env []string
	CPU float64
	// Devices are the GPU ids the attempt may use ("" for none): the
	// local executor sets CUDA_VISIBLE_DEVICES to them.
	Devices string
	// Flavor, Request and Shards are the job's, for executors that ask
	// a cluster for the resources (the local one has its slots).
	Flavor  string
	Request Resources
	Shards  int
}

// Status is what an executor knows of an attempt.
type Status struct {
	Phase Phase
	// Exit is the exit status once Phase is Exited (-1: killed by a
	// signal); Message says more (the signal, who stopped it).
	Exit    int
	Message string
	// Cancelled: it exited because it was cancelled (SIGTERM, then
	// SIGKILL after the grace period).
	Cancelled bool
}

// Phase of an attempt in the executor.
type Phase string

// Attempt phases. Unknown: the executor never started it (a scheduler died
// between admitting and starting). Lost: it started but is gone without an
// exit status.
const (
	PhaseUnknown Phase = "unknown"
	PhaseRunning Phase = "running"
	PhaseExited  Phase = "exited"
	PhaseLost    Phase = "lost"
)

// ErrStarted: the attempt was already started; Start never starts an
// attempt twice.
var ErrStarted = errors.New("attempt already started")

// Executor runs attempts. Everything it needs to find an attempt again is
// derived from (job, attempt), so a scheduler restarted in the middle
// picks up what the previous one started. All implementations pass
// sched/exectest.
type Executor interface {
	// Start starts the attempt, or returns ErrStarted if it ever was.
	Start(ctx context.Context, l Launch) error
	// Status says whether the attempt runs, exited (with what) or is lost.
	Status(ctx context.Context, job string, attempt int) (Status, error)
	// Cancel asks the attempt to stop: SIGTERM, then SIGKILL after the
	// executor's grace period. It returns at once; Status says when it
	// has stopped. Cancelling an attempt that ended is not an error.
	Cancel(ctx context.Context, job string, attempt int) error
	// Logs reads the attempt's output so far (stdout and stderr).
	Logs(ctx context.Context, job string, attempt int) (io.ReadCloser, error)
}

// ValidName checks a team name given on a command line.
func ValidName(what, s string) error {
	if s == "" || strings.ContainsAny(s, " /@:\t\n") {
		return fmt.Errorf("%s %q: want a name without spaces, '/', '@' or ':'", what, s)
	}
	return nil
}

// ShardFlag is what a batch prediction with shards carries in its
// arguments (reckon predict ... --fan-out N): the local scheduler runs one
// child job per shard, the Kubernetes executor an Indexed Job.
const ShardFlag = "--fan-out"

// SplitShards takes ShardFlag N out of a sharded job's arguments: the
// arguments without it and N (0 when absent or not a number).
func SplitShards(args []string) ([]string, int) {
	var base []string
	n := 0
	for i := 0; i < len(args); i++ {
		if args[i] == ShardFlag && i+1 < len(args) {
			n, _ = strconv.Atoi(args[i+1])
			i++
			continue
		}
		base = append(base, args[i])
	}
	return base, n
}

// IndexesFlag narrows a sharded prediction to some of its shards
// (reckon predict ... --fan-out N --indexes 1,3): reckon jobs retry
// --failed re-runs only the shards that did not complete.
const IndexesFlag = "--indexes"

// SplitIndexes takes IndexesFlag LIST out of args: the arguments without
// it and the shard indexes (nil when absent), or an error for a list that
// is not comma-separated numbers.
func SplitIndexes(args []string) ([]string, []int, error) {
	var base []string
	var idx []int
	for i := 0; i < len(args); i++ {
		if args[i] == IndexesFlag && i+1 < len(args) {
			for _, s := range strings.Split(args[i+1], ",") {
				n, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || n < 0 {
					return nil, nil, fmt.Errorf("%s %q: want shard indexes such as 1,3", IndexesFlag, args[i+1])
				}
				idx = append(idx, n)
			}
			i++
			continue
		}
		base = append(base, args[i])
	}
	return base, idx, nil
}

// JoinIndexes writes shard indexes as IndexesFlag's value.
func JoinIndexes(idx []int) string {
	s := make([]string, len(idx))
	for i, n := range idx {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
