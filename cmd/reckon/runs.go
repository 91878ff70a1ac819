package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/pipeline"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/trackmodel"
	"github.com/reckon-ml/reckon/workspace"
)

// runOptions are run's flags, with the pipeline file read and checked.
type runOptions struct {
	file      string
	noCache   bool
	allowData []string
	fanOut    bool
	candidate string
	on        string
	team      string
	kube      kubeFlags
	spec      *pipeline.Spec
}

func (a *app) runCmd() *cobra.Command { return a.newRunCmd(a.runRun) }

func (a *app) newRunCmd(runF func(context.Context, *runOptions) error) *cobra.Command {
	o := &runOptions{}
	c := &cobra.Command{
		Use:   "run -f PIPELINE.yaml",
		Short: "Run a pipeline: data, split, features, candidates, selection, registration",
		Long: `Run a pipeline file as runs in the tracking store.

A pipeline declares a data source (a CSV table, a track directory or the
reentry generator), a split, features, a list of candidate models, a
selection policy and the registry model and alias the winner takes; see
examples/tumor/pipeline.yaml and examples/reentry/pipeline.yaml.

Every step runs as a run of its own (child of the pipeline's run), and its
output is cached under a key made of the step's configuration, the hashes of
its inputs and the code version (the sha256 of the reckon executable). An
unchanged re-run reuses every step and says so; --no-cache runs them all.

Selection scores this run's candidates and the current champion (retrained
per fold for tables; on the same held-out flights for tracks) and moves the
alias only when the policy prefers a newcomer, in the same transaction that
records why; otherwise the best newcomer is registered without the alias and
the reason is its note.

Ctrl-C (or a killed process) leaves every finished step cached; long
training steps store checkpoints (checkpoint_every) and the next run of the
same pipeline resumes from them.

Data paths in the file (data.table, data.tracks, split.folds) are relative
to it and must stay inside its directory, symlinks followed: a pipeline
someone hands you cannot read ~/.ssh. --allow-data DIR admits another
directory.

--on kube runs the pipeline as a job on Kubernetes and waits for it: the
pipeline's pod trains each candidate as a Job of its own, in parallel, and
selects once all have ended (as reckon jobs submit -f does on this machine).
The pods read the pipeline file and its data at the same absolute paths (a
volume the nodes share) and the store and blobs from the --kube-secret Secret.`,
		Example: `  reckon run -f examples/tumor/pipeline.yaml
  reckon run -f examples/reentry/pipeline.yaml --store postgres://reckon:pw@db/reckon
  reckon models show tumor@champion
  reckon run -f /shared/tumor/pipeline.yaml --on kube --image registry.example.com/reckon:1.4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.file == "" {
				return errors.New("-f PIPELINE.yaml is required (see examples/tumor/pipeline.yaml)")
			}
			// The whole file is checked (kinds, params, policy) before
			// anything runs.
			var err error
			if o.spec, err = pipeline.Load(o.file); err != nil {
				return err
			}
			return runF(cmd.Context(), o)
		},
	}
	c.Flags().StringVarP(&o.file, "file", "f", "", "pipeline file (YAML)")
	c.Flags().BoolVar(&o.noCache, "no-cache", false, "run every step even when its cached output matches")
	c.Flags().StringArrayVar(&o.allowData, "allow-data", nil, "a directory outside the pipeline file's own that its data paths may read (repeatable)")
	c.Flags().BoolVar(&o.fanOut, "fan-out", false, "inside a scheduler job: train the candidates as parallel child jobs, then select (reckon jobs submit -f sets it)")
	c.Flags().StringVar(&o.on, "on", "", `"kube": run it as a job on Kubernetes, its candidates as parallel Jobs, and wait`)
	c.Flags().StringVar(&o.team, "team", "", "with --on kube: the team whose queue the job joins (default: the pipeline's team)")
	o.kube.add(c.Flags())
	c.Flags().StringVar(&o.candidate, "candidate", "", "train only this candidate and stop before selection (a fanned-out child job)")
	return c
}

func (a *app) runRun(ctx context.Context, o *runOptions) error {
	switch o.on {
	case "":
	case "kube":
		return a.runOnKube(ctx, o)
	default:
		return fmt.Errorf("--on %q: the one place to run elsewhere is kube", o.on)
	}
	p, err := a.openWorkspace(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	env := a.pipelineEnv(p, o.noCache, o.allowData...)
	env.Only = o.candidate
	if o.fanOut {
		job, attempt := os.Getenv("RECKON_JOB"), os.Getenv("RECKON_ATTEMPT")
		n, err := strconv.Atoi(attempt)
		if job == "" || err != nil {
			return errors.New("--fan-out runs only inside a scheduler job ($RECKON_JOB and $RECKON_ATTEMPT unset): submit the pipeline with reckon jobs submit -f")
		}
		env.FanOut = scheduler.FanOut(p.Jobs, job, n, o.file, time.Second, env.Log)
	}
	res, err := pipeline.Run(ctx, env, o.spec)
	if err != nil {
		return err
	}
	if o.candidate != "" {
		return a.report(res, func(w io.Writer) {
			for _, st := range res.Steps {
				fmt.Fprintf(w, "%s: cached %v, run %s, %.1f s\n", st.Name, st.Cached, st.RunID, st.Seconds)
			}
			fmt.Fprintf(w, "candidate %s trained (pipeline run %s); selection is the parent's\n", o.candidate, res.RunID)
		})
	}
	return a.report(res, func(w io.Writer) { printPipeline(w, res) })
}

func (a *app) pipelineEnv(p *workspace.Workspace, noCache bool, allowData ...string) pipeline.Env {
	log := a.err
	if a.progressOut() == nil {
		log = io.Discard
	}
	// Beat well inside --stale-after, so a live run is never taken for dead.
	beat := min(5*time.Second, a.staleAfter/4)
	return pipeline.Env{Store: p.Store, Blobs: p.Blobs, Code: workspace.CodeVersion(), User: currentUser(), DataDir: a.homePath("data"),
		NoCache: noCache, AllowData: allowData, Log: log, Progress: a.bars, Heartbeat: beat}
}

func (a *app) runPipeline(ctx context.Context, p *workspace.Workspace, spec *pipeline.Spec, noCache bool, allowData ...string) (*pipeline.Result, error) {
	return pipeline.Run(ctx, a.pipelineEnv(p, noCache, allowData...), spec)
}

func printPipeline(w io.Writer, r *pipeline.Result) {
	cached := 0
	for _, s := range r.Steps {
		if s.Cached {
			cached++
		}
	}
	fmt.Fprintf(w, "== pipeline %s: run %s, data %s %s (%d rows/tracks)\n", r.Pipeline, r.RunID, r.Data.Name, short(r.Data.Hash), r.Data.Rows)
	fmt.Fprintf(w, "steps: %d run, %d reused from the cache\n", len(r.Steps)-cached, cached)
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "step\tcached\trun\tseconds")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%v\t%s\t%.1f\n", s.Name, s.Cached, s.RunID, s.Seconds)
	}
	tw.Flush()
	fmt.Fprintln(w)
	keys := headlineMetrics(r.Candidates)
	tw = newTabWriter(w)
	fmt.Fprintln(tw, "candidate\tkind\t"+strings.Join(keys, "\t"))
	for _, c := range r.Candidates {
		name := c.Name
		if c.Champion {
			name += " (champion)"
		}
		row := []string{name, c.Kind}
		for _, k := range keys {
			row = append(row, fmt.Sprintf("%.4f", c.Metrics[k]))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nwinner: %s (ranking %s)\nwhy: %s\n", r.Winner, strings.Join(r.Ranking, " > "), r.Reason)
	moved := "alias " + r.Alias + " not moved"
	if r.AliasMoved {
		moved = "alias " + r.Alias + " moved to it"
	}
	fmt.Fprintf(w, "%s %s:%d (%s); %s\n", r.Action, r.Registered.Model, r.Registered.Version, r.Registered.Kind, moved)
}

// headlineMetrics picks the columns worth a table: the reentry, the
// classification or the regression headline, whichever the candidates have.
func headlineMetrics(cs []pipeline.Candidate) []string {
	for _, set := range [][]string{{"rmse_s", "mae_s", "max_abs_error_s"}, {"roc_auc", "accuracy", "log_loss"}, regressionHeadline} {
		if len(cs) > 0 {
			if _, ok := cs[0].Metrics[set[0]]; ok {
				var extra, horizons []string
				for k := range cs[0].Metrics {
					if strings.HasPrefix(k, "recall[") || strings.HasPrefix(k, "precision[") {
						extra = append(extra, k)
					}
					if _, ok := trackmodel.ParseHorizonKey(k); ok {
						horizons = append(horizons, k)
					}
				}
				slices.Sort(extra)
				// A forecast's RMSE per horizon, nearest horizon first.
				slices.SortFunc(horizons, func(a, b string) int {
					ha, _ := trackmodel.ParseHorizonKey(a)
					hb, _ := trackmodel.ParseHorizonKey(b)
					return cmp.Compare(ha, hb)
				})
				return append(append(slices.Clone(set), horizons...), extra...)
			}
		}
	}
	return nil
}

func short(h string) string {
	h = strings.TrimPrefix(h, "sha256:")
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// runWithArtifacts is a run and its artifacts, from the server or the store.
func (a *app) runWithArtifacts(ctx context.Context, id string) (store.Run, []store.Artifact, error) {
	if c, err := a.remote(); err != nil || c != nil {
		if err != nil {
			return store.Run{}, nil, err
		}
		return c.GetRun(ctx, id)
	}
	p, err := a.openWorkspace(ctx)
	if err != nil {
		return store.Run{}, nil, err
	}
	defer p.Close()
	r, err := p.GetRun(ctx, id)
	if err != nil {
		return r, nil, err
	}
	arts, err := p.Artifacts(ctx, r.ID)
	return r, arts, err
}

func (a *app) runsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "runs",
		Short: "List, show and compare tracked runs",
		Long: `Runs are what 'reckon run' records: one per pipeline and one per executed step,
with parameters, metrics, inputs (data hashes), artifacts, status and
heartbeat. A run whose process died is marked interrupted by the next
command that opens the store.`,
	}
	ls := a.newRunsListCmd(a.runRunsList)

	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one run: parameters, inputs, metrics, artifacts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, arts, err := a.runWithArtifacts(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			v := struct {
				store.Run
				Artifacts []store.Artifact `json:"artifacts"`
			}{r, arts}
			return a.report(v, func(w io.Writer) {
				fmt.Fprintf(w, "run %s  %s\nstatus %s  team %q  user %s  parent %s\nstarted %s  ended %s  heartbeat %s\ncode %s  seed %d\n",
					r.ID, r.Name, r.Status, r.Team, r.User, orDash(r.Parent), r.Started.Format(time.DateTime), timeOrDash(r.Ended), r.Heartbeat.Format(time.DateTime), r.CodeVersion, r.Seed)
				section(w, "params", r.Params)
				section(w, "inputs", r.Inputs)
				section(w, "tags", r.Tags)
				if len(r.Last) > 0 {
					fmt.Fprintln(w, "metrics (last value; cv/ is the cross-validated mean):")
					folds := 0
					for _, k := range slices.Sorted(maps.Keys(r.Last)) {
						if strings.HasPrefix(k, store.FoldPrefix) {
							folds++
							continue
						}
						fmt.Fprintf(w, "  %s = %.6g\n", k, r.Last[k])
					}
					if folds > 0 {
						fmt.Fprintf(w, "  (%d per-fold series under %s, one point per fold)\n", folds, store.FoldPrefix)
					}
				}
				if len(arts) > 0 {
					fmt.Fprintln(w, "artifacts:")
					for _, ar := range arts {
						fmt.Fprintf(w, "  %s  %s  %d bytes\n", ar.Name, ar.Key, ar.Size)
					}
				}
			})
		},
	}

	diff := &cobra.Command{
		Use:   "diff ID ID",
		Short: "Parameters and final metrics of two runs side by side",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := a.openWorkspace(cmd.Context())
			if err != nil {
				return err
			}
			defer p.Close()
			var rs [2]store.Run
			for i := range rs {
				if rs[i], err = p.GetRun(cmd.Context(), args[i]); err != nil {
					return err
				}
			}
			d := store.Diff(rs[0], rs[1])
			return a.report(d, func(w io.Writer) {
				tw := newTabWriter(w)
				fmt.Fprintf(tw, "\t%s\t%s\t\n", rs[0].ID, rs[1].ID)
				for _, row := range d.Rows {
					mark := ""
					if row.Differs {
						mark = "*"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", row.Key, row.A, row.B, mark)
				}
				tw.Flush()
			})
		},
	}
	c.AddCommand(ls, show, diff)
	return c
}

func section(w io.Writer, title string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	fmt.Fprintf(w, "%s:\n", title)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := m[k]
		if len(v) > 200 {
			v = v[:200] + "..."
		}
		fmt.Fprintf(w, "  %s = %s\n", k, v)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.DateTime)
}

func duration(r store.Run) string {
	end := r.Ended
	if end.IsZero() {
		if r.Status != store.Running {
			return "-"
		}
		end = time.Now()
	}
	return fmt.Sprintf("%.1f", end.Sub(r.Started).Seconds())
}

// runsListOptions are runs ls's flags as a query.
type runsListOptions struct {
	q            store.Query
	sort, status string
	ids          bool
}

func (a *app) newRunsListCmd(runF func(context.Context, *runsListOptions) error) *cobra.Command {
	o := &runsListOptions{}
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List runs, newest first or sorted by a metric",
		Example: `  reckon runs ls --limit 20
  reckon runs ls --team tumor --status succeeded
  reckon runs ls --sort metric:rmse_s --limit 50
  reckon runs ls --sort metric:roc_auc:desc
  reckon runs diff $(reckon runs ls --name pipeline/tumor --limit 2 --ids)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.sort != "" {
				if err := o.q.ParseSort(o.sort); err != nil {
					return fmt.Errorf("--sort %w", err)
				}
			}
			if o.status != "" {
				o.q.Status = store.Status(o.status)
				if !o.q.Status.Valid() {
					return fmt.Errorf("--status %q: want queued, running, succeeded, failed or interrupted", o.status)
				}
			}
			return runF(cmd.Context(), o)
		},
	}
	ls.Flags().StringVar(&o.q.Team, "team", "", "only this team's runs")
	ls.Flags().StringVar(&o.status, "status", "", "only runs in this state: queued, running, succeeded, failed, interrupted")
	ls.Flags().StringVar(&o.sort, "sort", "", "metric:KEY (ascending) or metric:KEY:desc; runs without the metric come last")
	ls.Flags().IntVar(&o.q.Limit, "limit", 50, "at most this many runs (0: all)")
	ls.Flags().StringVar(&o.q.Name, "name", "", "only runs of this name (pipeline/tumor, tumor/train/gbdt, ...)")
	ls.Flags().BoolVar(&o.ids, "ids", false, "print only the run ids, one per line (for $(...) in scripts)")
	return ls
}

