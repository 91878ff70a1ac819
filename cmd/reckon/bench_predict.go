package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/batch"
	"github.com/reckon-ml/reckon/bench"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/reckon-ml/reckon/tabular"
)

func (a *app) benchPredictCmd() *cobra.Command {
	var rows, tracks, reps int
	var workersFlag string
	var job bool
	c := &cobra.Command{
		Use:   "predict",
		Short: "Batch scoring throughput: LSTM tracks/s and GBDT/logistic rows/s per worker count",
		Long: `Trains the tumor GBDT (reckon's defaults: 300 oblivious trees of depth 6) and
logistic regression on the embedded Breast Cancer Wisconsin table, scores
--rows rows made of its rows repeated, and scores --tracks generated reentry
tracks with an LSTM of the default shape (window 256, 2 bidirectional layers
of 64; weights from one training epoch: speed does not depend on them), with
each worker count. Scoring only (no input parsing, no output files) unless
--job, which also times a whole batch job (CSV output, fsync and journal per
chunk) into a temporary directory.`,
		Example: `  reckon bench predict --workers 1,2 --json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			batchGC() // as reckon predict does
			var workers []int
			for _, w := range strings.Split(workersFlag, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(w))
				if err != nil || n < 1 {
					return fmt.Errorf("--workers %q: want a list such as 1,2", workersFlag)
				}
				workers = append(workers, n)
			}
			ctx := cmd.Context()
			t, _, err := dataset.ReadCSV(examples.TumorCSVName, bytes.NewReader(examples.TumorCSV), dataset.ReadOptions{})
			if err != nil {
				return err
			}
			schema, err := tabular.NewSchema(t, "diagnosis", "malignant")
			if err != nil {
				return err
			}
			fr, err := schema.Encode(t)
			if err != nil {
				return err
			}
			big := &tabular.Frame{Rows: rows, Cols: fr.Cols, Categorical: fr.Categorical, X: make([]float64, 0, rows*fr.Cols)}
			for i := range rows {
				big.X = append(big.X, fr.X[(i%fr.Rows)*fr.Cols:(i%fr.Rows+1)*fr.Cols]...)
			}
			recs := batch.FrameRecords(big)
			var results []bench.PredictResult
			for _, kind := range []string{tabular.KindGBDT, tabular.KindLogistic} {
				m, err := tabular.Train(ctx, tabular.DefaultSpec(kind), schema, fr, nil)
				if err != nil {
					return err
				}
				for _, w := range workers {
					r, err := bench.Predict(ctx, "tumor "+kind, recs, batch.FrameScorer(m), w, 4096, reps, job)
					if err != nil {
						return err
					}
					results = append(results, r)
				}
			}

			dir, err := os.MkdirTemp("", "reckon-bench-tracks-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			gcfg := reentry.DefaultConfig()
			gcfg.Count, gcfg.Seed = tracks, 99
			if _, err := reentry.WriteDir(ctx, dir, gcfg, reentry.WriteOptions{}); err != nil {
				return err
			}
			ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
			if err != nil {
				return err
			}
			var trs []*dataset.Track
			var labels []dataset.TrackLabel
			for i := range ts.Tracks {
				trs = append(trs, &ts.Tracks[i])
				labels = append(labels, ts.Labels[ts.Tracks[i].ID])
			}
			lc := lstm.DefaultConfig()
			lc.Epochs = 1
			lm, _, err := lstm.Train(ctx, trs[:min(8, len(trs))], labels[:min(8, len(trs))], lc, nil, nil)
			if err != nil {
				return err
			}
			trecs := make([]batch.Record, len(trs))
			for i, tr := range trs {
				trecs[i] = batch.Record{ID: tr.ID, Track: tr}
			}
			for _, w := range workers {
				r, err := bench.Predict(ctx, "reentry lstm", trecs, batch.TracksScorer(lm), w, 8, reps, job)
				if err != nil {
					return err
				}
				results = append(results, r)
			}
			return a.report(results, func(wr io.Writer) {
				tw := newTabWriter(wr)
				head := "model\tworkers\trecords\tseconds\trecords/s\tspeedup"
				if job {
					head += "\tjob records/s"
				}
				fmt.Fprintln(tw, head)
				base := map[string]float64{}
				for _, r := range results {
					if _, ok := base[r.Model]; !ok {
						base[r.Model] = r.PerSecond
					}
					line := fmt.Sprintf("%s\t%d\t%d\t%.3f\t%.0f\t%.2fx", r.Model, r.Workers, r.Records, r.Seconds, r.PerSecond, r.PerSecond/base[r.Model])
					if job {
						line += fmt.Sprintf("\t%.0f", r.JobPerSecond)
					}
					fmt.Fprintln(tw, line)
				}
				tw.Flush()
			})
		},
	}
	f := c.Flags()
	f.IntVar(&rows, "rows", 1000000, "table rows to score (the tumor rows repeated)")
	f.IntVar(&tracks, "tracks", 48, "reentry tracks to generate and score")
	f.IntVar(&reps, "reps", 3, "repetitions (the best counts)")
	f.StringVar(&workersFlag, "workers", "1,2", "worker counts to measure")
	f.BoolVar(&job, "job", false, "also time whole batch jobs with their output files")
	return c
}
