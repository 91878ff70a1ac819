package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/chart"
	"github.com/reckon-ml/reckon/dataset"
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
}

func (a *app) trainReentryCmd() *cobra.Command {
	cfg := trackmodel.Config{Kind: trackmodel.Kinds[0], Split: trackmodel.Split{TestFrac: 0.2}}
	var data, out, variant string
	var force bool
	var epochs int
	var resume string
	lc := lstm.DefaultConfig()
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
it trains with fresh position noise and a trimmed end every epoch.`,
		Example: `  reckon data gen reentry --count 90 --seed 7 --out tracks
  reckon train reentry --data tracks --out baseline.rkm
  reckon eval --model baseline.rkm --data tracks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" || out == "" {
				return fmt.Errorf("--data (a track set directory) and --out (the model file to write) are required")
			}
			if variant != "A" && variant != "B" {
				return fmt.Errorf("--variant %q: want A (labelling) or B (forecast)", variant)
			}
			cfg.Variant = variant
			if _, err := os.Stat(out); err == nil && !force {
				return fmt.Errorf("%s already exists; choose another --out or pass --force to replace it", out)
			}
			ts, err := a.loadTracks(data, false)
			if err != nil {
				return err
			}
			if cfg.Kind == lstm.Kind {
				if epochs > 0 {
					lc.Epochs = epochs
				}
				if lc.Window < 16 || lc.Hidden < 1 || lc.Layers < 1 || lc.Batch < 1 || !(lc.LR > 0) || lc.Epochs < 1 {
					return fmt.Errorf("lstm: need --window >= 16 and positive --hidden, --layers, --batch, --lr, --epochs")
				}
				cfg.LSTM = &lc
				var finish func()
				cfg.Progress, finish = a.epochBar("epochs", lc.Epochs)
				defer finish()
			}
			if resume != "" {
				if err := resumeFrom(resume, ts, &cfg); err != nil {
					return err
				}
			}
			res, err := trackmodel.Train(cmd.Context(), ts, cfg)
			var intr *trackmodel.Interrupted
			if errors.As(err, &intr) {
				ckpt := out + ".ckpt"
				a, aerr := intr.Checkpoint.Artifact()
				if aerr == nil {
					a.Header.DataHash = ts.Hash()
					a.Header.Hyper, aerr = json.Marshal(cfg)
				}
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
			return a.report(r, func(w io.Writer) {
				fmt.Fprintf(w, "trained %s on %d tracks; wrote %s\n", r.Kind, r.Train, out)
				fmt.Fprintf(w, "validation on %d held-out tracks:\n", r.Validation.N)
				printEval(w, &r.Validation)
			})
		},
	}
	f := c.Flags()
	f.StringVar(&data, "data", "", "track set directory (tracks.csv + labels.csv)")
	f.StringVar(&out, "out", "", "model file to write")
	f.BoolVar(&force, "force", false, "replace an existing model file")
	f.StringVar(&cfg.Kind, "model", cfg.Kind, "model kind: "+strings.Join(trackmodel.Kinds, ", "))
	f.StringVar(&variant, "variant", "A", "task variant: A (labelling, whole tracks) or B (forecast from tracks cut before reentry; physics-fit, baseline)")
	f.Float64Var(&cfg.Split.TestFrac, "test-frac", cfg.Split.TestFrac, "share of flights held out for validation")
	f.Uint64Var(&cfg.Split.Seed, "split-seed", 0, "seed of the train/validation split")
	f.Uint64Var(&cfg.Seed, "seed", 0, "training seed")
	f.StringVar(&resume, "resume", "", "lstm: continue from the checkpoint an interrupted run wrote (OUT.ckpt)")
	f.IntVar(&epochs, "epochs", 0, "lstm: training epochs (default "+strconv.Itoa(lc.Epochs)+")")
	f.IntVar(&lc.Window, "window", lc.Window, "lstm: last steps of each track the network sees")
	f.IntVar(&lc.Hidden, "hidden", lc.Hidden, "lstm: hidden units per direction")
	f.IntVar(&lc.Layers, "layers", lc.Layers, "lstm: stacked bidirectional layers")
	f.IntVar(&lc.Batch, "batch", lc.Batch, "lstm: tracks per batch")
	f.Float64Var(&lc.LR, "lr", lc.LR, "lstm: peak learning rate of the one-cycle schedule")
	f.Float64Var(&lc.AugmentSigma, "augment-sigma", lc.AugmentSigma, "lstm: extra position noise (m) drawn afresh every epoch; 0 turns it off")
	f.IntVar(&lc.Workers, "workers", lc.Workers, "lstm: data-parallel workers (the model file depends on it)")
	return c
}

// epochBar is the progress bar of a training run: epoch, loss, ETA.
func (a *app) epochBar(label string, epochs int) (func(lstm.Progress), func()) {
	bar := progress.New(a.progressOut(), label, epochs)
	return func(p lstm.Progress) { bar.SetNote(p.Epoch, fmt.Sprintf("loss %.5f", p.Loss)) }, bar.Finish
}

