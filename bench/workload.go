package bench

import (
	"bytes"
	"context"
	"os"

	"github.com/reckon-ml/reckon/batch"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/reckon-ml/reckon/tabular"
)

// PredictWorkload is what `reckon bench predict` measures: the tumor GBDT
// (reckon's defaults) and logistic regression on Rows rows made of the
// embedded Breast Cancer Wisconsin rows repeated, and an LSTM of the
// default shape (weights from one epoch on 8 tracks: speed does not depend
// on them) on Tracks generated tracks, each at every worker count.
type PredictWorkload struct {
	Rows, Tracks, Reps int
	Workers            []int
	// Job also times whole batch jobs with their output files.
	Job bool
}

// RunPredict measures the workload, tables first.
func RunPredict(ctx context.Context, w PredictWorkload) ([]PredictResult, error) {
	t, _, err := dataset.ReadCSV(examples.TumorCSVName, bytes.NewReader(examples.TumorCSV), dataset.ReadOptions{})
	if err != nil {
		return nil, err
	}
	schema, fr, err := tabular.Prepare(t, "diagnosis", "malignant")
	if err != nil {
		return nil, err
	}
	big := &tabular.Frame{Rows: w.Rows, Cols: fr.Cols, Categorical: fr.Categorical, X: make([]float64, 0, w.Rows*fr.Cols)}
	for i := range w.Rows {
		big.X = append(big.X, fr.X[(i%fr.Rows)*fr.Cols:(i%fr.Rows+1)*fr.Cols]...)
	}
	recs := batch.FrameRecords(big)
	var results []PredictResult
	for _, kind := range []string{tabular.KindGBDT, tabular.KindLogistic} {
		m, err := tabular.Train(ctx, tabular.DefaultSpec(kind), schema, fr, nil)
		if err != nil {
			return nil, err
		}
		for _, n := range w.Workers {
			r, err := Predict(ctx, "tumor "+kind, recs, batch.FrameScorer(m), n, 4096, w.Reps, w.Job)
			if err != nil {
				return nil, err
			}
			results = append(results, r)
		}
	}

	dir, err := os.MkdirTemp("", "reckon-bench-tracks-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	gcfg := reentry.DefaultConfig()
	gcfg.Count, gcfg.Seed = w.Tracks, 99
	if _, err := reentry.WriteDir(ctx, dir, gcfg, reentry.WriteOptions{}); err != nil {
		return nil, err
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(ts.Tracks))
	for i := range ts.Tracks {
		ids[i] = ts.Tracks[i].ID
	}
	trs, labels := ts.Subset(ids)
	lc := lstm.DefaultConfig()
	lc.Epochs = 1
	n := min(8, len(trs))
	lm, _, err := lstm.Train(ctx, trs[:n], labels[:n], lc, nil, nil)
	if err != nil {
		return nil, err
	}
	trecs := make([]batch.Record, len(trs))
	for i, tr := range trs {
		trecs[i] = batch.Record{ID: tr.ID, Track: tr}
	}
	for _, n := range w.Workers {
		r, err := Predict(ctx, "reentry lstm", trecs, batch.TracksScorer(lm), n, 8, w.Reps, w.Job)
		if err != nil {
			return nil, err
		}
		results = append(results, r)
	}
	return results, nil
}
