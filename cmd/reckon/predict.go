package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/batch"
	"github.com/reckon-ml/reckon/kube"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/store"
)

type predictResult struct {
	Dir string `json:"dir"`
	*batch.Manifest
}

// predictOptions are reckon predict's flags.
type predictOptions struct {
	Model    string
	Inputs   []string
	Out      string
	Workers  int
	Shard    string
	Shards   int
	IDColumn string
	Chunk    int   // 0: the model's default (batch.DefaultChunk)
	FanOut   int   // inside a scheduler job: this many shard jobs, then merge
	Indexes  []int // with Shards: $JOB_COMPLETION_INDEX k is shard Indexes[k]
	ViaBlobs bool  // a pod without the submitter's directory: write privately, upload
	NoDrift  bool  // no drift summary
	Shared   bool  // --on kube: the pods write OUT-DIR themselves
	On       string
	Team     string
	Kube     kubeFlags
}

func (a *app) predictCmd() *cobra.Command { return a.newPredictCmd(a.runPredict) }

// newPredictCmd parses the flags into options and hands them to runF
// (tests pass their own to stop right after parsing).
func (a *app) newPredictCmd(runF func(context.Context, *predictOptions) error) *cobra.Command {
	var o predictOptions
	c := &cobra.Command{
		Use:   "predict --model M --data PATH --out-dir DIR",
		Short: "Score records in bulk with a model file or a registered model",
		Long: `Score every record of the inputs with a model: the rows of CSV tables for
tabular models, the tracks of track sets for reentry models. The model's
schema is applied; an input whose columns do not fit fails with the list of
missing or mistyped columns.

The model is a model file or a registered version: NAME@alias or
NAME:version (from the store, see 'reckon models ls').

Inputs (--data, repeatable): a CSV file or a directory of CSV files; a track
set (a directory with tracks.csv, or tracks.csv itself) or a directory of
track sets. Record ids: the --id column (default: "id" when there is one,
else FILE:LINE) for tables, track_id for tracks.

DIR receives predictions-STAMP.csv (record id, prediction, probabilities or
reentry time, model), errors-STAMP.csv (record id, stage, reason: one row per
record that failed reading, validation or prediction; the others carry on),
predict-STAMP.log and manifest-STAMP.json (input hashes, model, counts,
duration). Work is committed in chunks through a journal: after Ctrl-C or a
crash the same command continues where it stopped and ends with the same
files as an uninterrupted run.

--shard i/n scores only the records whose id hashes to i (mod n), into
DIR/shard-i-of-n; inside a Kubernetes Indexed Job use --shards n and the
shard index comes from JOB_COMPLETION_INDEX. Then 'reckon predict status DIR'
lists missing or interrupted shards and 'reckon predict merge DIR --out-dir M'
joins them, checking that every record is present exactly once.

--on kube runs the prediction on Kubernetes and waits for it: one Job, or
with --shards N an Indexed Job of N pods (a crashed pod is retried, one that
exited 3 is not), scheduled in --team's queue; DIR then holds the shards and
their merge in DIR/merged, as a local sharded job leaves them. The pods write
their files into the blob store and reckon copies them into DIR when the job
ends (reckon predict fetch DIR does it again, e.g. after reckon jobs retry),
unless --kube-shared-out says the pods can write DIR themselves. --data and a
model file must be where the pods see them (paths are made absolute); their
store and blobs come from the --kube-secret Secret.

Exit status: 0 every record predicted, 3 some records failed, 1 the job
failed, 130 interrupted (run the same command again to continue).`,
		Example: `  reckon predict --model tumor@champion --data reckon-examples/tumor/breast_cancer_wisconsin_clean.csv --out-dir preds/
  reckon predict --model reentry:3 --data tracks/ --out-dir preds/ --workers 2
  reckon predict --model fit.rkm --data tracks/ --out-dir preds/ --shard 0/4
  JOB_COMPLETION_INDEX=2 reckon predict --model m.rkm --data data/ --out-dir /shared/preds --shards 8
  reckon predict --on kube --image reckon:1.4 --team tumor --shards 4 --model tumor@champion --data /shared/new.csv --out-dir /shared/preds`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Model == "" || len(o.Inputs) == 0 || o.Out == "" {
				return errors.New("--model, --data and --out-dir are required (see reckon predict --help)")
			}
			if !cmd.Flags().Changed("chunk") {
				o.Chunk = 0
			}
			return runF(cmd.Context(), &o)
		},
	}
	f := c.Flags()
	f.SetNormalizeFunc(aliases(map[string]string{"input": "data", "out": "out-dir"}))
	f.StringVar(&o.Model, "model", "", "model file, NAME, NAME@alias or NAME:version")
	f.StringArrayVar(&o.Inputs, "data", nil, "input CSV table, track set directory or tracks CSV (repeatable)")
	f.StringVar(&o.Out, "out-dir", "", "output directory (re-use it to continue an interrupted job)")
	f.IntVar(&o.Workers, "workers", runtime.NumCPU(), "parallel workers")
	f.StringVar(&o.Shard, "shard", "", "score only shard i/n of the records (by a hash of the record id)")
	f.IntVar(&o.Shards, "shards", 0, "number of shards, the index from $JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs)")
	f.IntVar(&o.FanOut, "fan-out", 0, "inside a scheduler job: score as this many shard jobs, then merge them into OUT-DIR/merged (reckon jobs submit --predict --shards N sets it)")
	f.StringVar(&o.IDColumn, "id", "", "tables: the record id column (default: id when present, else FILE:LINE)")
	f.IntSliceVar(&o.Indexes, "indexes", nil, "with --shards n: $JOB_COMPLETION_INDEX k picks the k-th of these shards (reckon jobs retry --failed sets it)")
	f.BoolVar(&o.ViaBlobs, "via-blobs", false, "write into a private directory and copy the files to the blob store for the submitter (reckon predict --on kube sets it)")
	f.BoolVar(&o.Shared, "kube-shared-out", false, "with --on kube: the pods write OUT-DIR themselves (it is on a volume they share), rather than through the blob store")
	f.StringVar(&o.On, "on", "", `"kube": run it as a Job on Kubernetes (an Indexed Job with --shards N) and wait`)
	f.StringVar(&o.Team, "team", "default", "with --on kube: the team whose queue the job joins")
	o.Kube.add(f)
	f.BoolVar(&o.NoDrift, "no-drift", false, "skip the drift summary (drift-STAMP.json: the records' features and predictions against the model's training data)")
	f.IntVar(&o.Chunk, "chunk", 512, "records committed together (tracks: 16 unless set); they are also what a worker scores at once")
	c.AddCommand(a.predictStatusCmd(), a.predictMergeCmd(), a.predictFetchCmd())
	return c
}

