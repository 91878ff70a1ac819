package baseline

import (
	"context"
	"math"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/sim/reentry"
)

// evalSeed generates 90 tracks with the spec defaults, splits them 72/18 by
// track with a fixed split seed, fits h-bar on the 72 and returns the RMSE
// on the 18 (reentry-spec.md §4, §5.1).
func evalSeed(t *testing.T, seed uint64) float64 {
	t.Helper()
	dir := t.TempDir()
	cfg := reentry.DefaultConfig()
	cfg.Seed = seed
	if _, err := reentry.WriteDir(context.Background(), dir, cfg, reentry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts.Problems) > 0 {
		t.Fatalf("seed %d: generated tracks rejected by the loader: %+v", seed, ts.Problems)
	}
	train, test := dataset.SplitTracks(ts, 0.2, 0)
	if len(train) != 72 || len(test) != 18 {
		t.Fatalf("split %d/%d, want 72/18", len(train), len(test))
	}
	var trainLabels []dataset.TrackLabel
	for _, id := range train {
		trainLabels = append(trainLabels, ts.Labels[id])
	}
	m, err := FitMeanAltitude(trainLabels)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*dataset.Track{}
	for i := range ts.Tracks {
		byID[ts.Tracks[i].ID] = &ts.Tracks[i]
	}
	se := 0.0
	for _, id := range test {
		p, err := m.Predict(byID[id])
		if err != nil {
			t.Fatal(err)
		}
		e := p - ts.Labels[id].ReentryTime
		se += e * e
	}
	return math.Sqrt(se / float64(len(test)))
}

// The spec (§5.1, §8) expects the mean-altitude baseline at 3-4.5 s RMSE on
// a 72/18 split with the recommended beta range. Measured with this
// generator, seeds 1-5 (see the closing note of the foundation issue).
func TestBaselineCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 450 tracks; skipped with -short")
	}
	var sum float64
	seeds := []uint64{1, 2, 3, 4, 5}
	for _, s := range seeds {
		r := evalSeed(t, s)
		t.Logf("seed %d: baseline RMSE %.3f s", s, r)
		sum += r
		// One 18-track RMSE has an sd of ~0.9 s over draws (spec §5.1), so
		// single seeds get a wide band.
		if r < 1.5 || r > 6.5 {
			t.Errorf("seed %d: baseline RMSE %.3f s outside [1.5, 6.5]", s, r)
		}
	}
	mean := sum / float64(len(seeds))
	t.Logf("mean over seeds: %.3f s", mean)
	// Recorded: 2.701, 2.679, 2.703, 4.816, 2.684 -> mean 3.117 s. The spec's
	// prototype gives 3.38 +- 0.88 per draw for this beta range, i.e. about
	// +-0.4 for a mean of five; the band allows that spread around 3-4.5.
	if mean < 2.6 || mean > 4.5 {
		t.Errorf("mean baseline RMSE %.3f s outside [2.6, 4.5]", mean)
	}
}
