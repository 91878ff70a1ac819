package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/reckon-ml/reckon/baseline"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/reckon-ml/reckon/trackmodel"
	"github.com/spf13/cobra"
)

type demoResult struct {
	Home           string                  `json:"home"`
	Reentry        dataset.TrackSetSummary `json:"reentry"`
	Baseline       *baseline.MeanAltitude  `json:"baseline"`
	Validation     trackmodel.Evaluation   `json:"baseline_validation"`
	TrainTracks    int                     `json:"train_tracks"`
	TestTracks     int                     `json:"test_tracks"`
	Tumor          dataset.TableSummary    `json:"tumor"`
	GenerateSecond float64                 `json:"generate_seconds"`
}

func (a *app) demoCmd() *cobra.Command {
	var keep bool
	var count int
	var seed uint64
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the reference workloads end to end on built-in data",
		Long: `Run reckon's reference workloads with zero setup, in a temporary home:

  1. generate 90 reentry tracks (seed 7) and inspect them,
  2. fit the mean-reentry-altitude baseline on a 72/18 split and score it,
  3. inspect the Breast Cancer Wisconsin table shipped inside the binary.

Later versions grow this into the full train / compare / predict pipelines.`,
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
			tr, err := trackmodel.Train(cmd.Context(), ts, trackmodel.Config{Kind: baseline.Kind, Split: trackmodel.Split{TestFrac: 0.2}})
			if err != nil {
				return err
			}
			res.Baseline = tr.Model.(*baseline.MeanAltitude)
			res.Validation = tr.Validation
			res.TrainTracks, res.TestTracks = len(tr.Train), tr.Validation.N

			// Tumor: the embedded CSV through the same strict reader.
			t, _, err := dataset.ReadCSV(examples.TumorCSVName, bytes.NewReader(examples.TumorCSV), dataset.ReadOptions{})
			if err != nil {
				return err
			}
			res.Tumor = dataset.Summarize(t, "diagnosis")

			return a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "== reentry: %d generated tracks (seed %d) in %.1f s\n", sum.Tracks, seed, sum.Seconds)
				printTracks(w, &res.Reentry)
				fmt.Fprintf(w, "\n== mean-altitude baseline (reentry-spec §5.1)\n")
				fmt.Fprintf(w, "fitted on %d tracks: mean reentry altitude %.0f m\n", res.TrainTracks, res.Baseline.Altitude)
				fmt.Fprintf(w, "on %d held-out tracks (the numbers every reentry model must beat):\n", res.TestTracks)
				printEval(w, &res.Validation)
				fmt.Fprintf(w, "\n== tumor: Breast Cancer Wisconsin (embedded copy of examples/tumor)\n")
				fmt.Fprintf(w, "%d rows, %d columns, %d malignant / %d benign, version %s\n",
					res.Tumor.Rows, len(res.Tumor.Columns), res.Tumor.ClassBalance["malignant"], res.Tumor.ClassBalance["benign"], res.Tumor.Hash)
				if keep {
					fmt.Fprintf(w, "\nkept the demo home: %s\n", home)
				}
				fmt.Fprintf(w, "\nnext: reckon data gen reentry --count 90 --seed 7 --out tracks/ && reckon data inspect tracks/\n")
			})
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the temporary home and print its path")
	c.Flags().IntVar(&count, "count", 90, "reentry tracks to generate")
	c.Flags().Uint64Var(&seed, "seed", 7, "generator seed")
	return c
}