func (a *app) runPredict(ctx context.Context, o *predictOptions) error {
	switch o.On {
	case "":
	case "kube":
		return a.runPredictOnKube(ctx, o)
	default:
		return fmt.Errorf("--on %q: the one place to run elsewhere is kube", o.On)
	}
	if o.FanOut > 0 {
		return a.runPredictShards(ctx, o)
	}
	batchGC()
	shard, err := batch.ChooseShard(o.Shard, o.Shards, batch.OnlyShards(o.Indexes, os.LookupEnv))
	if err != nil {
		return err
	}
	m, err := a.loadModel(ctx, o.Model)
	if err != nil {
		return err
	}
	var log io.Writer = a.err
	if a.progressOut() == nil {
		log = io.Discard
	}
	out := o.Out
	if o.ViaBlobs {
		// This pod does not see the submitter's OUT-DIR: score into a
		// directory of its own, then hand the files over through the blobs.
		if out, err = os.MkdirTemp("", "reckon-predict-"); err != nil {
			return err
		}
		defer os.RemoveAll(out)
	}
	ref, err := batch.ArtifactReference(m.Artifact)
	if err != nil {
		return fmt.Errorf("%s: %w", m.Label, err)
	}
	bar, finish := a.lazyBar("predicting (records)")
	man, dir, err := batch.Predict(ctx, batch.Request{Model: m.Model, Label: m.Label, Inputs: o.Inputs, IDColumn: o.IDColumn,
		Shard: shard, Out: out, Workers: o.Workers, Chunk: o.Chunk, Log: log, Progress: bar, NoDrift: o.NoDrift, Reference: ref})
	finish()
	if err == nil && o.ViaBlobs {
		if err = a.uploadOutputs(ctx, out, o.Out); err != nil {
			return err
		}
	}
	if err != nil {
		if errors.Is(err, batch.ErrOtherJob) || dir == "" || !batch.Resumable(err) {
			return err
		}
		return fmt.Errorf("%w (committed work is kept in %s: once the cause is fixed, run the same command again to continue)", err, dir)
	}
	if m.Version != nil && man.Files.Drift != "" && shard.N <= 1 {
		if err := a.recordDrift(ctx, m.Version, filepath.Join(dir, man.Files.Drift), o.Inputs); err != nil {
			return err
		}
	}
	res := predictResult{Dir: dir, Manifest: man}
	if err := a.report(res, func(w io.Writer) {
		fmt.Fprintf(w, "%s: %d read, %d predicted, %d failed in %.1f s (shard %s)\n", m.Label, man.Read, man.Predicted, man.Failed, man.Seconds, man.Shard)
		for _, f := range []string{man.Files.Predictions, man.Files.Errors, man.Files.Log, man.Files.Manifest, man.Files.Drift} {
			if f != "" {
				fmt.Fprintf(w, "  %s\n", filepath.Join(dir, f))
			}
		}
		if man.DatasetDrift != nil {
			verdict := "no dataset drift against the training data"
			if *man.DatasetDrift {
				verdict = "DATASET DRIFT against the training data"
			}
			fmt.Fprintf(w, "%s (reckon monitor --drift %s)\n", verdict, filepath.Join(dir, man.Files.Drift))
		}
	}); err != nil {
		return err
	}
	if man.Failed > 0 {
		return exitCode(3)
	}
	return nil
}

