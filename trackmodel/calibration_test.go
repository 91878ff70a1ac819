package trackmodel

import (
	"context"
	"testing"

	"github.com/reckon-ml/reckon/baseline"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/sim/reentry"
)

// trainSeed generates 90 tracks with the spec defaults and trains kind on a
// 72/18 split by track with a fixed split seed (reentry-spec.md §4, §5.1).
func trainSeed(t *testing.T, seed uint64, kind string) Evaluation {
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
	res, err := Train(context.Background(), ts, Config{Kind: kind, Split: Split{TestFrac: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Train) != 72 || res.Validation.N != 18 {
		t.Fatalf("split %d/%d, want 72/18", len(res.Train), res.Validation.N)
	}
	return res.Validation
}

// The spec (§5.1, §8) expects the mean-altitude baseline at 3-4.5 s RMSE on
// a 72/18 split with the recommended beta range.
func TestBaselineCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 450 tracks; skipped with -short")
	}
	var sum float64
	seeds := []uint64{1, 2, 3, 4, 5}
	for _, s := range seeds {
		r := trainSeed(t, s, baseline.Kind).RMSE
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
	// Recorded: 2.701, 2.679, 2.703, 4.816, 2.684 -> mean 3.117 s (seeds 6-10:
	// 3.724, 3.895, 4.524, 3.235, 2.763; mean of all ten 3.372 s). The spec's
	// prototype gives 3.38 +- 0.88 per draw for this beta range, so about
	// +-0.4 for a mean of five; the band allows that around 3-4.5 s.
	if mean < 2.6 || mean > 4.5 {
		t.Errorf("mean baseline RMSE %.3f s outside [2.6, 4.5]", mean)
	}
}
