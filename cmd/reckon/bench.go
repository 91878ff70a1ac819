package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/reckon-ml/reckon/bench"
	"github.com/reckon-ml/reckon/gbdt"
	"github.com/spf13/cobra"
)

func (a *app) benchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench",
		Short: "Speed benchmarks that mirror the Python anchors in shared/bench",
		Long: `Benchmarks that train exactly what an anchor script trains, on the same
file, and print the anchor's JSON keys, so both figures can be compared side by
side from one run on one machine.`,
	}
	c.AddCommand(a.benchLSTMCmd(), a.benchGBDTCmd(), a.benchPredictCmd())
	return c
}

func (a *app) benchLSTMCmd() *cobra.Command {
	cfg := bench.DefaultLSTMConfig()
	var data string
	c := &cobra.Command{
		Use:   "lstm --data F.seqbin",
		Short: "Time LSTM training epochs on a seqbin file (lstm_anchor.py train's shape)",
		Long: `Train stacked LSTM layers with a linear head on the last step (MSE, Adam,
last partial batch dropped) on a seqbin file, run one untimed warm-up epoch, then
time --epochs epochs. The shape and JSON keys match lstm_anchor.py train.

Make the file with the anchor and run both:

  /usr/bin/python3 shared/bench/lstm_anchor.py make /tmp/lstm.seqbin
  /usr/bin/python3 shared/bench/lstm_anchor.py train /tmp/lstm.seqbin --threads 2
  reckon bench lstm --data /tmp/lstm.seqbin --threads 2 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return fmt.Errorf("--data is required: a seqbin file (make one with lstm_anchor.py make)")
			}
			s, err := bench.ReadSeqbin(data)
			if err != nil {
				return err
			}
			res, err := bench.TrainLSTM(cmd.Context(), s, cfg, func(epoch int, loss float64) {
				a.log.Info("epoch", "epoch", epoch, "of", cfg.Epochs, "loss", loss)
			})
			if err != nil {
				return err
			}
			return a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s, %d threads: N=%d T=%d F=%d, %d x LSTM(%d), batch %d\n", res.Engine, res.Threads, res.N, res.T, res.F, res.Layers, res.Hidden, res.Batch)
				fmt.Fprintf(w, "median %.3f s/epoch (epochs: %s)\n", res.MedianSPerEpoch, floats(res.SPerEpoch))
				fmt.Fprintf(w, "loss per epoch: %s\n", floats(res.LossPerEpoch))
			})
		},
	}
	f := c.Flags()
	f.StringVar(&data, "data", "", "seqbin file")
	f.IntVar(&cfg.Epochs, "epochs", cfg.Epochs, "timed epochs (after one warm-up)")
	f.IntVar(&cfg.Threads, "threads", cfg.Threads, "workers; each batch is split across them")
	f.IntVar(&cfg.Hidden, "hidden", cfg.Hidden, "LSTM hidden size")
	f.IntVar(&cfg.Layers, "layers", cfg.Layers, "stacked LSTM layers")
	f.IntVar(&cfg.Batch, "batch", cfg.Batch, "batch size")
	f.Float64Var(&cfg.LR, "lr", cfg.LR, "Adam learning rate")
	f.Uint64Var(&cfg.Seed, "seed", 0, "initialisation and shuffling seed")
	return c
}

func floats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, " ")
}

func (a *app) benchGBDTCmd() *cobra.Command {
	cfg := bench.DefaultGBDTConfig()
	var csvPath, growth string
	c := &cobra.Command{
		Use:   "gbdt --data F.csv",
		Short: "Time gradient-boosted tree fitting and prediction (gbdt_anchor.py train's protocol)",
		Long: `Fit reckon's gradient-boosted trees on the first 80% of rows of a CSV
(f0..fN and a 0/1 label), after one untimed warm-up fit time --reps fits, time
prediction over all rows, and score ROC AUC on the last 20%. The JSON keys match
gbdt_anchor.py train.

Make the file with the anchor and run both with the same tree budget:

  /usr/bin/python3 shared/bench/gbdt_anchor.py make /tmp/gbdt.csv --rows 100000
  /usr/bin/python3 shared/bench/gbdt_anchor.py train /tmp/gbdt.csv --threads 1
  reckon bench gbdt --data /tmp/gbdt.csv --threads 1 --json

--bins 256 (XGBoost's max_bin) is capped at 255 value bins: reckon keeps bin 0
for missing values so a binned value fits in a byte.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if csvPath == "" {
				return fmt.Errorf("--data is required: a CSV of f0..fN,y (make one with gbdt_anchor.py make)")
			}
			cfg.Growth = gbdt.Growth(growth)
			res, err := bench.TrainGBDT(cmd.Context(), csvPath, cfg, func(rep int, s float64) {
				a.log.Info("fit", "rep", rep, "of", cfg.Reps, "seconds", s)
			})
			if err != nil {
				return err
			}
			return a.report(res, func(w io.Writer) {
				fmt.Fprintf(w, "%s, %d threads: %d rows (%d train), %d trees depth %d lr %g, %d bins\n", res.Model, res.Threads, res.Rows, res.TrainRows, res.Trees, res.Depth, res.LR, res.BinsUsed)
				fmt.Fprintf(w, "median fit %.3f s (fits: %s), predict %.0f rows/s, holdout AUC %.6f\n", res.MedianFitS, floats(res.FitS), res.PredictRowsPerS, res.HoldoutAUC)
			})
		},
	}
	f := c.Flags()
	f.SetNormalizeFunc(aliases(map[string]string{"csv": "data"}))
	f.StringVar(&csvPath, "data", "", "CSV with feature columns and a 0/1 label")
	f.StringVar(&cfg.Label, "label", cfg.Label, "label column")
	f.IntVar(&cfg.Threads, "threads", cfg.Threads, "threads for histograms and prediction")
	f.IntVar(&cfg.Trees, "trees", cfg.Trees, "boosting rounds")
	f.IntVar(&cfg.Depth, "depth", cfg.Depth, "tree depth")
	f.Float64Var(&cfg.LR, "lr", cfg.LR, "learning rate")
	f.IntVar(&cfg.Bins, "bins", cfg.Bins, "histogram bins per feature")
	f.IntVar(&cfg.Reps, "reps", cfg.Reps, "timed fits")
	f.Float64Var(&cfg.L2, "l2", cfg.L2, "L2 leaf regularisation")
	f.StringVar(&growth, "growth", string(cfg.Growth), "tree growth: oblivious (symmetric) or depthwise")
	return c
}
