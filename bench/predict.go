package bench

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/reckon-ml/reckon/batch"
)

// PredictResult is one throughput measurement of batch scoring.
type PredictResult struct {
	Model     string  `json:"model"`
	Workers   int     `json:"workers"`
	Records   int     `json:"records"`
	Seconds   float64 `json:"seconds"` // best of the repetitions
	PerSecond float64 `json:"records_per_second"`
	// Job is the whole 'reckon predict' job (CSV output, fsync per chunk,
	// journal) per second, when measured.
	JobSeconds   float64 `json:"job_seconds,omitempty"`
	JobPerSecond float64 `json:"job_records_per_second,omitempty"`
}

// Predict times scoring recs with workers goroutines (best of reps), and,
// with job, a whole batch job into a temporary directory.
func Predict(ctx context.Context, label string, recs []batch.Record, sc batch.Scorer, workers, chunk, reps int, job bool) (PredictResult, error) {
	r := PredictResult{Model: label, Workers: workers, Records: len(recs)}
	for rep := range max(reps, 1) {
		t0 := time.Now()
		out, err := batch.Score(recs, sc, workers, chunk)
		if err != nil {
			return r, err
		}
		s := time.Since(t0).Seconds()
		for _, o := range out {
			if o.Stage != "" {
				return r, fmt.Errorf("%s: record failed in the benchmark: %s", label, o.Reason)
			}
		}
		if rep == 0 || s < r.Seconds {
			r.Seconds = s
		}
	}
	r.PerSecond = float64(len(recs)) / r.Seconds
	if job {
		dir, err := os.MkdirTemp("", "reckon-bench-predict-")
		if err != nil {
			return r, err
		}
		defer os.RemoveAll(dir)
		t0 := time.Now()
		if _, err := batch.Run(ctx, batch.Job{Source: batch.SliceSource(recs), Scorer: sc, Model: label, Out: dir, Workers: workers, Chunk: chunk}); err != nil {
			return r, err
		}
		r.JobSeconds = time.Since(t0).Seconds()
		r.JobPerSecond = float64(len(recs)) / r.JobSeconds
	}
	return r, nil
}