func (a *app) runRunsList(ctx context.Context, o *runsListOptions) error {
	q := o.q
	var runs []store.Run
	if c, err := a.remote(); err != nil {
		return err
	} else if c != nil {
		if runs, err = c.ListRuns(ctx, q); err != nil {
			return err
		}
	} else {
		p, err := a.openWorkspace(ctx)
		if err != nil {
			return err
		}
		defer p.Close()
		if runs, err = p.ListRuns(ctx, q); err != nil {
			return err
		}
	}
	if o.ids && !a.json {
		for _, r := range runs {
			fmt.Fprintln(a.out, r.ID)
		}
		return nil
	}
	return a.report(runs, func(w io.Writer) {
		tw := newTabWriter(w)
		head := "id\tname\tteam\tstatus\tstarted\tseconds"
		if q.SortMetric != "" {
			head += "\t" + q.SortMetric
		}
		fmt.Fprintln(tw, head)
		for _, r := range runs {
			line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", r.ID, r.Name, r.Team, r.Status, r.Started.Format(time.DateTime), duration(r))
			if q.SortMetric != "" {
				if v, ok := r.Last[q.SortMetric]; ok {
					line += fmt.Sprintf("\t%.4f", v)
				} else {
					line += "\t-"
				}
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
		if len(runs) == 0 {
			fmt.Fprintln(w, "no runs match")
		}
	})
}

// runOnKube is reckon run --on kube: the pipeline as a job the Kubernetes
// executor runs, its candidates fanned out as Jobs.
func (a *app) runOnKube(ctx context.Context, o *runOptions) error {
	if o.fanOut || o.candidate != "" || o.noCache || len(o.allowData) > 0 {
		return errors.New("--on kube runs the pipeline as reckon jobs submit -f would: leave out --fan-out, --candidate, --no-cache and --allow-data")
	}
	if err := absPaths(&o.file); err != nil {
		return err
	}
	r, err := a.onKube(ctx, &o.kube, scheduler.Submission{Pipeline: o.file, Team: o.team})
	if err != nil {
		return err
	}
	return a.report(r, func(w io.Writer) {
		fmt.Fprintf(w, "%s (pipeline %s) succeeded on Kubernetes after %d attempt(s)\n", r.ID, r.Name, r.Attempt)
		for _, run := range r.Runs {
			fmt.Fprintf(w, "run: %s   (reckon runs show %s)\n", run, run)
		}
		if reg := o.spec.Register; reg.Model != "" {
			fmt.Fprintf(w, "next: reckon models show %s@%s\n", reg.Model, reg.Alias)
		}
	})
}
