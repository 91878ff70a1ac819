package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/localexec"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/workspace"
)

// queuesFile is the queues the scheduler and jobs commands use: --queues,
// else HOME/queues.yaml when it exists, else the default queue.
func (a *app) loadQueues(file string) (*sched.Queues, error) {
	if file == "" {
		if p := a.homePath("queues.yaml"); fileExists(p) {
			file = p
		}
	}
	if file == "" {
		return sched.DefaultQueues(), nil
	}
	return sched.LoadQueues(file)
}

// openQueues loads the queues and opens the workspace their jobs are in.
func (a *app) openQueues(ctx context.Context, file string) (*sched.Queues, *workspace.Workspace, error) {
	q, err := a.loadQueues(file)
	if err != nil {
		return nil, nil, err
	}
	ws, err := a.openWorkspace(ctx)
	return q, ws, err
}

// jobService is the jobs API: the server's with --server, else the store's
// here (with this home's executor for the output of running attempts).
func (a *app) jobService(ctx context.Context, queuesFile string) (scheduler.Service, func(), error) {
	if c, err := a.remote(); err != nil || c != nil {
		if err == nil && queuesFile != "" {
			err = errors.New("--queues: with --server the server's queues apply")
		}
		return c, func() {}, err
	}
	q, ws, err := a.openQueues(ctx, queuesFile)
	if err != nil {
		return nil, nil, err
	}
	x, err := a.localExecutor(0)
	if err != nil {
		ws.Close()
		return nil, nil, err
	}
	return &scheduler.Local{Jobs: ws.Jobs, Queues: q, Blobs: ws.Blobs, Exec: x}, func() { ws.Close() }, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func (a *app) jobsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "jobs",
		Short: "Submit work to the team scheduler, list it, see why it waits, cancel it, read its logs",
		Long: `Jobs are pipeline runs, batch predictions or any reckon command, queued per
team and started by the scheduler (reckon scheduler) when the team's share
of the capacity allows. Each job asks for CPUs, memory and GPUs of a flavor;
the queues (reckon queues) say what each team is guaranteed and may borrow.

  reckon jobs submit -f pipeline.yaml --team tumor
  reckon jobs ls
  reckon jobs why j2
  reckon scheduler --exit-when-idle

The queues come from --queues FILE, else HOME/queues.yaml if it exists, else
the default: this machine's cores (and GPUs), shared equally by the teams
that submit.`,
	}
	var queuesFile string
	c.PersistentFlags().StringVar(&queuesFile, "queues", "", "queues file (default HOME/queues.yaml if it exists, else one queue for this machine)")
	c.AddCommand(a.jobsSubmitCmd(&queuesFile), a.jobsLsCmd(), a.jobsShowCmd(&queuesFile), a.jobsWhyCmd(&queuesFile), a.jobsCancelCmd(), a.jobsLogsCmd(), a.jobsRetryCmd())
	return c
}

func (a *app) jobsRetryCmd() *cobra.Command {
	var failed bool
	c := &cobra.Command{
		Use:   "retry --failed ID",
		Short: "Re-run only the shards of a sharded prediction that did not complete",
		Long: `Submit a job that runs only the shards of prediction job ID whose output in
its --out-dir is missing or interrupted: on Kubernetes, the indexes that
crashed through their retries (Kubernetes itself cannot re-run some indexes
of an Indexed Job). A shard that completed, its failed records in the errors
file included, is not run again. The new job has the same team, request and
priority; once it has succeeded, reckon predict merge OUT-DIR --out-dir
OUT-DIR/merged joins the old shards and the new (after reckon predict fetch
OUT-DIR when the pods handed their files over through the blob store, as
reckon predict --on kube's do).`,
		Example: `  reckon jobs retry --failed j7
  reckon scheduler --executor kube --image reckon:1.4 --exit-when-idle
  reckon predict fetch preds/
  reckon predict merge preds/ --out-dir preds/merged`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !failed {
				return errors.New("give --failed: only the shards that did not complete are retried (resubmit a whole job with reckon jobs submit)")
			}
			ws, err := a.openWorkspace(cmd.Context())
			if err != nil {
				return err
			}
			defer ws.Close()
			// A job whose pods handed their files over through the blobs:
			// bring what they finished into OUT-DIR first, so only the
			// rest is retried.
			if j, err := ws.Jobs.GetJob(cmd.Context(), args[0]); err == nil && slices.Contains(j.Args, "--via-blobs") {
				if i := slices.Index(j.Args, "--out-dir"); i >= 0 && i+1 < len(j.Args) {
					if _, err := a.fetchOutputs(cmd.Context(), j.Args[i+1]); err != nil {
						return err
					}
				}
			}
			r, shards, err := scheduler.RetryFailed(cmd.Context(), ws.Jobs, args[0])
			if err != nil {
				return err
			}
			return a.report(r, func(w io.Writer) {
				fmt.Fprintf(w, "%s queued for team %s: shards %s of %s again\n", r.ID, r.Team, sched.JoinIndexes(shards), args[0])
			})
		},
	}
	c.Flags().BoolVar(&failed, "failed", false, "re-run only the shards that did not complete")
	return c
}

