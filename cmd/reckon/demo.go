package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/reckon-ml/reckon/baseline"
	"github.com/reckon-ml/reckon/compare"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
	"github.com/spf13/cobra"
)

type demoModel struct {
	Kind       string                `json:"kind"`
	Seconds    float64               `json:"train_seconds"`
	Validation trackmodel.Evaluation `json:"validation"`
}

type demoResult struct {
	Home           string                  `json:"home"`
	Reentry        dataset.TrackSetSummary `json:"reentry"`
	Baseline       *baseline.MeanAltitude  `json:"baseline"`
	Models         []demoModel             `json:"models"`
	TrainTracks    int                     `json:"train_tracks"`
	TestTracks     int                     `json:"test_tracks"`
	Tumor          dataset.TableSummary    `json:"tumor"`
	TumorCompare   *compareResult          `json:"tumor_compare"`
	GenerateSecond float64                 `json:"generate_seconds"`
}

func (a *app) demoCmd() *cobra.Command {
	var keep bool
	var lstmEpochs int
	var count int
	var seed uint64
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the reference workloads end to end on built-in data",
		Long: `Run reckon's reference workloads with zero setup, in a temporary home:

  1. generate 90 reentry tracks (seed 7) and inspect them,
  2. train the reentry models (mean-altitude baseline, physics fit, LSTM with
     a lighter schedule) on a 72/18 split by track and compare them on the
     held-out tracks,
  3. on the Breast Cancer Wisconsin table shipped inside the binary, cross-
     validate logistic regression, gradient-boosted trees and the FCN network
     on the 15 shared folds, and pick a champion under the wins policy and the
     recall-first constraint policy (recall[malignant] >= 0.97, then the best
     precision), with the evidence for each choice.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := os.MkdirTemp("", "reckon-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(home)
			}
			res := demoResult{Home: home}

			// Reentry: generate, load back through the strict loader, baseline.
			dir := filepath.Join(home, "data", "reentry")
			cfg := reentry.DefaultConfig()
			cfg.Count, cfg.Seed = count, seed
			bar := progress.New(a.progressOut(), "generating tracks", cfg.Count)
			sum, err := reentry.WriteDir(cmd.Context(), dir, cfg, reentry.WriteOptions{Progress: bar.Set})
			if err != nil {
				return err
			}
			bar.Finish()
			res.GenerateSecond = sum.Seconds
			ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
			if err != nil {
				return err
			}
			res.Reentry = dataset.SummarizeTracks(ts)
			for _, kind := range trackmodel.Kinds {
				t0 := time.Now()
				tc := trackmodel.Config{Kind: kind, Split: trackmodel.Split{TestFrac: 0.2}}
				finish := func() {}
				if kind == lstm.Kind {
					lc := lstm.DefaultConfig()
					lc.Epochs = lstmEpochs
					tc.LSTM = &lc
					tc.Progress, finish = a.epochBar("training lstm (epochs)", lc.Epochs)
				}
				tr, err := trackmodel.Train(cmd.Context(), ts, tc)
				finish()
				if err != nil {
					return err
				}
				if b, ok := tr.Model.(*baseline.MeanAltitude); ok {
					res.Baseline = b
				}
				res.Models = append(res.Models, demoModel{Kind: kind, Seconds: time.Since(t0).Seconds(), Validation: tr.Validation})
				res.TrainTracks, res.TestTracks = len(tr.Train), tr.Validation.N
			}

			// Tumor: the embedded CSV through the same strict reader.
			t, _, err := dataset.ReadCSV(examples.TumorCSVName, bytes.NewReader(examples.TumorCSV), dataset.ReadOptions{})
			if err != nil {
				return err
			}
			res.Tumor = dataset.Summarize(t, "diagnosis")
			if res.TumorCompare, err = a.demoTumor(cmd.Context(), t); err != nil {
				return err
			}

			return a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "== reentry: %d generated tracks (seed %d) in %.1f s\n", sum.Tracks, seed, sum.Seconds)
				printTracks(w, &res.Reentry)
				fmt.Fprintf(w, "\n== reentry models: trained on %d tracks, scored on %d held-out tracks\n", res.TrainTracks, res.TestTracks)
				tw := newTabWriter(w)
				fmt.Fprintln(tw, "model\tRMSE (s)\t95% CI\tMAE (s)\tbias (s)\tmax |err| (s)\texact index\twithin 0.5 s\ttrain (s)")
				for _, m := range res.Models {
					e := m.Validation
					fmt.Fprintf(tw, "%s\t%.3f\t%.3f-%.3f\t%.3f\t%+.3f\t%.3f\t%.0f%%\t%.0f%%\t%.1f\n", m.Kind, e.RMSE, e.RMSECI95[0], e.RMSECI95[1],
						e.MAE, e.Bias, e.MaxAbs, 100*e.ExactIndexRate, 100*e.Within05, m.Seconds)
				}
				tw.Flush()
				fmt.Fprintf(w, "baseline: mean reentry altitude %.0f m; physics-fit is the strong non-learned comparator;\n", res.Baseline.Altitude)
				fmt.Fprintf(w, "lstm here trains %d epochs to keep the demo short (reckon train reentry --model lstm uses %d)\n", lstmEpochs, lstm.DefaultConfig().Epochs)
				fmt.Fprintf(w, "\n== tumor: Breast Cancer Wisconsin (embedded copy of examples/tumor)\n")
				fmt.Fprintf(w, "%d rows, %d columns, %d malignant / %d benign, version %s\n",
					res.Tumor.Rows, len(res.Tumor.Columns), res.Tumor.ClassBalance["malignant"], res.Tumor.ClassBalance["benign"], res.Tumor.Hash)
				fmt.Fprintln(w)
				printCompare(w, res.TumorCompare)
				fmt.Fprintf(w, "\nchampion under the recall-first policy: %s\n", res.TumorCompare.Champion)
				if keep {
					fmt.Fprintf(w, "\nkept the demo home: %s\n", home)
				}
				fmt.Fprintf(w, "\nnext: reckon data gen reentry --count 90 --seed 7 --out tracks/ && reckon data inspect tracks/\n")
				fmt.Fprintf(w, "      reckon compare --models logistic,gbdt,fcn --data examples/tumor/%s --target diagnosis --folds examples/tumor/%s\n", examples.TumorCSVName, examples.TumorFoldsName)
			})
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary home and print its path")
	c.Flags().IntVar(&count, "count", 90, "reentry tracks to generate")
	c.Flags().Uint64Var(&seed, "seed", 7, "generator seed")
	c.Flags().IntVar(&lstmEpochs, "lstm-epochs", 40, "lstm training epochs (lighter than train's default, to keep the demo short)")
	return c
}

// demoTumor compares the three tabular models on the shared folds.
func (a *app) demoTumor(ctx context.Context, t *dataset.Table) (*compareResult, error) {
	schema, err := tabular.NewSchema(t, "diagnosis", "malignant")
	if err != nil {
		return nil, err
	}
	fr, err := schema.Encode(t)
	if err != nil {
		return nil, err
	}
	ff, err := dataset.ReadFolds(examples.TumorFoldsName, bytes.NewReader(examples.TumorFolds), fr.Rows)
	if err != nil {
		return nil, err
	}
	var specs []tabular.Spec
	for _, k := range tabular.Kinds {
		specs = append(specs, tabular.DefaultSpec(k))
	}
	pols := []compare.Policy{
		compare.Wins{},
		compare.Constraint{Metric: "recall[malignant]", Min: 0.97, Maximize: "precision[malignant]"},
	}
	res, err := a.runCompare(ctx, tabular.Kinds, specs, schema, fr, ff.Folds, pols)
	if err != nil {
		return nil, err
	}
	res.Data, res.Folds = "tumor (embedded)", fmt.Sprintf("the %d shared folds (%s)", len(ff.Folds), ff.Protocol)
	return res, nil
}
