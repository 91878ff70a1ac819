package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/evaluate"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
	"github.com/spf13/cobra"
)

func (a *app) trainCmd() *cobra.Command {
	c := &cobra.Command{Use: "train", Short: "Train a model and save it to one file"}
	c.AddCommand(a.trainReentryCmd(), a.trainTabularCmd())
	return c
}

type trainResult struct {
	Model      string                `json:"model"`
	Kind       string                `json:"kind"`
	DataHash   string                `json:"data_hash"`
	Train      int                   `json:"train_tracks"`
	Validation trackmodel.Evaluation `json:"validation"`
	EarlyStop  *earlyStopResult      `json:"early_stopping,omitempty"`
}

// earlyStopResult says which epoch an early-stopped lstm kept.
type earlyStopResult struct {
	BestEpoch     int     `json:"best_epoch"`
	Epochs        int     `json:"epochs_run"`
	HoldoutRMSE   float64 `json:"holdout_rmse_s"`
	HoldoutTracks int     `json:"holdout_tracks"`
}

// trainReentryOptions are train reentry's flags.
type trainReentryOptions struct {
	cfg     trackmodel.Config
	lstm    lstm.Config
	data    string
	out     string
	variant string
	force   bool
	epochs  int
	resume  string
}

func (a *app) trainReentryCmd() *cobra.Command { return a.newTrainReentryCmd(a.runTrainReentry) }