func (a *app) jobsSubmitCmd(queuesFile *string) *cobra.Command {
	var s scheduler.Submission
	c := &cobra.Command{
		Use:   "submit (-f PIPELINE.yaml | --predict -- PREDICT-ARGS | -- RECKON-ARGS) [--team T] [--gpus N --flavor F --priority P]",
		Short: "Queue a pipeline, a batch prediction or a reckon command as a job of a team",
		Long: `Queue a job. It runs when the scheduler (reckon scheduler) admits it: in
weighted fair-share order between teams (by their GPU-hours of the last
weeks, decayed with the queues' half-life), then priority, then age.

A pipeline job runs reckon run -f on the file (checked now, so a broken file
is refused at once); --team defaults to the pipeline's team. --predict runs
reckon predict with the arguments after --, and --shards N cuts it into N
shard jobs (each reckon predict --shard i/N, its status in reckon jobs show)
merged into OUT-DIR/merged once all have ended; anything else after -- is
any reckon command. Relative paths are read from the directory you submit from.

The request (--cpu, --memory-gb, --gpus of --flavor) must fit the flavor's
capacity in the queues, or the job could never start. --expected lets the
scheduler plan around the job: a job whose expected end comes before a
reservation may start (backfill) ahead of a larger one.`,
		Example: `  reckon jobs submit -f reckon-examples/tumor/pipeline.yaml
  reckon jobs submit -f reckon-examples/reentry/pipeline.yaml --team reentry --gpus 8 --expected 1h
  reckon jobs submit --team tumor --predict -- --model tumor@champion --data new.csv --out-dir preds
  reckon jobs submit --team tumor --predict --shards 4 -- --model tumor@champion --data new.csv --out-dir preds
  reckon jobs submit --team tumor -- data gen reentry --count 500 --out-dir tracks`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n := cmd.ArgsLenAtDash(); n > 0 || (n < 0 && len(args) > 0) {
				return fmt.Errorf("unexpected argument %q: put the command's arguments after --", args[0])
			}
			s.Args = args
			dir, err := os.Getwd()
			if err != nil {
				return err
			}
			s.Dir, s.User = dir, currentUser()
			svc, done, err := a.jobService(cmd.Context(), *queuesFile)
			if err != nil {
				return err
			}
			defer done()
			r, err := svc.Submit(cmd.Context(), s)
			if err != nil {
				return err
			}
			return a.report(r, func(w io.Writer) {
				fmt.Fprintf(w, "%s queued for team %s: %s (%s)\n", r.ID, r.Team, strings.Join(r.Args, " "), request(r))
				fmt.Fprintf(w, "next: reckon jobs why %s   (the scheduler starts it: reckon scheduler)\n", r.ID)
			})
		},
	}
	f := c.Flags()
	f.StringVarP(&s.Pipeline, "file", "f", "", "pipeline file to run as the job")
	f.BoolVar(&s.Predict, "predict", false, "the job is reckon predict with the arguments after --")
	f.IntVar(&s.Shards, "shards", 0, "with --predict: cut the prediction into this many shard jobs, run in parallel and merged into OUT-DIR/merged")
	f.StringVar(&s.Team, "team", "", "the team whose queue it joins (default: the pipeline's team)")
	f.IntVar(&s.GPUs, "gpus", 0, "GPUs it needs")
	f.StringVar(&s.Flavor, "flavor", "", "resource flavor (default: the first with GPUs when --gpus > 0, else cpu)")
	f.Float64Var(&s.CPU, "cpu", 1, "CPUs it needs")
	f.Float64Var(&s.MemoryGB, "memory-gb", 0, "memory it needs in GB (0: not counted)")
	f.StringVar(&s.Priority, "priority", "", "priority: a number or a class of the queues (default: class normal if defined, else 0)")
	f.DurationVar(&s.Expected, "expected", 0, "how long it is expected to run (0: unknown); lets it backfill and others plan around it")
	f.IntVar(&s.MaxAttempts, "max-attempts", 1, "attempts that may fail before the job fails (preemption does not count)")
	return c
}