// recordDrift keeps a prediction's drift file in the tracking store
// against the registered version that made it (reckon monitor ls).
func (a *app) recordDrift(ctx context.Context, v *store.Version, path string, inputs []string) error {
	d, err := batch.ReadDrift(path)
	if err != nil {
		return err
	}
	if _, err := a.recordCheck(ctx, *v, d.Report, inputs); err != nil {
		return fmt.Errorf("recording the drift against %s:%d: %w", v.Model, v.Version, err)
	}
	return nil
}

// lazyBar is a progress bar made when the first report gives the total.
func (a *app) lazyBar(label string) (func(done, total int), func()) {
	var bar *progress.Bar
	return func(done, total int) {
			if bar == nil {
				bar = progress.New(a.progressOut(), label, total)
			}
			bar.Set(done)
		}, func() {
			bar.Finish()
		}
}

func (a *app) predictStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status DIR",
		Short: "List the shards of a prediction job: complete, interrupted or missing",
		Long: `Shows each shard of the job whose --out-dir is DIR. Re-run only the shards that are
missing or interrupted (the same command continues an interrupted one).
Exit status 3 while any shard is not complete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			states, err := batch.Status(args[0])
			if err != nil {
				return err
			}
			todo := 0
			for _, s := range states {
				if s.State != "complete" {
					todo++
				}
			}
			if err := a.report(states, func(w io.Writer) {
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "shard\tstate\tpredicted\tfailed records\tdir")
				for _, s := range states {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", s.Shard, s.State, s.Predicted, s.Failed, s.Dir)
				}
				tw.Flush()
				if todo > 0 {
					fmt.Fprintf(w, "%d of %d shards to (re-)run\n", todo, len(states))
				}
			}); err != nil {
				return err
			}
			if todo > 0 {
				return exitCode(3)
			}
			return nil
		},
	}
}

func (a *app) predictMergeCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "merge DIR... --out-dir DIR",
		Short: "Join the shards of a prediction job, each record exactly once",
		Long: `Join the shards of one prediction job, gathered from every DIR given: one
