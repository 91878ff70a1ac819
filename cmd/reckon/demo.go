package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/batch"
	"github.com/reckon-ml/reckon/drift"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/pipeline"
	"github.com/reckon-ml/reckon/plan"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/workspace"
	"go.yaml.in/yaml/v3"
)

type demoResult struct {
	Home    string                       `json:"home"`
	Reentry *pipeline.Result             `json:"reentry"`
	Tumor   *pipeline.Result             `json:"tumor"`
	Rerun   *pipeline.Result             `json:"tumor_rerun"`
	Models  []store.Model                `json:"models"`
	History map[string][]store.AliasMove `json:"history"`
	Runs    []store.Run                  `json:"runs"`
	Predict []demoPredict                `json:"predict"`
	Jobs    *demoJobs                    `json:"jobs"`
	Plan    *plan.Plan                   `json:"plan"`
	Drift   []demoDrift                  `json:"drift"`
	Seconds float64                      `json:"seconds"`
}

// demoJobs is the demo's scheduling part.
type demoJobs struct {
	// Submitted are the jobs as submitted, Final as they ended.
	Submitted []sched.Record `json:"submitted"`
	Final     []sched.Record `json:"final"`
	// Waiting is the job that waited and why (reckon jobs why).
	Waiting string `json:"waiting"`
	Why     string `json:"why"`
}

// demoDrift is one drift check of the demo.
type demoDrift struct {
	What   string          `json:"what"`
	Report *monitor.Report `json:"report"`
	File   string          `json:"file,omitempty"`
}

// demoPredict is one batch prediction of the demo.
type demoPredict struct {
	Input    string          `json:"input"`
	Dir      string          `json:"dir"`
	Manifest *batch.Manifest `json:"manifest"`
	Head     []string        `json:"head"` // the first lines of the predictions file
}