func request(r sched.Record) string { return r.Flavor + ": " + r.Request.Amount() }

func (a *app) jobsLsCmd() *cobra.Command {
	var q sched.JobQuery
	var status string
	c := &cobra.Command{
		Use:   "ls [--team T] [--status S]",
		Short: "List jobs, oldest first",
		Example: `  reckon jobs ls
  reckon jobs ls --team tumor --status queued
  reckon jobs ls --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range strings.Split(status, ",") {
				if s == "" {
					continue
				}
				st := sched.State(s)
				switch st {
				case sched.Queued, sched.Admitted, sched.Running, sched.Succeeded, sched.Failed, sched.Cancelled:
				default:
					return fmt.Errorf("--status %q: want queued, admitted, running, succeeded, failed or cancelled (comma-separated)", s)
				}
				q.States = append(q.States, st)
			}
			svc, done, err := a.jobService(cmd.Context(), "")
			if err != nil {
				return err
			}
			defer done()
			jobs, err := svc.ListJobs(cmd.Context(), q)
			if err != nil {
				return err
			}
			return a.report(jobs, func(w io.Writer) {
				if len(jobs) == 0 {
					fmt.Fprintln(w, "no jobs (reckon jobs submit queues one)")
					return
				}
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "id\tteam\tuser\tkind\tname\tstatus\tattempt\tsubmitted\trequest")
				for _, j := range jobs {
					st := string(j.State)
					if j.CancelRequested && !j.State.Final() {
						st += " (cancelling)"
					} else if j.Preempting {
						st += " (preempting)"
					} else if j.Waiting {
						st += " (waiting for its candidates' jobs)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", j.ID, j.Team, j.User, j.Kind, j.Name, st, j.Attempt, j.Submitted.Format(time.DateTime), request(j))
				}
				tw.Flush()
			})
		},
	}
	c.Flags().StringVar(&q.Team, "team", "", "only this team's jobs")
	c.Flags().StringVar(&status, "status", "", "only jobs in these states (comma-separated)")
	c.Flags().IntVar(&q.Limit, "limit", 0, "only the newest N (0: all)")
	return c
}

func (a *app) jobsShowCmd(queuesFile *string) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show a job: its request, state, attempts, the runs it produced and why it is where it is",
		Example: "  reckon jobs show j3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := a.jobService(cmd.Context(), *queuesFile)
			if err != nil {
				return err
			}
			defer done()
			view, err := svc.Job(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.report(view, func(w io.Writer) {
				j := view.Record
				fmt.Fprintf(w, "job %s: %s of team %s, submitted by %s at %s\n", j.ID, j.Kind, j.Team, j.User, j.Submitted.Format(time.DateTime))
				fmt.Fprintf(w, "runs: reckon %s\n", strings.Join(j.Args, " "))
				if j.Dir != "" {
					fmt.Fprintf(w, "in: %s\n", j.Dir)
				}
				fmt.Fprintf(w, "request: %s; priority %d; attempts allowed %d", request(j), j.Priority, max(j.MaxAttempts, 1))
				if j.Expected > 0 {
					fmt.Fprintf(w, "; expected %s", j.Expected)
				}
				fmt.Fprintf(w, "\nstatus: %s\n", j.State)
				for _, t := range view.Attempts {
					end := "running"
					if !t.Ended.IsZero() {
						end = fmt.Sprintf("%s after %s, exit %d", t.Outcome, t.Ended.Sub(t.Started).Round(time.Second), t.Exit)
					}
					fmt.Fprintf(w, "  attempt %d: started %s, %s", t.N, t.Started.Format(time.DateTime), end)
					if t.Devices != "" {
						fmt.Fprintf(w, ", GPUs %s", t.Devices)
					}
					if t.Message != "" {
						fmt.Fprintf(w, " (%s)", t.Message)
					}
					fmt.Fprintln(w)
				}
				for _, k := range view.Children {
					fmt.Fprintf(w, "  child %s: %s, %s (attempt %d)", k.ID, k.Name, k.State, k.Attempt)
					if k.Message != "" && k.State != sched.Succeeded {
						fmt.Fprintf(w, ": %s", k.Message)
					}
					fmt.Fprintln(w)
				}
				for _, r := range j.Runs {
					fmt.Fprintf(w, "run: %s   (reckon runs show %s)\n", r, r)
				}
				fmt.Fprintln(w, view.Why)
			})
		},
	}
}

func (a *app) jobsWhyCmd(queuesFile *string) *cobra.Command {
	var executor string
	var k kubeFlags
	c := &cobra.Command{
		Use:   "why ID",
		Short: "Say why a job waits (or how it ended), with the numbers",
		Long: `Say why a job is where it is. For a queued job this is the scheduling
policy's answer now, the same the scheduler's next round would give: its
position in its team's queue and overall, which resource is short and by how
much, which teams are borrowing it, when it is expected to start and what
would make it start sooner.

With --executor kube, a job started on a cluster whose Kueue admits (reckon
scheduler --executor kube --kueue) also gets Kueue's answer: the conditions
of its Workload (quota reserved or not, admitted, evicted) with Kueue's
message.`,
		Example: "  reckon jobs why j7\n  reckon jobs why j7 --json\n  reckon jobs why j7 --executor kube --namespace ml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := a.jobService(cmd.Context(), *queuesFile)
			if err != nil {
				return err
			}
			defer done()
			v, err := svc.Why(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if executor == "kube" && a.server != "" {
				return errors.New("--executor kube: ask the cluster from where its kubeconfig is, without --server")
			}
			if executor == "kube" && (v.Status == sched.Admitted || v.Status == sched.Running) {
				if k.image == "" {
					k.image = "-" // only read from the cluster
				}
				x, err := k.executor(cmd.Context())
				if err != nil {
					return err
				}
				defer x.Close()
				kw, suspended, err := x.Why(cmd.Context(), v.ID, v.Attempt)
				if err != nil {
					return err
				}
				switch {
				case suspended:
					v.Text = fmt.Sprintf("%s waits for Kueue: its Job (attempt %d) is suspended until Kueue admits it. %s", v.ID, v.Attempt, kw)
				case kw != "":
					v.Text += " " + kw
				}
			}
			return a.report(v, func(w io.Writer) { fmt.Fprintln(w, v.Text) })
		},
	}
	c.Flags().StringVar(&executor, "executor", "local", "local, or kube: ask the cluster's Kueue too")
	k.add(c.Flags())
	return c
}

func (a *app) jobsCancelCmd() *cobra.Command {
	var reason string
	c := &cobra.Command{
		Use:   "cancel ID...",
		Short: "Cancel jobs: a queued one at once, a running one with SIGTERM (SIGKILL after the grace period)",
		Long: `Cancel jobs. A queued job ends cancelled at once. A running job is stopped
by the scheduler in its next round: SIGTERM, then SIGKILL after the
scheduler's --grace; a pipeline keeps its finished steps and checkpoints, so
submitting it again resumes.`,
		Example: "  reckon jobs cancel j3 j4",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := a.jobService(cmd.Context(), "")
			if err != nil {
				return err
			}
			defer done()
			why := "cancelled by " + currentUser()
			if a.server != "" {
				why = reason // the server names the token's user
			} else if reason != "" {
				why += ": " + reason
			}
			var out []sched.Record
			for _, id := range args {
				r, err := svc.Cancel(cmd.Context(), id, why)
				if err != nil {
					return err
				}
				out = append(out, r)
			}
			return a.report(out, func(w io.Writer) {
				for _, r := range out {
					if r.State == sched.Cancelled {
						fmt.Fprintf(w, "%s cancelled\n", r.ID)
					} else {
						fmt.Fprintf(w, "%s is %s: the scheduler stops it (SIGTERM, then SIGKILL after its grace period)\n", r.ID, r.State)
					}
				}
			})
		},
	}
	c.Flags().StringVar(&reason, "reason", "", "why, for the job's record")
	return c
}

func (a *app) jobsLogsCmd() *cobra.Command {
	var attempt int
	var follow bool
	c := &cobra.Command{
		Use:   "logs ID",
		Short: "Print a job's output (stdout and stderr of its last attempt, or --attempt N)",
		Example: `  reckon jobs logs j3
  reckon jobs logs j3 --follow
  reckon jobs logs j3 --attempt 1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := a.jobService(cmd.Context(), "")
			if err != nil {
				return err
			}
			defer done()
			if attempt < 0 {
				return fmt.Errorf("--attempt %d: want 1, 2, ... (default: the last)", attempt)
			}
			return scheduler.Follow(cmd.Context(), svc, args[0], attempt, a.out, follow, time.Second)
		},
	}
	c.Flags().IntVar(&attempt, "attempt", 0, "which attempt (default: the last)")
	c.Flags().BoolVarP(&follow, "follow", "F", false, "keep printing while the attempt runs")
	return c
}

