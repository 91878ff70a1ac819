package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/batch"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
)

type predictResult struct {
	Dir string `json:"dir"`
	*batch.Manifest
}

func (a *app) predictCmd() *cobra.Command {
	var modelRef, out, shardFlag, idCol string
	var inputs []string
	var workers, shards, chunk int
	c := &cobra.Command{
		Use:   "predict --model M --input PATH --out DIR",
		Short: "Score records in bulk with a model file or a registered model",
		Long: `Score every record of the inputs with a model: the rows of CSV tables for
tabular models, the tracks of track sets for reentry models. The model's
schema is applied; an input whose columns do not fit fails with the list of
missing or mistyped columns.

The model is a model file or a registered version: NAME@alias or
NAME:version (from the store, see 'reckon models ls').

Inputs (--input, repeatable): a CSV file or a directory of CSV files; a track
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
lists missing or interrupted shards and 'reckon predict merge DIR --out M'
joins them, checking that every record is present exactly once.

Exit status: 0 every record predicted, 3 some records failed, 1 the job
failed, 130 interrupted (run the same command again to continue).`,
		Example: `  reckon predict --model tumor@champion --input new-patients.csv --out preds/
  reckon predict --model reentry:3 --input tracks/ --out preds/ --workers 2
  reckon predict --model fit.rkm --input tracks/ --out preds/ --shard 0/4
  JOB_COMPLETION_INDEX=2 reckon predict --model m.rkm --input data/ --out /shared/preds --shards 8`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if modelRef == "" || len(inputs) == 0 || out == "" {
				return errors.New("--model, --input and --out are required (see reckon predict --help)")
			}
			batchGC()
			shard, err := shardOf(shardFlag, shards)
			if err != nil {
				return err
			}
			art, name, err := a.resolveModel(cmd, modelRef)
			if err != nil {
				return err
			}
			m, err := model.FromArtifact(name, art)
			if err != nil {
				return err
			}
			var src batch.Source
			var sc batch.Scorer
			var ins []batch.Input
			switch p := m.(type) {
			case *tabular.Model:
				files, err := tableFiles(inputs)
				if err != nil {
					return err
				}
				src, sc, ins, err = batch.TableInput(files, idCol, p)
				if err != nil {
					return err
				}
			case trackmodel.Predictor:
				sets, err := trackSets(inputs)
				if err != nil {
					return err
				}
				if src, sc, ins, err = batch.TrackInput(sets, p); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%s: a %s model cannot predict records", name, m.Kind())
			}
			if !cmd.Flags().Changed("chunk") {
				if _, ok := m.(*tabular.Model); !ok {
					chunk = 16 // tracks are costly: smaller chunks keep every worker busy
				}
			}
			dir := batch.ShardDir(out, shard)
			total := src.Estimate()
			if shard.N > 1 {
				total /= shard.N
			}
			bar := progress.New(a.progressOut(), "predicting (records)", total)
			var log io.Writer = a.err
			if a.progressOut() == nil {
				log = io.Discard
			}
			man, err := batch.Run(cmd.Context(), batch.Job{Source: src, Scorer: sc, Model: name, Inputs: ins, Shard: shard, Out: dir,
				Workers: workers, Chunk: chunk, Log: log, Progress: func(done, _ int) { bar.Set(done) }})
			bar.Finish()
			if err != nil {
				if errors.Is(err, batch.ErrOtherJob) {
					return err
				}
				return fmt.Errorf("%w (committed work is kept in %s: run the same command again to continue)", err, dir)
			}
			res := predictResult{Dir: dir, Manifest: man}
			if err := a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s: %d read, %d predicted, %d failed in %.1f s (shard %s)\n", name, man.Read, man.Predicted, man.Failed, man.Seconds, man.Shard)
				for _, f := range []string{man.Files.Predictions, man.Files.Errors, man.Files.Log, man.Files.Manifest} {
					fmt.Fprintf(w, "  %s\n", filepath.Join(dir, f))
				}
			}); err != nil {
				return err
			}
			if man.Failed > 0 {
				return exitCode(3)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&modelRef, "model", "", "model file, NAME@alias or NAME:version")
	f.StringArrayVar(&inputs, "input", nil, "input file or directory (repeatable)")
	f.StringVar(&out, "out", "", "output directory (re-use it to continue an interrupted job)")
	f.IntVar(&workers, "workers", runtime.NumCPU(), "parallel workers")
	f.StringVar(&shardFlag, "shard", "", "score only shard i/n of the records (by a hash of the record id)")
	f.IntVar(&shards, "shards", 0, "number of shards, the index from $JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs)")
	f.StringVar(&idCol, "id", "", "tables: the record id column (default: id when present, else FILE:LINE)")
	f.IntVar(&chunk, "chunk", 512, "records committed together (tracks: 16 unless set); they are also what a worker scores at once")
	c.AddCommand(a.predictStatusCmd(), a.predictMergeCmd())
	return c
}

