package scheduler

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/batch"

	"github.com/reckon-ml/reckon/pipeline"
	"github.com/reckon-ml/reckon/sched"
)

// Submission is what a user asks for: a pipeline file, a batch prediction
// or any reckon command, and the resources it needs.
type Submission struct {
	// Pipeline is a pipeline file: the job runs reckon run -f on it.
	Pipeline string
	// Predict: Args are reckon predict's arguments.
	Predict bool
	// Shards > 1 splits a prediction into that many shard jobs, merged
	// into OUT-DIR/merged when all have ended.
	Shards int
	// Args are the reckon arguments of a command (or of predict).
	Args []string
	// Team defaults to the pipeline's team.
	Team, User string
	// Flavor defaults to the queues' first flavor with GPUs when GPUs > 0,
	// else "cpu" where there is one, else the first flavor.
	Flavor   string
	GPUs     int
	CPU      float64 // default 1
	MemoryGB float64
	// Priority is a number or a priority class of the queues.
	Priority string
	// Expected defaults to the median run time of the team's last
	// successful jobs of the same name and request.
	Expected    time.Duration
	MaxAttempts int // default 1
	// Dir is where relative paths in Args are read from.
	Dir string
}

// Submit checks a submission against the queues and queues the job: the
// team must have a queue, the flavor be declared, and the request fit the
// flavor's whole capacity (else it could never start).
func Submit(ctx context.Context, js sched.Store, queues *sched.Queues, s Submission) (sched.Record, error) {
	sp := sched.Spec{User: s.User, Team: s.Team, Dir: s.Dir, Expected: s.Expected, MaxAttempts: max(s.MaxAttempts, 1),
		Request: sched.Resources{CPU: s.CPU, MemoryGB: s.MemoryGB, GPUs: s.GPUs}}
	if sp.Request.CPU == 0 {
		sp.Request.CPU = 1
	}
	if sp.Request.CPU < 0 || sp.Request.MemoryGB < 0 || sp.Request.GPUs < 0 || s.Expected < 0 {
		return sched.Record{}, fmt.Errorf("negative request: %+v, expected %s", sp.Request, s.Expected)
	}
	if s.Shards < 0 || s.Shards > 1 && !s.Predict {
		return sched.Record{}, fmt.Errorf("--shards %d: only a batch prediction (--predict) is cut into shards", s.Shards)
	}
	switch {
	case s.Pipeline != "":
		if s.Predict || len(s.Args) > 0 {
			return sched.Record{}, fmt.Errorf("a job runs one thing: a pipeline (-f), a prediction (--predict) or a command (-- ARGS)")
		}
		path := s.Pipeline
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.Dir, path)
		}
		spec, err := pipeline.Load(path)
		if err != nil {
			return sched.Record{}, err
		}
		if sp.Team == "" {
			sp.Team = spec.Team
		}
		sp.Kind, sp.Name, sp.Args = sched.KindPipeline, spec.Name, []string{"run", "-f", path, "--fan-out"}
	case s.Predict:
		if len(s.Args) == 0 {
			return sched.Record{}, fmt.Errorf("--predict: give reckon predict's arguments after --, e.g. -- --model tumor@champion --data new.csv --out-dir preds")
		}
		sp.Kind, sp.Name, sp.Args = sched.KindPredict, "predict", append([]string{"predict"}, s.Args...)
		if s.Shards > 1 {
			for _, a := range s.Args {
				if a == "--shard" || a == "--shards" || strings.HasPrefix(a, "--shard=") || strings.HasPrefix(a, "--shards=") || a == sched.ShardFlag {
					return sched.Record{}, fmt.Errorf("--shards %d: the job picks each shard itself; leave %s out of the prediction's arguments", s.Shards, a)
				}
			}
			sp.Shards = s.Shards
			sp.Args = append(sp.Args, sched.ShardFlag, strconv.Itoa(s.Shards))
		}
	case len(s.Args) > 0:
		if s.Args[0] == "scheduler" || s.Args[0] == "jobs" {
			return sched.Record{}, fmt.Errorf("reckon %s is not a job to schedule", s.Args[0])
		}
		sp.Kind, sp.Name, sp.Args = sched.KindCommand, s.Args[0], slices.Clone(s.Args)
	default:
		return sched.Record{}, fmt.Errorf("nothing to run: give -f PIPELINE.yaml, --predict -- ARGS, or -- ARGS of any reckon command")
	}
	if sp.Team == "" {
		return sched.Record{}, fmt.Errorf("--team: which team's queue is the job for?")
	}
	if err := sched.ValidName("team", sp.Team); err != nil {
		return sched.Record{}, err
	}
	q := queues.ForTeams([]string{sp.Team})
	team := slices.IndexFunc(q.Teams, func(t sched.QueueTeam) bool { return t.Name == sp.Team })
	if team < 0 {
		var names []string
		for _, t := range q.Teams {
			names = append(names, t.Name)
		}
		return sched.Record{}, fmt.Errorf("team %q has no queue in %s (teams: %s)", sp.Team, q.File, strings.Join(names, ", "))
	}
	capacity := q.Capacity()
	sp.Flavor = s.Flavor
	if sp.Flavor == "" {
		sp.Flavor = defaultFlavor(q, capacity, s.GPUs > 0)
	}
	if !slices.Contains(q.Flavors, sp.Flavor) {
		return sched.Record{}, fmt.Errorf("flavor %q: not one of the queues' flavors (%s)", sp.Flavor, strings.Join(q.Flavors, ", "))
	}
	if c := capacity[sp.Flavor]; !c.Fits(sp.Request) {
		return sched.Record{}, fmt.Errorf("the job asks for more than flavor %s has in all, so it could never start: %s", sp.Flavor, c.Short(sp.Request))
	}
	p, err := priority(q, s.Priority)
	if err != nil {
		return sched.Record{}, err
	}
	sp.Priority = p
	if sp.Expected == 0 {
		if sp.Expected, err = expected(ctx, js, sp); err != nil {
			return sched.Record{}, err
		}
	}
	return js.SubmitJob(ctx, sp)
}