func (a *app) demoCmd() *cobra.Command {
	var keep bool
	var lstmEpochs int
	var count int
	var seed uint64
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run both reference pipelines end to end on built-in data",
		Long: `Run reckon's two reference pipelines with zero setup, in a temporary home
with the embedded store (SQLite + a local blob directory):

  1. reentry (examples/reentry/pipeline.yaml): generate 90 tracks (seed 7),
     split by flight, train the mean-altitude baseline, the physics fit and
     the LSTM (a lighter schedule), pick the lowest RMSE on the held-out
     flights and register it as reentry@champion;
  2. tumor (examples/tumor/pipeline.yaml, on the Breast Cancer Wisconsin table
     shipped inside the binary): cross-validate logistic regression,
     gradient-boosted trees and the FCN network on the 15 shared folds, pick
     under the recall-first policy (recall[malignant] >= 0.97, then
     precision) and register the winner as tumor@champion;
  3. run the tumor pipeline again: every step comes from the cache;
  4. show the registry, the alias history with the reasons, and the runs;
  5. batch-predict with both champions: fresh generated tracks (another
     seed) with reentry@champion, the tumor table with tumor@champion, and
     show the output files;
  6. submit both pipelines as jobs of two teams (reentry, tumor) to the
     local scheduler, each asking for all of this machine's cores, so one
     waits: show why (reckon jobs why), then run the scheduler until both
     have ended (their steps come from the cache);
  7. plan the reference pool: 4 teams running their pipeline twice a week,
     100 CPU-hours a run, GPUs 6x faster, 8 GPUs a VM, at most 7 VMs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t0 := time.Now()
			home, err := os.MkdirTemp("", "reckon-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(home)
			}
			// The demo's store and blobs live in its own home, whatever
			// --store or $RECKON_STORE say.
			a.home, a.storeFlag, a.blobsFlag = home, "", ""
			p, err := a.openWorkspace(cmd.Context())
			if err != nil {
				return err
			}
			defer p.Close()
			res := demoResult{Home: home}

			re, err := pipeline.Decode("examples/reentry/pipeline.yaml", bytes.NewReader(examples.ReentryPipeline))
			if err != nil {
				return err
			}
			re.Data.Generate.Count, re.Data.Generate.Seed = count, seed
			if err := re.SetParam(lstm.Kind, "epochs", lstmEpochs); err != nil {
				return fmt.Errorf("--lstm-epochs: %w", err)
			}
			fmt.Fprintln(a.err, "== reentry pipeline")
			if res.Reentry, err = a.runPipeline(cmd.Context(), p, re, false); err != nil {
				return err
			}

			tumor, err := pipeline.Decode("examples/tumor/pipeline.yaml", bytes.NewReader(examples.TumorPipeline))
			if err != nil {
				return err
			}
			tumor.Data.Table, tumor.Split.Folds = pipeline.EmbeddedTumor, pipeline.EmbeddedTumorFolds
			fmt.Fprintln(a.err, "== tumor pipeline")
			if res.Tumor, err = a.runPipeline(cmd.Context(), p, tumor, false); err != nil {
				return err
			}
			fmt.Fprintln(a.err, "== tumor pipeline again, unchanged")
			if res.Rerun, err = a.runPipeline(cmd.Context(), p, tumor, false); err != nil {
				return err
			}

			ctx := cmd.Context()
			if res.Models, err = p.ListModels(ctx); err != nil {
				return err
			}
			res.History = map[string][]store.AliasMove{}
			for _, m := range res.Models {
				if res.History[m.Name], err = p.History(ctx, m.Name); err != nil {
					return err
				}
			}
			if res.Runs, err = p.ListRuns(ctx, store.Query{Limit: 12}); err != nil {
				return err
			}

			// Batch prediction with both champions: fresh tracks (another
			// seed) and the tumor table.
			fresh := filepath.Join(home, "data", "fresh-tracks")
			gcfg := reentry.DefaultConfig()
			gcfg.Count, gcfg.Seed = max(count/3, 4), seed+1000
			if _, err := reentry.WriteDir(ctx, fresh, gcfg, reentry.WriteOptions{}); err != nil {
				return err
			}
			table := filepath.Join(home, "data", examples.TumorCSVName)
			if err := os.WriteFile(table, examples.TumorCSV, 0o644); err != nil {
				return err
			}
			for _, job := range []struct{ model, input, out string }{
				{"reentry", fresh, filepath.Join(home, "predictions", "reentry")},
				{"tumor", table, filepath.Join(home, "predictions", "tumor")},
			} {
				dp, err := a.demoPredict(ctx, p, job.model, job.input, job.out)
				if err != nil {
					return err
				}
				res.Predict = append(res.Predict, *dp)
			}
			fmt.Fprintln(a.err, "== drift: a shifted tumor table, tracks with twice the noise")
			if res.Drift, err = a.demoDrift(ctx, p, home, table, count, seed); err != nil {
				return err
			}
			fmt.Fprintln(a.err, "== both pipelines as jobs of two teams, on the local scheduler")
			if res.Jobs, err = a.demoJobs(ctx, p, home, re); err != nil {
				return err
			}
			ref := plan.Scenario{Teams: plan.Uniform(4, 2, 100), GPUSpeedup: 6, GPUsPerVM: 8, MaxVMs: 7, Efficiency: 1}
			if res.Plan, err = plan.Solve(ref, plan.DefaultNodes); err != nil {
				return err
			}
			res.Seconds = time.Since(t0).Seconds()
			return a.report(res, func(w io.Writer) { printDemo(w, &res, lstmEpochs, keep) })
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary home (store, blobs, generated data) and print its path")
	c.Flags().IntVar(&count, "count", 90, "reentry tracks to generate")
	c.Flags().Uint64Var(&seed, "seed", 7, "generator seed")
	c.Flags().IntVar(&lstmEpochs, "lstm-epochs", 40, "lstm training epochs (lighter than train's default, to keep the demo short)")
	return c
}

func printDemo(w io.Writer, res *demoResult, lstmEpochs int, keep bool) {
	fmt.Fprintln(w, "== reentry")
	printPipeline(w, res.Reentry)
	fmt.Fprintf(w, "(lstm trains %d epochs here to keep the demo short; reckon train reentry --kind lstm uses %d)\n", lstmEpochs, lstm.DefaultConfig().Epochs)
	fmt.Fprintln(w, "\n== tumor")
	printPipeline(w, res.Tumor)
	cached := 0
	for _, s := range res.Rerun.Steps {
		if s.Cached {
			cached++
		}
	}
	fmt.Fprintf(w, "\n== tumor again, nothing changed: %d of %d steps reused from the cache; %s %s:%d\n",
		cached, len(res.Rerun.Steps), res.Rerun.Action, res.Rerun.Registered.Model, res.Rerun.Registered.Version)

	fmt.Fprintln(w, "\n== registry (reckon models ls)")
	tw := newTabWriter(w)
	fmt.Fprintln(tw, "model\tlatest\taliases")
	for _, m := range res.Models {
		var al []string
		for _, k := range slices.Sorted(maps.Keys(m.Aliases)) {
			al = append(al, fmt.Sprintf("%s=%d", k, m.Aliases[k]))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", m.Name, m.Latest, strings.Join(al, " "))
	}
	tw.Flush()
	for _, m := range res.Models {
		for _, mv := range res.History[m.Name] {
			fmt.Fprintf(w, "%s@%s -> v%d (%s): %s\n", m.Name, mv.Alias, mv.To, mv.Who, mv.Why)
		}
	}
	fmt.Fprintln(w, "\n== runs (reckon runs ls --limit 12)")
	tw = newTabWriter(w)
	fmt.Fprintln(tw, "id\tname\tstatus\tseconds")
	for _, r := range res.Runs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Name, r.Status, duration(r))
	}
	tw.Flush()
	for _, dp := range res.Predict {
		m := dp.Manifest
		fmt.Fprintf(w, "\n== reckon predict --model %s@champion --data %s\n", strings.Split(m.Model, ":")[0], dp.Input)
		fmt.Fprintf(w, "%d read, %d predicted, %d failed in %.2f s; in %s:\n", m.Read, m.Predicted, m.Failed, m.Seconds, dp.Dir)
		for _, f := range []string{m.Files.Predictions, m.Files.Errors, m.Files.Log, m.Files.Manifest, m.Files.Drift} {
			if f != "" {
				fmt.Fprintf(w, "  %s\n", f)
			}
		}
		if m.DatasetDrift != nil {
			fmt.Fprintf(w, "  dataset drift against the training data: %v\n", *m.DatasetDrift)
		}
		for _, l := range dp.Head {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	for _, d := range res.Drift {
		fmt.Fprintf(w, "\n== drift: %s\n", d.What)
		if d.File != "" {
			fmt.Fprintf(w, "(reckon monitor --drift %s)\n", d.File)
		}
		printDriftTop(w, d.Report, 6)
	}
	if j := res.Jobs; j != nil {
		fmt.Fprintln(w, "\n== jobs (reckon jobs submit -f ... --team T, reckon scheduler)")
		for _, r := range j.Submitted {
			fmt.Fprintf(w, "submitted %s: team %s, %s (%s)\n", r.ID, r.Team, strings.Join(r.Args, " "), request(r))
		}
		fmt.Fprintf(w, "reckon jobs why %s: %s\n", j.Waiting, j.Why)
		tw := newTabWriter(w)
		fmt.Fprintln(tw, "id\tteam\tstatus\tattempts\truns")
		for _, r := range j.Final {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.ID, r.Team, r.State, r.Attempt, strings.Join(r.Runs, " "))
		}
		tw.Flush()
	}
	if p := res.Plan; p != nil {
		fmt.Fprintln(w, "\n== reckon plan --teams 4 --runs-per-week 2 --cpu-hours 100 --gpu-speedup 6 --gpus-per-vm 8 --max-vms 7")
		fmt.Fprintf(w, "makespan %.3f h for the week's 8 runs, lower bound %.3f h, %.2f VM-hours (a hand schedule took about 4 h)\n", p.MakespanH, p.LowerBoundH, p.VMHours)
	}
	fmt.Fprintf(w, "\ndemo took %.0f s\n", res.Seconds)
	printDemoNext(w, res.Home, keep)
}

// printDemoNext ends the demo's report: where its files are (or that they
// are gone) and commands to try next.
func printDemoNext(w io.Writer, home string, keep bool) {
	if keep {
		fmt.Fprintf(w, "kept the demo home %s with the files above (try: reckon --home %s models history tumor)\n", home, home)
	} else {
		fmt.Fprintf(w, "the demo ran in a temporary home, now removed with the files above; reckon demo --keep keeps it\n")
	}
	// Commands that work wherever the demo ran: the examples come out of
	// the binary, the store is the user's default home.
	fmt.Fprintf(w, "\nnext: reckon examples extract reckon-examples\n")
	fmt.Fprintf(w, "      reckon run -f reckon-examples/tumor/pipeline.yaml && reckon models show tumor@champion\n")
	fmt.Fprintf(w, "      reckon runs ls --sort metric:roc_auc:desc\n")
}

// demoDrift shows what drift looks like: the tumor champion scoring a copy
// of its table whose measurements are 30% larger (predict's drift file,
// features and predictions, recorded against the champion), and the
// reentry training tracks against fresh ones of the same settings and
// against ones with twice the noise.
func (a *app) demoDrift(ctx context.Context, p *workspace.Workspace, home, table string, count int, seed uint64) ([]demoDrift, error) {
	var out []demoDrift
	shifted := filepath.Join(home, "data", "tumor-shifted.csv")
	if err := scaleNumbers(table, shifted, 1.3); err != nil {
		return nil, err
	}
	dp, err := a.demoPredict(ctx, p, "tumor", shifted, filepath.Join(home, "predictions", "tumor-shifted"))
	if err != nil {
		return nil, err
	}
	d, err := batch.ReadDrift(filepath.Join(dp.Dir, dp.Manifest.Files.Drift))
	if err != nil {
		return nil, err
	}
	m, err := registry.Load(ctx, p, p.Blobs, registry.Ref{Name: "tumor", Alias: "champion"})
	if err != nil {
		return nil, err
	}
	if _, err := drift.Record(ctx, p.Store, p.Blobs, *m.Version, d.Report, []string{shifted}, currentUser(), time.Now()); err != nil {
		return nil, err
	}
	out = append(out, demoDrift{What: "reckon predict --model tumor@champion on the tumor table with measurements x1.3", Report: d.Report, File: filepath.Join(dp.Dir, dp.Manifest.Files.Drift)})

	gen := func(name string, seed uint64, n int, noise float64) (string, error) {
		dir := filepath.Join(home, "data", name)
		cfg := reentry.DefaultConfig()
		cfg.Count, cfg.Seed, cfg.NoiseScale = n, seed, noise
		_, err := reentry.WriteDir(ctx, dir, cfg, reentry.WriteOptions{})
		return dir, err
	}
	// The generator is deterministic: these are the training tracks.
	train, err := gen("train-tracks", seed, count, 1)
	if err != nil {
		return nil, err
	}
	ref, err := drift.LoadReference(train, nil, 10)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name  string
		seed  uint64
		noise float64
		what  string
	}{
		{"fresh-tracks", seed + 1000, 1, "reckon monitor --reference TRAINING-TRACKS --input FRESH-TRACKS (same settings, another seed)"},
		{"noisy-tracks", seed + 2000, 2, "reckon monitor --reference TRAINING-TRACKS --input NOISY-TRACKS (data gen --noise-scale 2)"},
	} {
		dir := filepath.Join(home, "data", c.name)
		if _, err := os.Stat(dir); err != nil {
			if dir, err = gen(c.name, c.seed, max(count/3, 4), c.noise); err != nil {
				return nil, err
			}
		}
		rep, err := drift.Check(ctx, ref, []string{dir}, monitor.Options{}, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, demoDrift{What: c.what, Report: rep})
	}
	return out, nil
}

// scaleNumbers copies a CSV table with every number times f.
func scaleNumbers(src, dst string, f float64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	rows, err := csv.NewReader(in).ReadAll()
	if err != nil {
		return err
	}
	for _, r := range rows[1:] {
		for j, v := range r {
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				r[j] = strconv.FormatFloat(x*f, 'g', -1, 64)
			}
		}
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	return atomicfile.Write(dst, b.Bytes())
}

// demoPredict scores input with NAME@champion into out.
func (a *app) demoPredict(ctx context.Context, p *workspace.Workspace, name, input, out string) (*demoPredict, error) {
	m, err := registry.Load(ctx, p, p.Blobs, registry.Ref{Name: name, Alias: "champion"})
	if err != nil {
		return nil, err
	}
	ref, err := batch.ArtifactReference(m.Artifact)
	if err != nil {
		return nil, err
	}
	man, _, err := batch.Predict(ctx, batch.Request{Model: m.Model, Label: m.Label, Inputs: []string{input}, Out: out, Chunk: 512, Reference: ref})
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(out, man.Files.Predictions))
	if err != nil {
		return nil, err
	}
	lines := strings.SplitN(string(b), "\n", 5)
	return &demoPredict{Input: input, Dir: out, Manifest: man, Head: lines[:min(4, len(lines))]}, nil
}

// demoJobs submits the two reference pipelines as jobs of two teams, each
// asking for every core of this machine, so the second waits; it says
// why, then runs the scheduler until both have ended.
func (a *app) demoJobs(ctx context.Context, p *workspace.Workspace, home string, re *pipeline.Spec) (*demoJobs, error) {
	dir := filepath.Join(home, "examples")
	if _, err := examples.Extract(dir, false); err != nil {
		return nil, err
	}
	// The reentry pipeline as the demo ran it (fewer tracks, a lighter
	// LSTM), so its steps come from the cache.
	b, err := yaml.Marshal(re)
	if err != nil {
		return nil, err
	}
	reFile := filepath.Join(dir, "reentry", "demo-pipeline.yaml")
	if err := os.WriteFile(reFile, b, 0o644); err != nil {
		return nil, err
	}
	q := sched.DefaultQueues()
	cores := float64(runtime.NumCPU())
	res := &demoJobs{}
	for _, f := range []string{filepath.Join(dir, "tumor", "pipeline.yaml"), reFile} {
		r, err := scheduler.Submit(ctx, p.Jobs, q, scheduler.Submission{Pipeline: f, User: currentUser(), CPU: cores, Dir: home})
		if err != nil {
			return nil, err
		}
		res.Submitted = append(res.Submitted, r)
	}
	x, err := a.localExecutor(30 * time.Second)
	if err != nil {
		return nil, err
	}
	s, err := scheduler.New(scheduler.Config{Jobs: p.Jobs, Exec: x, Queues: q, Holder: fmt.Sprintf("demo:%d", os.Getpid()),
		Runs: p.Store, Blobs: p.Blobs, Log: a.log, LeaseTTL: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	if _, err := s.Round(ctx); err != nil {
		return nil, err
	}
	res.Waiting = res.Submitted[1].ID
	if _, res.Why, _, err = scheduler.Why(ctx, p.Jobs, q, res.Waiting, time.Now()); err != nil {
		return nil, err
	}
	fmt.Fprintf(a.err, "reckon jobs why %s: %s\n", res.Waiting, res.Why)
	if err := s.Run(ctx, 200*time.Millisecond, true, nil); err != nil {
		return nil, err
	}
	for _, r := range res.Submitted {
		f, err := p.Jobs.GetJob(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if f.State != sched.Succeeded {
			return nil, fmt.Errorf("demo job %s (%s) %s: %s", f.ID, f.Name, f.State, f.Message)
		}
		res.Final = append(res.Final, f)
	}
	return res, nil
}