func shardOf(flag string, shards int) (batch.Shard, error) {
	idx, hasIdx := os.LookupEnv("JOB_COMPLETION_INDEX")
	switch {
	case flag != "" && shards != 0:
		return batch.Shard{}, errors.New("give --shard i/n or --shards n (with $JOB_COMPLETION_INDEX), not both")
	case flag != "":
		return batch.ParseShard(flag)
	case shards != 0:
		if !hasIdx {
			return batch.Shard{}, errors.New("--shards n needs $JOB_COMPLETION_INDEX (set by Kubernetes Indexed Jobs); outside one, use --shard i/n")
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= shards {
			return batch.Shard{}, fmt.Errorf("JOB_COMPLETION_INDEX=%q: want 0..%d for --shards %d", idx, shards-1, shards)
		}
		return batch.Shard{I: i, N: shards}, nil
	}
	return batch.Shard{}, nil
}

// resolveModel reads a model file, or a registered version from the store.
func (a *app) resolveModel(cmd *cobra.Command, ref string) (*model.Artifact, string, error) {
	if _, err := os.Stat(ref); err == nil || !strings.ContainsAny(ref, "@:") {
		art, err := model.ReadFile(ref)
		if err != nil {
			return nil, "", err
		}
		return art, filepath.Base(ref), nil
	}
	name, alias, ver, err := parseModelRef(ref)
	if err != nil {
		return nil, "", err
	}
	p, err := a.openPlatform(cmd.Context())
	if err != nil {
		return nil, "", err
	}
	defer p.Close()
	return registeredModel(cmd.Context(), p, name, alias, ver)
}

// registeredModel reads NAME@alias (alias set) or NAME:version from the
// registry and its bytes from the blob store.
func registeredModel(ctx context.Context, p *platform, name, alias string, ver int) (*model.Artifact, string, error) {
	var v store.Version
	var err error
	if alias != "" {
		v, err = p.Resolve(ctx, name, alias)
	} else {
		v, err = p.GetVersion(ctx, name, ver)
	}
	if err != nil {
		return nil, "", err
	}
	b, err := p.blobs.Get(ctx, v.Artifact.Key)
	if err != nil {
		return nil, "", err
	}
	label := fmt.Sprintf("%s:%d", v.Model, v.Version)
	art, err := model.Read(label, bytes.NewReader(b))
	return art, label, err
}

// tableFiles expands inputs to CSV files (a directory: its *.csv, sorted).
func tableFiles(inputs []string) ([]string, error) {
	var out []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		paths := []string{in}
		if st.IsDir() {
			if paths, err = filepath.Glob(filepath.Join(in, "*.csv")); err != nil {
				return nil, err
			}
			slices.Sort(paths)
			if len(paths) == 0 {
				return nil, fmt.Errorf("%s: no .csv files", in)
			}
		}
		out = append(out, paths...)
	}
	return out, nil
}

// trackSets expands inputs to track sets: a set itself, or a directory of
// sets (sorted).
func trackSets(inputs []string) ([]string, error) {
	var out []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, in)
			continue
		}
		if _, err := os.Stat(filepath.Join(in, "tracks.csv")); err == nil {
			out = append(out, in)
			continue
		}
		subs, _ := filepath.Glob(filepath.Join(in, "*", "tracks.csv"))
		if len(subs) == 0 {
			return nil, fmt.Errorf("%s: no tracks.csv in it or in its subdirectories", in)
		}
		slices.Sort(subs)
		for _, s := range subs {
			out = append(out, filepath.Dir(s))
		}
	}
	return out, nil
}

func (a *app) predictStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status DIR",
		Short: "List the shards of a prediction job: complete, interrupted or missing",
		Long: `Shows each shard of the job whose --out is DIR. Re-run only the shards that are
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
		Use:   "merge DIR... --out DIR",
		Short: "Join the shards of prediction jobs, each record exactly once",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return errors.New("--out is required: where the merged files go")
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
	c.Flags().StringVar(&out, "out", "", "directory for the merged files")
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