func (a *app) newTrainReentryCmd(runF func(context.Context, *trainReentryOptions) error) *cobra.Command {
	o := &trainReentryOptions{cfg: trackmodel.Config{Kind: trackmodel.Kinds[0], Split: trackmodel.Split{TestFrac: 0.2}}, lstm: lstm.DefaultConfig()}
	lc := &o.lstm
	c := &cobra.Command{
		Use:   "reentry --data DIR --out FILE",
		Short: "Train a reentry-time model on a track set",
		Long: `Train a model that predicts each track's reentry time (reentry-spec.md §4).

The labelled tracks are split by flight (--test-frac, --split-seed); the model
is fitted on the training side only and scored on the held-out side, and those
validation metrics are stored in the model file with the data's hash. 'reckon
eval' on the same data then scores only the held-out tracks.

Model kinds available now: ` + strings.Join(trackmodel.Kinds, ", ") + `.
baseline-mean-altitude is the spec's §5.1 reference every model must beat;
physics-fit fits state and ballistic coefficient to the raw positions around
the drag onset (robust least squares) and propagates to the 1 g point. lstm
is a bidirectional LSTM over the last 256 steps of per-step features (smoothed
altitude, radial rate, speed, drag estimates at two smoothing windows, their
logs, the observed flag, ln dynamic pressure) with two heads trained jointly;
it trains with fresh position noise and a trimmed end every epoch.

The variant is the data's: a set whose labels.csv has forecast horizons
(reckon data gen reentry --variant B) is variant B, where every kind
forecasts the reentry from a track cut H seconds before it, H unknown to
the model; the lstm then learns the time to reentry of every step and reads
its forecast from the last steps. Validation reports the RMSE per horizon.`,
		Example: `  reckon data gen reentry --count 90 --seed 7 --out-dir tracks
  reckon train reentry --data tracks --out baseline.rkm
  reckon eval --model baseline.rkm --data tracks

  # variant B: train on drawn horizons, score at fixed ones
  reckon data gen reentry --count 200 --variant B --replicates 3 --out-dir cuts
  reckon data gen reentry --count 60 --seed 2 --variant B --horizons 2,5,10,30,60,120 --out-dir cuts-test
  reckon train reentry --data cuts --kind lstm --out forecast.rkm
  reckon eval --model forecast.rkm --data cuts-test`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.data == "" || o.out == "" {
				return fmt.Errorf("--data (a track set directory) and --out (the model file to write) are required")
			}
			if o.variant != "" && o.variant != "A" && o.variant != "B" {
				return fmt.Errorf("--variant %q: want A (labelling) or B (forecast), or leave it out to take the data's", o.variant)
			}
			o.cfg.Variant = o.variant
			if o.epochs > 0 {
				lc.Epochs = o.epochs
			}
			o.cfg = o.cfg.WithLSTM(*lc)
			if err := o.cfg.Validate(); err != nil {
				return err
			}
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	// Flags are named as the lstm's parameters are in pipeline YAML and
	// model files (window_steps is --window-steps); older spellings parse.
	f.SetNormalizeFunc(aliases(map[string]string{"window": "window-steps", "lr": "max-lr", "augment-sigma": "augment-sigma-m", "model": "kind"}))
	f.StringVar(&o.data, "data", "", "track set directory (tracks.csv + labels.csv)")
	f.StringVar(&o.out, "out", "", "model file to write")
	f.BoolVar(&o.force, "force", false, "replace an existing model file")
	f.StringVar(&o.cfg.Kind, "kind", o.cfg.Kind, "model kind: "+strings.Join(trackmodel.Kinds, ", "))
	f.StringVar(&o.variant, "variant", "", "task variant: A (labelling, whole tracks) or B (forecast from tracks cut before reentry) (default: B when labels.csv has horizons, else A)")
	f.Float64Var(&o.cfg.Split.TestFrac, "test-frac", o.cfg.Split.TestFrac, "share of flights held out for validation")
	f.Uint64Var(&o.cfg.Split.Seed, "split-seed", 0, "seed of the train/validation split")
	f.Uint64Var(&o.cfg.Seed, "seed", 0, "training seed")
	f.StringVar(&o.resume, "resume", "", "lstm: continue from the checkpoint an interrupted run wrote (OUT.ckpt)")
	f.IntVar(&o.epochs, "epochs", 0, "lstm: training epochs (default "+strconv.Itoa(lc.Epochs)+")")
	f.IntVar(&lc.Window, "window-steps", lc.Window, "lstm: last steps of each track the network sees")
	f.IntVar(&lc.Hidden, "hidden", lc.Hidden, "lstm: hidden units per direction")
	f.IntVar(&lc.Layers, "layers", lc.Layers, "lstm: stacked bidirectional layers")
	f.IntVar(&lc.Batch, "batch", lc.Batch, "lstm: tracks per batch")
	f.Float64Var(&lc.LR, "max-lr", lc.LR, "lstm: peak learning rate of the one-cycle schedule")
	f.Float64Var(&lc.AugmentSigma, "augment-sigma-m", lc.AugmentSigma, "lstm: extra position noise (m) drawn afresh every epoch; 0 turns it off")
	f.IntVar(&lc.Workers, "workers", lc.Workers, "lstm: data-parallel workers (the model file depends on it)")
	f.Float64Var(&lc.Dropout, "dropout", 0, "lstm: dropout between stacked layers in training, 0 to <1 (0: off; needs --layers 2 or more)")
	f.BoolVar(&lc.BatchNorm, "batch-norm", false, "lstm: batch normalisation between stacked layers, statistics over the whole mini-batch and every step (needs --layers 2 or more)")
	f.IntVar(&lc.Patience, "early-stop-patience", 0, "lstm: stop after this many epochs without a better reentry-time RMSE on flights held out of training, and keep the best epoch's weights (0: off)")
	f.Float64Var(&lc.HoldoutFrac, "early-stop-frac", 0, "lstm: share of the training flights early stopping holds out (default 0.15 when --early-stop-patience is set)")
	return c
}

func (a *app) runTrainReentry(ctx context.Context, o *trainReentryOptions) error {
	cfg, out := o.cfg, o.out
	if _, err := os.Stat(out); err == nil && !o.force {
		return fmt.Errorf("%s already exists; choose another --out or pass --force to replace it", out)
	}
	ts, err := a.loadTracks(o.data, false)
	if err != nil {
		return err
	}
	if n := cfg.Epochs(); n > 0 {
		var finish func()
		cfg.Progress, finish = a.epochBar("epochs", n)
		defer finish()
	}
	if o.resume != "" {
		ck, err := model.ReadFile(o.resume)
		if err != nil {
			return err
		}
		if cfg, err = trackmodel.ResumeConfig(o.resume, ck, ts, cfg.Progress); err != nil {
			return err
		}
	}
	res, err := trackmodel.Train(ctx, ts, cfg)
	var intr *trackmodel.Interrupted
	if errors.As(err, &intr) {
		ckpt := out + ".ckpt"
		a, aerr := trackmodel.CheckpointArtifact(intr.Checkpoint, ts, cfg)
		if aerr == nil {
			aerr = model.WriteFile(ckpt, a)
		}
		if aerr != nil {
			return errors.Join(err, fmt.Errorf("writing the checkpoint: %w", aerr))
		}
		return fmt.Errorf("%w; checkpoint %s: continue with the same command plus --resume %s", err, ckpt, ckpt)
	}
	if err != nil {
		return err
	}
	art, err := res.Artifact(ts, cfg, buildVersion().Version)
	if err != nil {
		return err
	}
	if err := model.WriteFile(out, art); err != nil {
		return err
	}
	r := trainResult{Model: out, Kind: art.Header.Kind, DataHash: art.Header.DataHash, Train: len(res.Train), Validation: res.Validation}
	if lm, ok := res.Model.(*lstm.Model); ok && lm.BestEpoch > 0 {
		r.EarlyStop = &earlyStopResult{BestEpoch: lm.BestEpoch, Epochs: len(lm.History), HoldoutRMSE: lm.Holdout[lm.BestEpoch-1],
			HoldoutTracks: lm.HoldoutTracks}
	}
	return a.report(r, func(w io.Writer) {
		fmt.Fprintf(w, "trained %s on %d tracks; wrote %s\n", r.Kind, r.Train, out)
		if e := r.EarlyStop; e != nil {
			fmt.Fprintf(w, "early stopping: kept epoch %d of %d run (reentry-time RMSE %.3f s on %d flights held out of training)\n", e.BestEpoch, e.Epochs, e.HoldoutRMSE, e.HoldoutTracks)
		}
		fmt.Fprintf(w, "validation on %d held-out tracks:\n", r.Validation.N)
		printEval(w, &r.Validation)
	})
}

// epochBar is the progress bar of a training run: epoch, loss, ETA.
func (a *app) epochBar(label string, epochs int) (func(lstm.Progress), func()) {
	bar := progress.New(a.progressOut(), label, epochs)
	return func(p lstm.Progress) {
		note := fmt.Sprintf("loss %.5f", p.Loss)
		if !math.IsNaN(p.Holdout) {
			note += fmt.Sprintf(", holdout RMSE %.3f s", p.Holdout)
		}
		bar.SetNote(p.Epoch, note)
	}, bar.Finish
}

// loadTracks loads a track set and logs what the loader changed.
func (a *app) loadTracks(path string, requireLabels bool) (*dataset.TrackSet, error) {
	ts, err := dataset.LoadTracks(path, dataset.TrackOptions{RequireLabels: requireLabels})
	if err != nil {
		return nil, err
	}
	for _, w := range ts.Report.Warnings {
		a.log.Warn(w)
	}
	for _, p := range ts.Problems {
		a.log.Warn("track rejected", "track_id", p.TrackID, "reason", p.Reason)
	}
	return ts, nil
}

type evalResult struct {
	Model string   `json:"model"`
	Kind  string   `json:"kind"`
	Data  string   `json:"data"`
	Scope string   `json:"scope"` // "held-out" or "all"
	Plots []string `json:"plots,omitempty"`
	trackmodel.Evaluation
}

// evalOptions are eval's flags.
type evalOptions struct {
	model, data, plots string
	all                bool
	seed               uint64
	threshold          float64 // 0: the model's
}

func (a *app) evalCmd() *cobra.Command { return a.newEvalCmd(a.runEval) }

func (a *app) newEvalCmd(runF func(context.Context, *evalOptions) error) *cobra.Command {
	o := &evalOptions{}
	c := &cobra.Command{
		Use:   "eval --model FILE|NAME[@alias|:version] --data DIR|CSV",
		Short: "Score a saved model on labelled data (a track set or a CSV table)",
		Long: `Score a saved model (a model file, or a registered NAME, NAME@alias or
NAME:version from the store) on labelled tracks: RMSE with a 95% bootstrap interval
(18 validation tracks make a single RMSE noisy), MAE, bias, largest error,
exact-index rate, index RMSE and the share within 0.5 s, plus every track's
error. A track the model cannot predict is listed, never scored as NaN.

On the data the model was trained on (same content hash) only the held-out
tracks are scored, unless --all.

A tabular model (gbdt, logistic, fcn) is scored on a CSV with its target
column: scikit-learn's classification report with specificity, the confusion
matrix, ROC AUC, average precision, log loss and Brier score, and PNG figures
of the ROC and precision-recall curves, the confusion matrix and the training
curves. The CSV must have the model's feature columns (by name; extra columns
are ignored); missing or mistyped ones are listed in one error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.model == "" || o.data == "" {
				return fmt.Errorf("--model (a model file or a registered model) and --data (a labelled table or track set) are required")
			}
			if cmd.Flags().Changed("threshold") && !(o.threshold > 0 && o.threshold < 1) {
				return fmt.Errorf("--threshold must be in (0, 1), got %v", o.threshold)
			}
			return runF(cmd.Context(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.model, "model", "", "model file, or a registered NAME, NAME@alias or NAME:version")
	f.StringVar(&o.data, "data", "", "labelled data: a CSV table (tabular models) or a track set directory")
	f.BoolVar(&o.all, "all", false, "score every labelled track, even those the model was trained on")
	f.Uint64Var(&o.seed, "bootstrap-seed", 0, "seed of the bootstrap interval")
	f.StringVar(&o.plots, "plots", "", "directory for the PNG figures (default HOME/reports/MODEL; - for none)")
	f.Float64Var(&o.threshold, "threshold", 0, "tabular, two classes: decision threshold on P(positive) in (0, 1) (unset: the model's own)")
	return c
}

func (a *app) runEval(ctx context.Context, o *evalOptions) error {
	l, err := a.loadModel(ctx, o.model)
	if err != nil {
		return err
	}
	plots := o.plots
	switch plots {
	case "":
		plots = a.homePath("reports", strings.TrimSuffix(l.Label, filepath.Ext(l.Label)))
	case "-":
		plots = ""
	}
	res, err := evaluate.Run(ctx, evaluate.Request{Model: l, Data: o.data, Threshold: o.threshold, All: o.all, BootstrapSeed: o.seed, Plots: plots, Warn: a.log.Warn})
	if err != nil {
		return err
	}
	if t := res.Table; t != nil {
		r := evalTabularResult{Model: o.model, Kind: res.Kind, Data: o.data, Rows: t.Rows, Threshold: t.Threshold, Scores: t.Scores, Report: t.Report,
			Classes: t.Classes, Positive: t.Positive, SeenInTraining: t.SeenInTraining, Plots: res.Plots}
		if len(t.Importance.Weights) > 0 {
			r.Importance = &t.Importance
		}
		if t.Task == tabular.TaskRegression {
			r.Task, r.Target, r.Classes, r.Report = t.Task, t.Target, nil, nil
			return a.report(r, func(w io.Writer) {
				fmt.Fprintf(w, "%s (%s) on %s: %d rows, predicting %s\n", o.model, r.Kind, o.data, r.Rows, r.Target)
				if r.SeenInTraining {
					fmt.Fprintln(w, "note: this is the data the model was trained on, so these scores are optimistic; use reckon train tabular --cv or --folds for honest estimates")
				}
				fmt.Fprintf(w, "RMSE %.6g, MAE %.6g, R² %.4f, MAPE %.4f, max error %.6g\n", r.Scores["rmse"], r.Scores["mae"], r.Scores["r2"], r.Scores["mape"], r.Scores["max_error"])
				printImportance(w, r.Importance, 10)
				printFigures(w, r.Plots)
			})
		}
		return a.report(r, func(w io.Writer) {
			if len(r.Classes) > 2 {
				fmt.Fprintf(w, "%s (%s) on %s: %d rows, predicting the most probable of %d classes\n", o.model, r.Kind, o.data, r.Rows, len(r.Classes))
			} else {
				fmt.Fprintf(w, "%s (%s) on %s: %d rows, threshold %.3f on P(%s)\n", o.model, r.Kind, o.data, r.Rows, r.Threshold, r.Positive)
			}
			if r.SeenInTraining {
				fmt.Fprintln(w, "note: this is the data the model was trained on, so these scores are optimistic; use reckon train tabular --cv or --folds for honest estimates")
			}
			printReport(w, t.Evaluation)
			printImportance(w, r.Importance, 10)
			printFigures(w, r.Plots)
		})
	}
	r := evalResult{Model: o.model, Kind: res.Kind, Data: o.data, Scope: res.Tracks.Scope, Plots: res.Plots, Evaluation: res.Tracks.Evaluation}
	return a.report(r, func(w io.Writer) {
		fmt.Fprintf(w, "%s (%s) on %s, %s tracks:\n", o.model, r.Kind, o.data, r.Scope)
		printEval(w, &r.Evaluation)
		printFigures(w, r.Plots)
	})
}

func printFigures(w io.Writer, paths []string) {
	for _, p := range paths {
		fmt.Fprintf(w, "  figure: %s\n", p)
	}
}

func printEval(w io.Writer, e *trackmodel.Evaluation) {
	fmt.Fprintf(w, "  RMSE %.3f s (95%% CI %.3f-%.3f), MAE %.3f s, bias %+.3f s, max |error| %.3f s\n",
		e.RMSE, e.RMSECI95[0], e.RMSECI95[1], e.MAE, e.Bias, e.MaxAbs)
	fmt.Fprintf(w, "  exact index %.0f%%, index RMSE %.3f s, within 0.5 s %.0f%%, tracks %d\n",
		100*e.ExactIndexRate, e.IndexRMSE, 100*e.Within05, e.N)
	for _, h := range e.ByHorizon {
		fmt.Fprintf(w, "  horizon %5.1f s: RMSE %.3f s, max |error| %.3f s, %d forecasts\n", h.Horizon, h.RMSE, h.MaxAbs, h.N)
	}
	if e.Skipped > 0 {
		fmt.Fprintf(w, "  %d non-reentering track(s) not scored\n", e.Skipped)
	}
	for _, f := range e.Failed {
		fmt.Fprintf(w, "  no prediction for track %s: %s\n", f.TrackID, f.Reason)
	}
}
