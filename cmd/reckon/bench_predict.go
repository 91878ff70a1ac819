package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reckon-ml/reckon/bench"
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
			results, err := bench.RunPredict(cmd.Context(), bench.PredictWorkload{Rows: rows, Tracks: tracks, Reps: reps, Workers: workers, Job: job})
			if err != nil {
				return err
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