--out shared by all shards, or one directory per pod when each wrote to a
volume of its own (--out PODi --shard i/n). Every shard must be complete and
found once, all made by the same model on the same inputs, and every record
must be present exactly once.`,
		Example: `  reckon predict merge preds/ --out-dir merged/
  reckon predict merge pod0/ pod1/ pod2/ --out-dir merged/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out-dir is required: where the merged files go")
			}
			res, err := batch.Merge(args, out)
			if err != nil {
				return err
			}
			return a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "merged %d shards: %d records, %d predicted, %d failed\n  %s\n  %s\n", res.Shards, res.Read, res.Predicted, res.Failed, res.Predictions, res.Errors)
			})
		},
	}
	c.Flags().SetNormalizeFunc(aliases(map[string]string{"out": "out-dir"}))
	c.Flags().StringVar(&out, "out-dir", "", "directory for the merged files")
	return c
}

// batchGC lets the heap grow to five times the live data between
// collections (unless $GOGC says otherwise): scoring allocates short-lived
// buffers at a high rate over a small live heap, and with the default the
// collector takes a core's worth of time from the workers. Streaming keeps
// the live heap small, so the headroom costs little memory.
func batchGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}

// runPredictShards is a sharded prediction job: one child job per shard,
// then the merge.
func (a *app) runPredictShards(ctx context.Context, o *predictOptions) error {
	job := os.Getenv("RECKON_JOB")
	attempt, err := strconv.Atoi(os.Getenv("RECKON_ATTEMPT"))
	if job == "" || err != nil {
		return errors.New("--fan-out runs only inside a scheduler job ($RECKON_JOB and $RECKON_ATTEMPT unset): submit it with reckon jobs submit --predict --shards N")
	}
	if o.Shard != "" || o.Shards != 0 {
		return errors.New("--fan-out picks the shards itself: leave out --shard and --shards")
	}
	ws, err := a.openWorkspace(ctx)
	if err != nil {
		return err
	}
	defer ws.Close()
	j, err := ws.Jobs.GetJob(ctx, job)
	if err != nil {
		return err
	}
	kids, err := scheduler.ShardChildren(j.Args[1:]) // without "predict"
	if err != nil {
		return err
	}
	for i := range kids {
		kids[i].Args = append([]string{"predict"}, kids[i].Args...)
	}
	if err := scheduler.RunChildren(ctx, ws.Jobs, job, attempt, kids, time.Second, a.err); err != nil {
		return err
	}
	res, err := batch.Merge([]string{o.Out}, filepath.Join(o.Out, "merged"))
	if err != nil {
		return err
	}
	return a.report(res, func(w io.Writer) {
		fmt.Fprintf(w, "merged %d shard jobs: %d records, %d predicted, %d failed\n  %s\n  %s\n", res.Shards, res.Read, res.Predicted, res.Failed, res.Predictions, res.Errors)
	})
}