// resumeFrom loads an lstm checkpoint made on the same data and puts it and
// its run's split into cfg.
func resumeFrom(path string, ts *dataset.TrackSet, cfg *trackmodel.Config) error {
	a, err := model.ReadFile(path)
	if err != nil {
		return err
	}
	ck, err := lstm.CheckpointFromArtifact(a)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if a.Header.DataHash != ts.Hash() {
		return fmt.Errorf("%s was made on other data (%s), not %s (%s)", path, a.Header.DataHash, ts.TracksPath, ts.Hash())
	}
	var prev trackmodel.Config
	if err := json.Unmarshal(a.Header.Hyper, &prev); err != nil {
		return fmt.Errorf("%s: unreadable training configuration: %w", path, err)
	}
	if prev.Kind != lstm.Kind {
		return fmt.Errorf("%s: a checkpoint of %s, not lstm", path, prev.Kind)
	}
	prev.Resume, prev.Progress = ck, cfg.Progress
	*cfg = prev
	return nil
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

func (a *app) evalCmd() *cobra.Command {
	var modelPath, data string
	var all bool
	var seed uint64
	var plots string
	var threshold float64
	c := &cobra.Command{
		Use:   "eval --model FILE --data DIR|CSV",
		Short: "Score a saved model on labelled data (a track set or a CSV table)",
		Long: `Score a saved model on labelled tracks: RMSE with a 95% bootstrap interval
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
			if modelPath == "" || data == "" {
				return fmt.Errorf("--model (a model file) and --data (a track set directory) are required")
			}
			art, err := model.ReadFile(modelPath)
			if err != nil {
				return err
			}
			m, err := model.FromArtifact(modelPath, art)
			if err != nil {
				return err
			}
			if tm, ok := m.(*tabular.Model); ok {
				tf := tableFlags{onError: "fail", missing: dataset.DefaultMissing}
				return a.evalTabular(cmd, modelPath, art, tm, data, tf, threshold, plots)
			}
			p, ok := m.(trackmodel.Predictor)
			if !ok {
				return fmt.Errorf("%s: a %s model does not predict reentry times", modelPath, m.Kind())
			}
			ts, err := a.loadTracks(data, true)
			if err != nil {
				return err
			}
			res := evalResult{Model: modelPath, Kind: m.Kind(), Data: data, Scope: "all"}
			var ids []string
			if !all && art.Header.DataHash == ts.Hash() {
				var cfg trackmodel.Config
				if err := json.Unmarshal(art.Header.Hyper, &cfg); err != nil {
					return fmt.Errorf("%s: unreadable training configuration: %w", modelPath, err)
				}
				ids, res.Scope = trackmodel.HeldOut(ts, cfg.Split), "held-out"
			}
			if res.Evaluation, err = trackmodel.Evaluate(p, ts, ids, seed); err != nil {
				return err
			}
			if plots != "-" {
				if plots == "" {
					plots = a.homePath("reports", strings.TrimSuffix(filepath.Base(modelPath), filepath.Ext(modelPath)))
				}
				if res.Plots, err = writePlots(plots, art, &res.Evaluation); err != nil {
					return err
				}
			}
			return a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s (%s) on %s, %s tracks:\n", modelPath, res.Kind, data, res.Scope)
				printEval(w, &res.Evaluation)
				for _, p := range res.Plots {
					fmt.Fprintf(w, "  figure: %s\n", p)
				}
			})
		},
	}
	f := c.Flags()
	f.StringVar(&modelPath, "model", "", "model file")
	f.StringVar(&data, "data", "", "labelled track set directory")
	f.BoolVar(&all, "all", false, "score every labelled track, even those the model was trained on")
	f.Uint64Var(&seed, "bootstrap-seed", 0, "seed of the bootstrap interval")
	f.StringVar(&plots, "plots", "", "directory for the PNG figures (default <home>/reports/MODEL; - for none)")
	f.Float64Var(&threshold, "threshold", 0.5, "tabular: decision threshold on P(positive) (default: the model's)")
	return c
}

// writePlots draws the evaluation's figures into dir and returns their paths.
func writePlots(dir string, art *model.Artifact, e *trackmodel.Evaluation) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var bars, scatter []chart.Point
	for _, t := range e.Tracks {
		bars = append(bars, chart.Point{Label: t.TrackID, Y: t.Error})
		if !math.IsNaN(t.ReentryAltitude) {
			scatter = append(scatter, chart.Point{Label: t.TrackID, X: t.ReentryAltitude / 1000, Y: t.Error})
		}
	}
	figs := &figures{dir: dir}
	draw := figs.draw
	if err := draw("error_per_track.png", func(p string) error {
		return chart.Bars(p, fmt.Sprintf("%s: error per track (RMSE %.3f s)", art.Header.Kind, e.RMSE), "predicted - true reentry time (s)", bars)
	}); err != nil {
		return nil, err
	}
	if len(scatter) > 0 {
		if err := draw("error_vs_reentry_altitude.png", func(p string) error {
			return chart.Scatter(p, art.Header.Kind+": error vs reentry altitude", "reentry altitude (km)", "error (s)", scatter)
		}); err != nil {
			return nil, err
		}
	}
	if len(art.Header.Curves) > 0 {
		if err := draw("training_curves.png", func(p string) error {
			return chart.Curves(p, art.Header.Kind+": training", "epoch", "loss", art.Header.Curves)
		}); err != nil {
			return nil, err
		}
	}
	return figs.paths, nil
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

// figures writes a report's PNG files into one directory and keeps their
// paths in order.
type figures struct {
	dir   string
	paths []string
}

func (f *figures) draw(name string, render func(path string) error) error {
	p := filepath.Join(f.dir, name)
	if err := render(p); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	f.paths = append(f.paths, p)
	return nil
}