// expected is how long the team's last successful jobs of the same name
// and request ran (the median of up to five), so reservations and "when
// will it start" have a number without the user giving --expected; 0
// when there is no history.
func expected(ctx context.Context, js sched.Store, sp sched.Spec) (time.Duration, error) {
	done, err := js.ListJobs(ctx, sched.JobQuery{Team: sp.Team, States: []sched.State{sched.Succeeded}})
	if err != nil {
		return 0, err
	}
	var ds []time.Duration
	for i := len(done) - 1; i >= 0 && len(ds) < 5; i-- {
		j := done[i]
		if j.Name == sp.Name && j.Kind == sp.Kind && j.Request == sp.Request && j.Parent == "" && !j.Admitted.IsZero() {
			ds = append(ds, j.Ended.Sub(j.Admitted))
		}
	}
	if len(ds) == 0 {
		return 0, nil
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

func defaultFlavor(q *sched.Queues, capacity map[string]sched.Resources, gpus bool) string {
	if gpus {
		for _, f := range q.Flavors {
			if capacity[f].GPUs > 0 {
				return f
			}
		}
	}
	if slices.Contains(q.Flavors, "cpu") {
		return "cpu"
	}
	return q.Flavors[0]
}

// priority reads a number or a class name.
func priority(q *sched.Queues, s string) (int, error) {
	if s == "" {
		if p, ok := q.PriorityClasses["normal"]; ok {
			return p, nil
		}
		return 0, nil
	}
	if p, ok := q.PriorityClasses[s]; ok {
		return p, nil
	}
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 {
		classes := "the queues define none"
		if len(q.PriorityClasses) > 0 {
			classes = strings.Join(slices.Sorted(maps.Keys(q.PriorityClasses)), ", ")
		}
		return 0, fmt.Errorf("--priority %q: want a number >= 0 or a priority class (%s)", s, classes)
	}
	return p, nil
}

// RetryFailed is reckon jobs retry --failed: for a sharded prediction job
// that has ended, it submits a job of the same team, request and priority
// that runs only the shards whose output in OUT-DIR is missing or
// interrupted (those that crashed through their retries, or were never
// run); a shard that completed, with failed records or not, is not run
// again. It returns the new job and the shards it runs; once it has
// succeeded, reckon predict merge OUT-DIR joins old and new shards.
func RetryFailed(ctx context.Context, js sched.Store, id string) (sched.Record, []int, error) {
	j, err := js.GetJob(ctx, id)
	if err != nil {
		return sched.Record{}, nil, err
	}
	base, n := sched.SplitShards(j.Args)
	if j.Kind != sched.KindPredict || n < 2 {
		return sched.Record{}, nil, fmt.Errorf("%s is not a sharded prediction (submitted with --predict --shards N): resubmit it instead", id)
	}
	if !j.State.Final() {
		return sched.Record{}, nil, fmt.Errorf("%s is %s: retry it once it has ended (reckon jobs cancel %s stops it)", id, j.State, id)
	}
	base, _, err = sched.SplitIndexes(base)
	if err != nil {
		return sched.Record{}, nil, err
	}
	out := flagValue(base, "--out-dir", "--out")
	if out == "" {
		return sched.Record{}, nil, fmt.Errorf("%s: no --out-dir in its arguments %q", id, j.Args)
	}
	if !filepath.IsAbs(out) {
		out = filepath.Join(j.Dir, out)
	}
	states, err := batch.Status(out)
	if err != nil {
		return sched.Record{}, nil, err
	}
	var todo []int
	seen := map[int]bool{}
	for _, s := range states {
		if s.Shard.N == n {
			seen[s.Shard.I] = true
			if s.State != "complete" {
				todo = append(todo, s.Shard.I)
			}
		}
	}
	for i := range n {
		if !seen[i] {
			todo = append(todo, i)
		}
	}
	slices.Sort(todo)
	if len(todo) == 0 {
		return sched.Record{}, nil, fmt.Errorf("every shard of %s is complete in %s: nothing to retry (reckon predict merge %s --out-dir %s)", id, out, out, filepath.Join(out, "merged"))
	}
	sp := j.Spec
	sp.Parent, sp.Name = "", j.Name+"/retry"
	sp.Args = append(append(slices.Clone(base), sched.ShardFlag, strconv.Itoa(n)), sched.IndexesFlag, sched.JoinIndexes(todo))
	r, err := js.SubmitJob(ctx, sp)
	return r, todo, err
}

// flagValue is the value of the first of names in args (--name V or
// --name=V).
func flagValue(args []string, names ...string) string {
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v
			}
		}
	}
	return ""
}