// runPredictOnKube is reckon predict --on kube: the prediction as a job
// the Kubernetes executor runs (an Indexed Job of --shards pods), then,
// sharded, the merge into OUT-DIR/merged.
func (a *app) runPredictOnKube(ctx context.Context, o *predictOptions) error {
	if o.Shard != "" || o.FanOut > 0 {
		return errors.New("--on kube: give --shards N (the Indexed Job picks each pod's shard), not --shard or --fan-out")
	}
	if registry.IsFile(o.Model) {
		if err := absPaths(&o.Model); err != nil {
			return err
		}
	}
	for i := range o.Inputs {
		if err := absPaths(&o.Inputs[i]); err != nil {
			return err
		}
	}
	if err := absPaths(&o.Out); err != nil {
		return err
	}
	args := []string{"--model", o.Model}
	for _, in := range o.Inputs {
		args = append(args, "--data", in)
	}
	args = append(args, "--out-dir", o.Out)
	if !o.Shared {
		args = append(args, "--via-blobs")
	}
	if o.IDColumn != "" {
		args = append(args, "--id", o.IDColumn)
	}
	if o.Chunk > 0 {
		args = append(args, "--chunk", strconv.Itoa(o.Chunk))
	}
	if o.NoDrift {
		args = append(args, "--no-drift")
	}
	r, err := a.onKube(ctx, &o.Kube, scheduler.Submission{Predict: true, Shards: o.Shards, Args: args, Team: o.Team})
	if !o.Shared && r.ID != "" {
		// What the pods finished is in the blobs, whatever else failed.
		if _, ferr := a.fetchOutputs(ctx, o.Out); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	someFailed := r.State == sched.Failed && r.ExitCode == kube.ExitSomeFailed // records failed, in the errors files
	if err != nil && !someFailed {
		return err
	}
	if someFailed && o.Shards < 2 {
		return exitCode(3)
	}
	if o.Shards < 2 {
		fmt.Fprintf(a.out, "%s succeeded: predictions in %s\n", r.ID, o.Out)
		return nil
	}
	res, err := batch.Merge([]string{o.Out}, filepath.Join(o.Out, "merged"))
	if err != nil {
		return err
	}
	if err := a.report(res, func(w io.Writer) {
		fmt.Fprintf(w, "%s: merged %d shards: %d records, %d predicted, %d failed\n  %s\n  %s\n", r.ID, res.Shards, res.Read, res.Predicted, res.Failed, res.Predictions, res.Errors)
	}); err != nil {
		return err
	}
	if res.Failed > 0 {
		return exitCode(3)
	}
	return nil
}

// uploadOutputs copies a pod's private output directory to the blob store
// for the submitter of OUT-DIR out.
func (a *app) uploadOutputs(ctx context.Context, dir, out string) error {
	ws, err := a.openWorkspace(ctx)
	if err != nil {
		return err
	}
	defer ws.Close()
	n, err := batch.Upload(ctx, ws.Blobs, dir, batch.OutPrefix(out))
	if err != nil {
		return fmt.Errorf("handing the predictions over through the blob store: %w", err)
	}
	fmt.Fprintf(a.err, "copied %d files to the blob store for %s\n", n, out)
	return nil
}

// fetchOutputs copies what a job's pods left in the blob store for
// OUT-DIR out into it.
func (a *app) fetchOutputs(ctx context.Context, out string) (int, error) {
	ws, err := a.openWorkspace(ctx)
	if err != nil {
		return 0, err
	}
	defer ws.Close()
	n, err := batch.Fetch(ctx, ws.Blobs, batch.OutPrefix(out), out)
	if err != nil {
		return n, fmt.Errorf("fetching the pods' predictions into %s: %w", out, err)
	}
	return n, nil
}

func (a *app) predictFetchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "fetch DIR",
		Short: "Copy into DIR the shards a job's pods left in the blob store",
		Long: `Copy into DIR what the pods of prediction jobs with --out-dir DIR wrote to
the blob store (reckon predict --on kube does it when its job ends): after
reckon jobs retry --failed, fetch the retried shards, then merge.`,
		Example: `  reckon predict fetch /data/preds
  reckon predict merge /data/preds --out-dir /data/preds/merged`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			n, err := a.fetchOutputs(cmd.Context(), dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "%d files copied into %s\n", n, dir)
			return nil
		},
	}
}