// localExecutor is the executor over HOME/jobs, for this store.
func (a *app) localExecutor(grace time.Duration) (*localexec.Executor, error) {
	env := []string{"RECKON_HOME=" + a.home, "RECKON_STORE=" + a.storeURL(), "RECKON_BLOBS=" + a.blobsURL()}
	return localexec.New(localexec.Config{Dir: a.homePath("jobs"), Env: env, Grace: grace})
}

func (a *app) schedulerCmd() *cobra.Command {
	var queuesFile string
	var interval, grace, ttl time.Duration
	var exitWhenIdle bool
	var executor string
	var k kubeFlags
	c := &cobra.Command{
		Use:   "scheduler [--queues FILE] [--exit-when-idle] [--executor kube --image IMAGE]",
		Short: "Run the scheduler: admit queued jobs by fair share and start them on this machine",
		Long: `Run the team scheduler on this machine: every --interval it admits queued
jobs in weighted fair-share order within the teams' quotas, preempts
borrowed capacity a team's nominal quota takes back, and starts admitted
jobs as processes of this reckon binary (GPU ids through
CUDA_VISIBLE_DEVICES), their output in HOME/jobs/ID/ATTEMPT/log and, when
they end, in the blob store as an artifact of the runs they produced.

Only one scheduler runs per store: it holds the store's lease, renewed each
round; another waits until it stops or its lease expires (--lease-ttl).

Ctrl-C stops the scheduler, not the jobs: they run on, and the next
scheduler picks them up where they are. Killed outright (kill -9, a power
cut), it loses nothing either: a restart finds every job's attempt running,
ended or lost from the store and the attempt directories, ends each once,
and starts none twice. --exit-when-idle returns once nothing is queued or
running, for scripts and CI.

--executor kube starts admitted jobs as Kubernetes Jobs instead, in
--namespace, running --image with the store and blob settings of the
--kube-secret Secret; a sharded prediction becomes an Indexed Job, one pod
per shard. Without a queues file (--queues or HOME/queues.yaml) it admits
every job at once and leaves placement to the cluster; with one, the teams'
quotas hold, an Indexed Job counting its request once per shard.
Cancelling deletes the Job and its pods. With --kueue the cluster's
Kueue admits instead of reckon: every job becomes a suspended Job in its
team's LocalQueue (reckon queues export --kueue writes them) and Kueue starts
it when the ClusterQueue has quota; reckon jobs why --executor kube shows
Kueue's reason. With --json it prints one JSON object per
event (job, event: started, ended, requeued or preempted; team, status,
attempt, exit_code, message).`,
		Example: `  reckon scheduler
  reckon scheduler --exit-when-idle
  reckon scheduler --queues queues.yaml --interval 5s
  reckon scheduler --executor kube --image registry.example.com/reckon:1.4 --namespace ml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, ws, err := a.openQueues(cmd.Context(), queuesFile)
			if err != nil {
				return err
			}
			defer ws.Close()
			var x sched.Executor
			var tokens auth.Tokens
			devices, admitAll, indexed := localDevices(q), false, false
			switch executor {
			case "local":
				if x, err = a.localExecutor(grace); err != nil {
					return err
				}
				// Each attempt gets a token of its team and job in
				// RECKON_TOKEN (not on Kubernetes: a pod's environment is
				// in its Job's spec, readable by whoever lists Jobs).
				tokens, _ = ws.Store.(auth.Tokens)
			case "kube":
				k.grace = grace
				kx, err := k.executor(cmd.Context())
				if err != nil {
					return err
				}
				defer kx.Close()
				x, devices = kx, nil // GPUs are the device plugin's to hand out
				// Without a queues file reckon's only queue is this machine's
				// cores, which say nothing of the cluster: the cluster admits.
				admitAll, indexed = k.kueue || q.File == "", true
			default:
				return fmt.Errorf("--executor %q: local or kube", executor)
			}
			host, _ := os.Hostname()
			s, err := scheduler.New(scheduler.Config{Jobs: ws.Jobs, Exec: x, Queues: q, Devices: devices,
				Holder: fmt.Sprintf("%s:%d", host, os.Getpid()), LeaseTTL: ttl, Runs: ws.Store, Blobs: ws.Blobs, Log: a.log, AdmitAll: admitAll, IndexedShards: indexed, Tokens: tokens})
			if err != nil {
				return err
			}
			src := q.File
			if src == "" {
				src = "the default queue (this machine)"
			}
			a.log.Info("scheduler running", "queues", src, "store", a.storeName(), "interval", interval)
			enc := json.NewEncoder(a.out)
			event := func(id, what string) {
				ev := schedulerEvent{Job: id, Event: what}
				if j, err := ws.Jobs.GetJob(cmd.Context(), id); err == nil {
					ev.Team, ev.Status, ev.Attempt, ev.Exit, ev.Message = j.Team, j.State, j.Attempt, j.ExitCode, j.Message
				}
				if a.json {
					enc.Encode(ev)
					return
				}
				switch what {
				case "ended":
					fmt.Fprintf(a.out, "%s %s (attempt %d, exit %d)\n", id, ev.Status, ev.Attempt, ev.Exit)
				case "requeued":
					fmt.Fprintf(a.out, "%s back in the queue (reckon jobs show %s)\n", id, id)
				default:
					fmt.Fprintf(a.out, "%s %s\n", id, what)
				}
			}
			err = s.Run(cmd.Context(), interval, exitWhenIdle, func(rd scheduler.Round) {
				for _, id := range rd.Preempted {
					event(id, "preempted")
				}
				for _, id := range rd.Requeued {
					event(id, "requeued")
				}
				for _, id := range rd.Ended {
					event(id, "ended")
				}
				for _, id := range rd.Started {
					event(id, "started")
				}
			})
			if err != nil {
				return err
			}
			if cmd.Context().Err() != nil {
				fmt.Fprintln(a.out, "scheduler stopped; running jobs go on and the next scheduler picks them up")
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&queuesFile, "queues", "", "queues file (default HOME/queues.yaml if it exists, else one queue for this machine)")
	f.DurationVar(&interval, "interval", time.Second, "time between scheduling rounds")
	f.DurationVar(&grace, "grace", 30*time.Second, "time a cancelled or preempted job has between SIGTERM and SIGKILL")
	f.DurationVar(&ttl, "lease-ttl", 30*time.Second, "how long the store's lease outlives a scheduler that stopped renewing it (killed): the wait before another may take over")
	f.BoolVar(&exitWhenIdle, "exit-when-idle", false, "return once no job is queued or running")
	f.StringVar(&executor, "executor", "local", "where jobs run: local (processes of this machine) or kube (Kubernetes Jobs)")
	k.add(f)
	return c
}

// schedulerEvent is one line of reckon scheduler --json.
type schedulerEvent struct {
	Job     string      `json:"job"`
	Event   string      `json:"event"` // started, ended, requeued, preempted
	Team    string      `json:"team"`
	Status  sched.State `json:"status"`
	Attempt int         `json:"attempt"`
	Exit    int         `json:"exit_code"`
	Message string      `json:"message,omitempty"`
}

// localDevices numbers this machine's GPUs for the flavor that has GPUs:
// the default queue's "gpu", or the one GPU flavor of a queues file (with
// several, the file describes a cluster and no ids are handed out here).
func localDevices(q *sched.Queues) map[string][]string {
	n := sched.LocalGPUs()
	var gpuFlavors []string
	for f, c := range q.Capacity() {
		if c.GPUs > 0 {
			gpuFlavors = append(gpuFlavors, f)
		}
	}
	out := map[string][]string{}
	if n == 0 || len(gpuFlavors) != 1 {
		return out
	}
	for i := range n {
		out[gpuFlavors[0]] = append(out[gpuFlavors[0]], fmt.Sprint(i))
	}
	return out
}

// execAttemptCmd is the local executor's supervisor (not for users).
func (a *app) execAttemptCmd() *cobra.Command {
	return &cobra.Command{
		Use:                localexec.Command,
		Short:              "Supervise one attempt of a job (run by the scheduler)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The supervisor stays to record the exit: a signal is
			// passed on to the job, not taken by cobra's context.
			signal.Ignore(syscall.SIGHUP)
			if code := localexec.Main(args); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
}
