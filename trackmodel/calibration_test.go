package trackmodel

import (
	"context"
	"os"
	"testing"

	"github.com/reckon-ml/reckon/baseline"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/physfit"
	"github.com/reckon-ml/reckon/sim/reentry"
)

// calibrate generates 90 tracks with the spec defaults and trains every
// kind on a 72/18 split by track with a fixed split seed (reentry-spec.md
// §4, §5.1), returning each kind's validation.
func calibrate(t *testing.T, seed uint64, kinds ...string) map[string]Evaluation {
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
	out := map[string]Evaluation{}
	for _, k := range kinds {
		res, err := Train(context.Background(), ts, Config{Kind: k, Split: Split{TestFrac: 0.2}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Train) != 72 || res.Validation.N != 18 || len(res.Validation.Failed) > 0 {
			t.Fatalf("%s: split %d/%d, %d failed", k, len(res.Train), res.Validation.N, len(res.Validation.Failed))
		}
		out[k] = res.Validation
	}
	return out
}

// The spec (§5.1, §8) expects, on a 72/18 split with the recommended beta
// range, the mean-altitude baseline at 3-4.5 s RMSE and the physics fit at
// 0.04-0.13 s.
func TestCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 450 tracks; skipped with -short")
	}
	var base, phys float64
	seeds := []uint64{1, 2, 3, 4, 5}
	for _, s := range seeds {
		ev := calibrate(t, s, baseline.Kind, physfit.Kind)
		b, p := ev[baseline.Kind], ev[physfit.Kind]
		t.Logf("seed %d: baseline RMSE %.3f s; physics fit RMSE %.3f s, max %.3f s, exact %.0f%%", s, b.RMSE, p.RMSE, p.MaxAbs, 100*p.ExactIndexRate)
		base += b.RMSE
		phys += p.RMSE
		// One 18-track RMSE has an sd of ~0.9 s over draws (spec §5.1), so
		// single seeds get a wide band.
		if b.RMSE < 1.5 || b.RMSE > 6.5 {
			t.Errorf("seed %d: baseline RMSE %.3f s outside [1.5, 6.5]", s, b.RMSE)
		}
		if p.MaxAbs > 0.5 {
			t.Errorf("seed %d: physics fit misses a track by %.3f s", s, p.MaxAbs)
		}
	}
	base /= float64(len(seeds))
	phys /= float64(len(seeds))
	t.Logf("mean over seeds: baseline %.3f s, physics fit %.3f s", base, phys)
	// Recorded: baseline 2.701, 2.679, 2.703, 4.816, 2.684 -> mean 3.117 s
	// (seeds 6-10: 3.724, 3.895, 4.524, 3.235, 2.763; mean of all ten
	// 3.372 s). The spec's prototype gives 3.38 +- 0.88 per draw for this
	// beta range, so about +-0.4 for a mean of five; the band allows that
	// around 3-4.5 s. Physics fit: 0.055, 0.038, 0.035, 0.080, 0.052 ->
	// mean 0.052 s (the spec's prototype: 0.070 +- 0.023, range 0.04-0.13).
	if base < 2.6 || base > 4.5 {
		t.Errorf("mean baseline RMSE %.3f s outside [2.6, 4.5]", base)
	}
	if phys < 0.025 || phys > 0.13 {
		t.Errorf("mean physics-fit RMSE %.3f s outside [0.025, 0.13]", phys)
	}
}

// The LSTM target of the reentry issue: RMSE <= 0.118 s on the mean over
// five generator seeds, no error above 0.5 s, with `train reentry --model
// lstm`'s defaults. It trains five models for about four minutes each on
// two cores, so it runs only when asked: RECKON_SLOW=1 go test -run
// LSTMCalibration -timeout 60m ./trackmodel
// Recorded: 0.120, 0.068, 0.079, 0.096, 0.130 s (mean 0.099 s, largest
// error 0.42 s).
func TestLSTMCalibration(t *testing.T) {
	if os.Getenv("RECKON_SLOW") == "" {
		t.Skip("trains five LSTMs (~20 min); set RECKON_SLOW=1 to run")
	}
	var sum float64
	for _, s := range []uint64{1, 2, 3, 4, 5} {
		ev := calibrate(t, s, lstm.Kind)[lstm.Kind]
		t.Logf("seed %d: lstm RMSE %.3f s, max %.3f s, exact %.0f%%", s, ev.RMSE, ev.MaxAbs, 100*ev.ExactIndexRate)
		sum += ev.RMSE
		if ev.MaxAbs > 0.5 {
			t.Errorf("seed %d: an error of %.3f s", s, ev.MaxAbs)
		}
	}
	if mean := sum / 5; mean > 0.118 {
		t.Errorf("mean LSTM RMSE %.3f s, target 0.118 s", mean)
	}
}
