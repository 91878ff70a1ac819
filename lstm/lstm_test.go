package lstm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/nn"
	"github.com/reckon-ml/reckon/sim/reentry"
)

func TestTargets(t *testing.T) {
	times := []float64{10, 10.5, 11, 11.5}
	yr := make([]float32, 4)
	yc := make([]float32, 4)
	targets(times, 10.8, yr, yc, 0, 1)
	if yc[1] != float32(1-0.6) || math.Abs(float64(yc[2])-0.6) > 1e-6 || yc[0] != 0 || yc[3] != 0 {
		t.Errorf("soft target %v", yc)
	}
	// The expected time under the soft target is t_re itself.
	if e := 10.5*float64(yc[1]) + 11*float64(yc[2]); math.Abs(e-10.8) > 1e-6 {
		t.Errorf("expected time %g", e)
	}
	if want := float32((10 - 10.8) / regScale); math.Abs(float64(yr[0]-want)) > 1e-7 {
		t.Errorf("regression target %g, want %g", yr[0], want)
	}
}

func TestReadouts(t *testing.T) {
	times := []float64{100, 100.5, 101, 101.5, 102, 102.5}
	reg := make([]float32, len(times))
	for i, tt := range times {
		reg[i] = float32((tt - 101.2) / regScale)
	}
	if got, ok := readRegression(reg, times); !ok || math.Abs(got-101.2) > 1e-5 {
		t.Errorf("regression readout %g", got)
	}
	logits := []float32{-10, -10, float32(math.Log(0.6)), float32(math.Log(0.4)), -10, -10}
	if got, ok := readSoftmax(logits, times); !ok || math.Abs(got-101.2) > 1e-3 {
		t.Errorf("softmax readout %g", got)
	}
}

// TestForecastTargetsReadBack: the forecast target of every step, read
// out from the last steps, is the reentry time itself; the padding before
// a short track gets no target and casts no vote.
func TestForecastTargetsReadBack(t *testing.T) {
	nan := math.NaN()
	times := []float64{nan, nan, 100, 100.5, 101, 101.5, 102}
	yr := make([]float32, len(times))
	forecastTargets(times, 187.3, yr, 0, 1)
	if yr[0] != 0 || yr[1] != 0 {
		t.Errorf("padding targets %v", yr[:2])
	}
	if want := float32((100 - 187.3) / fcScale); yr[2] != want {
		t.Errorf("first step's target %g, want %g", yr[2], want)
	}
	if got, ok := readForecast(yr, times); !ok || math.Abs(got-187.3) > 1e-4 {
		t.Errorf("read back %g %v", got, ok)
	}
	if _, ok := readForecast(yr[:2], times[:2]); ok {
		t.Error("a window of padding gave a forecast")
	}
	// Only the last fcVotes steps vote: a wild early step does not move it.
	long := make([]float64, 40)
	reg := make([]float32, 40)
	for i := range long {
		long[i] = float64(i) / 2
		reg[i] = float32((long[i] - 50) / fcScale)
	}
	reg[0] = 100
	if got, _ := readForecast(reg, long); math.Abs(got-50) > 1e-4 {
		t.Errorf("forecast %g, want 50", got)
	}
}

// TestForecastTrains: on tracks cut before reentry the forecast head
// trains (the loss falls), deterministically, and every forecast lies
// after the track's last observation; the softmax readout is refused.
func TestForecastTrains(t *testing.T) {
	c := reentry.DefaultConfig()
	c.Count, c.Seed, c.Variant, c.Replicates = 4, 3, "B", 2
	tracks, labels := generated(t, c)
	cfg := Config{Window: 48, Hidden: 6, Layers: 2, Epochs: 12, Batch: 4, LR: 1e-2, Clip: 1, AugmentSigma: 5, Shift: 2, Seed: 2, Workers: 2, TTA: 1, Readout: "mean", Forecast: true}
	m, _, err := Train(context.Background(), tracks, labels, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first, last := m.History[0], m.History[len(m.History)-1]; !(last < first/2) {
		t.Errorf("loss %g -> %g over %d epochs", first, last, len(m.History))
	}
	again, _, _ := Train(context.Background(), tracks, labels, cfg, nil, nil)
	if !bytes.Equal(modelBytes(m), modelBytes(again)) {
		t.Error("two forecast trainings differ")
	}
	preds, errs := m.PredictBatch(tracks)
	for i, tr := range tracks {
		if errs[i] != nil || !(preds[i] > tr.T[tr.Len()-1]) {
			t.Errorf("track %s ends at %g s: forecast %g, %v", tr.ID, tr.T[tr.Len()-1], preds[i], errs[i])
		}
	}
	cfg.Readout = "softmax"
	if _, _, err := Train(context.Background(), tracks, labels, cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "readout") {
		t.Errorf("softmax forecast: %v", err)
	}
}

func TestOneCycle(t *testing.T) {
	if lr := oneCycle(0, 100, 1); math.Abs(lr-0.04) > 1e-12 {
		t.Errorf("start %g", lr)
	}
	if lr := oneCycle(30, 100, 1); math.Abs(lr-1) > 1e-12 {
		t.Errorf("peak %g", lr)
	}
	if lr := oneCycle(100, 100, 1); math.Abs(lr-1e-4) > 1e-9 {
		t.Errorf("end %g", lr)
	}
}

// A tiny model trains, predicts finite times, round-trips through its
// artifact, and the same seed and worker count give the same bytes.
func TestTrainDeterministicAndArtifact(t *testing.T) {
	tracks, labels := trainingSet(t, 9)
	cfg := Config{Readout: "mean", Window: 64, Hidden: 12, Layers: 2, Epochs: 2, Batch: 2, LR: 1e-2, Clip: 1, AugmentSigma: 5, Shift: 2, Seed: 1, Workers: 2, TTA: 1}
	encode := func() []byte {
		m, _, err := Train(context.Background(), tracks, labels, cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := m.Artifact()
		if err != nil {
			t.Fatal(err)
		}
		a.Header.Kind = Kind
		var b bytes.Buffer
		if err := model.Write(&b, a); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	b1, b2 := encode(), encode()
	if !bytes.Equal(b1, b2) {
		t.Error("same data, config, seed and workers gave different model files")
	}
	// The Go kernels, as on a CPU without AVX2 and FMA, give the same file.
	nn.UsePortable(true)
	b3 := encode()
	nn.UsePortable(false)
	if !bytes.Equal(b1, b3) {
		t.Error("the portable kernels gave a different model file from the vector kernels")
	}
	a, err := model.Read("m", bytes.NewReader(b1))
	if err != nil {
		t.Fatal(err)
	}
	mm, err := model.FromArtifact("m", a)
	if err != nil {
		t.Fatal(err)
	}
	p, err := mm.(*Model).Predict(tracks[0])
	if err != nil || math.IsNaN(p) {
		t.Errorf("predict: %g, %v", p, err)
	}
}

// Interrupting after an epoch and resuming from the checkpoint (through its
// file format) gives the bytes of an uninterrupted run.
func TestResumeMatchesUninterrupted(t *testing.T) {
	tracks, labels := trainingSet(t, 13)
	base := Config{Readout: "mean", Window: 48, Hidden: 3, Layers: 1, Epochs: 4, Batch: 2, LR: 1e-2, Clip: 1, AugmentSigma: 5, Shift: 2, Seed: 2, Workers: 2, TTA: 1}
	for name, edit := range map[string]func(*Config){
		"defaults":       func(*Config) {},
		"dropout":        func(c *Config) { c.Layers, c.Dropout = 2, 0.3 },
		"early stopping": func(c *Config) { c.Patience, c.HoldoutFrac, c.Epochs = 2, 0.25, 6 },
		// Batches of 3 and 1 on two workers: the one-row step leaves a
		// worker idle, which the norms' statistics must not wait for.
		"batch norm":                 func(c *Config) { c.Layers, c.BatchNorm, c.Batch = 2, true, 3 },
		"batch norm, early stopping": func(c *Config) { c.Layers, c.BatchNorm, c.Patience, c.HoldoutFrac, c.Epochs = 2, true, 2, 0.25, 6 },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			edit(&cfg)
			full, _, err := Train(context.Background(), tracks, labels, cfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			_, ck, err := Train(ctx, tracks, labels, cfg, nil, func(p Progress) {
				if p.Epoch == 2 {
					cancel()
				}
			})
			if !errors.Is(err, context.Canceled) || ck == nil || ck.Epoch != 2 {
				t.Fatalf("interrupted: %v, checkpoint at %v", err, ck)
			}
			ck2, err := checkpointRoundTrip(ck)
			if err != nil {
				t.Fatal(err)
			}
			resumed, _, err := Train(context.Background(), tracks, labels, cfg, ck2, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(modelBytes(full), modelBytes(resumed)) {
				t.Error("resumed model differs from the uninterrupted one")
			}
		})
	}
}

// Dropout changes the model, repeatably; without it the file is what it
// was before the option existed (no new header fields).
func TestDropoutIsSeededAndOptional(t *testing.T) {
	tracks, labels := trainingSet(t, 9)
	cfg := Config{Readout: "mean", Window: 48, Hidden: 4, Layers: 2, Epochs: 2, Batch: 2, LR: 1e-2, Clip: 1, Seed: 3, Workers: 2, TTA: 1}
	train := func(c Config) []byte {
		m, _, err := Train(context.Background(), tracks, labels, c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return modelBytes(m)
	}
	plain := train(cfg)
	cfg.Dropout = 0.5
	d1, d2 := train(cfg), train(cfg)
	if !bytes.Equal(d1, d2) {
		t.Error("dropout with one seed gave two models")
	}
	if bytes.Equal(d1, plain) {
		t.Error("dropout 0.5 left the model unchanged")
	}
	if bytes.Contains(plain, []byte("dropout")) || bytes.Contains(plain, []byte("early_stop")) {
		t.Error("a model trained without the options names them")
	}
}

// TestBatchNormModel: batch norm trains repeatably, its running
// statistics move off their start and travel in the model file, and the
// file read back predicts what the trained model predicts.
func TestBatchNormModel(t *testing.T) {
	tracks, labels := trainingSet(t, 9)
	cfg := Config{Readout: "mean", Window: 48, Hidden: 4, Layers: 2, Epochs: 2, Batch: 3, LR: 1e-2, Clip: 1, Seed: 3, Workers: 2, TTA: 1, BatchNorm: true}
	m, _, err := Train(context.Background(), tracks, labels, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := Train(context.Background(), tracks, labels, cfg, nil, nil)
	if !bytes.Equal(modelBytes(m), modelBytes(again)) {
		t.Error("batch norm with one seed gave two models")
	}
	st := m.net.stats()
	if len(st) != 2 || st[0].W[0] == 0 || st[1].W[0] == 1 {
		t.Fatalf("running statistics %v", st)
	}
	a, err := m.Artifact()
	if err != nil {
		t.Fatal(err)
	}
	a.Header.Kind = Kind
	var b bytes.Buffer
	if err := model.Write(&b, a); err != nil {
		t.Fatal(err)
	}
	a2, err := model.Read("m", &b)
	if err != nil {
		t.Fatal(err)
	}
	mm, err := model.FromArtifact("m", a2)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range tracks {
		p1, err1 := m.Predict(tr)
		p2, err2 := mm.(*Model).Predict(tr)
		if err1 != nil || err2 != nil || p1 != p2 {
			t.Errorf("track %s: trained model %g (%v), read back %g (%v)", tr.ID, p1, err1, p2, err2)
		}
	}
	// Evaluation uses the running statistics, not the batch's: one track
	// alone predicts what it predicts in a batch.
	one, _ := m.PredictBatch(tracks[:1])
	all, _ := m.PredictBatch(tracks)
	if math.Abs(one[0]-all[0]) > 1e-3 {
		t.Errorf("track 0 alone %g, in a batch %g", one[0], all[0])
	}
	cfg.Layers = 1
	if _, _, err := Train(context.Background(), tracks, labels, cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "batch_norm") {
		t.Errorf("batch norm with one layer: %v", err)
	}
}

// Early stopping halts after Patience epochs without a better holdout
// RMSE and keeps the best epoch's weights.
func TestEarlyStoppingKeepsBestEpoch(t *testing.T) {
	tracks, labels := trainingSet(t, 13)
	cfg := Config{Readout: "mean", Window: 48, Hidden: 4, Layers: 1, Epochs: 40, Batch: 2, LR: 3e-2, Clip: 1, Seed: 4, Workers: 2, TTA: 1, Patience: 2, HoldoutFrac: 0.25}
	var seen []float64
	m, _, err := Train(context.Background(), tracks, labels, cfg, nil, func(p Progress) { seen = append(seen, p.Holdout) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Holdout) != len(m.History) || len(seen) != len(m.History) {
		t.Fatalf("%d holdout scores, %d losses, %d progress reports", len(m.Holdout), len(m.History), len(seen))
	}
	t.Logf("stopped after %d of %d epochs, best %d, holdout %v", len(m.History), cfg.Epochs, m.BestEpoch, m.Holdout)
	best := slices.Min(m.Holdout)
	if m.BestEpoch < 1 || m.Holdout[m.BestEpoch-1] != best {
		t.Fatalf("best epoch %d of holdout %v", m.BestEpoch, m.Holdout)
	}
	if len(m.History) < cfg.Epochs && len(m.History)-m.BestEpoch != cfg.Patience {
		t.Errorf("stopped after %d epochs with the best at %d, patience %d", len(m.History), m.BestEpoch, cfg.Patience)
	}
	// The model has the best epoch's weights: scoring the holdout again
	// gives the best score.
	_, _, hold, err := holdOut(mustWindows(t, tracks, labels, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.holdoutRMSE(hold); got != best {
		t.Errorf("the returned model scores %g on the holdout, the best epoch %g", got, best)
	}
	cfg.HoldoutFrac = 0.5
	if _, _, err := Train(context.Background(), tracks[:3], labels[:3], cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "early_stop_frac") {
		t.Errorf("3 flights, half held out: %v", err)
	}
}

func mustWindows(t *testing.T, tracks []*dataset.Track, labels []dataset.TrackLabel, cfg Config) ([]sample, []window, Config) {
	t.Helper()
	data, base, err := trainingWindows(tracks, labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data, base, cfg
}

// TestPeriodicCheckpointResumes: the checkpoint a running training hands
// out after an epoch (what pipelines store every few seconds) continues to
// the uninterrupted model too.
func TestPeriodicCheckpointResumes(t *testing.T) {
	tracks, labels := trainingSet(t, 13)
	cfg := Config{Readout: "mean", Window: 48, Hidden: 3, Layers: 1, Epochs: 4, Batch: 2, LR: 1e-2, Clip: 1, AugmentSigma: 5, Shift: 2, Seed: 3, Workers: 2, TTA: 1}
	var ck *Checkpoint
	full, _, err := Train(context.Background(), tracks, labels, cfg, nil, func(p Progress) {
		if p.Epoch == 1 {
			var err error
			if ck, err = p.Checkpoint(); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err != nil || ck == nil || ck.Epoch != 1 {
		t.Fatalf("training: %v, checkpoint %v", err, ck)
	}
	resumed, _, err := Train(context.Background(), tracks, labels, cfg, ck, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The last epoch's checkpoint, made a model, is the trained model.
	var last *Checkpoint
	Train(context.Background(), tracks, labels, cfg, nil, func(p Progress) {
		if p.Epoch == p.Epochs {
			last, _ = p.Checkpoint()
		}
	})
	fromCk, err := FromCheckpoint(last, tracks, labels)
	if err != nil {
		t.Fatal(err)
	}
	for i, tr := range tracks {
		a, errA := full.Predict(tr)
		b, errB := fromCk.Predict(tr)
		if errA != nil || errB != nil || a != b {
			t.Errorf("track %d: trained model %v, from the last checkpoint %v (%v %v)", i, a, b, errA, errB)
		}
	}
	fa, _ := full.Artifact()
	ra, _ := resumed.Artifact()
	var fb, rb bytes.Buffer
	model.Write(&fb, fa)
	model.Write(&rb, ra)
	if !bytes.Equal(fb.Bytes(), rb.Bytes()) {
		t.Error("resumed from the epoch-1 checkpoint, the model differs from the uninterrupted one")
	}
}

// TestPredictBatchMatchesPredict: one forward pass over several tracks
// gives each track's Predict (float32 rounding aside), failures included.
func TestPredictBatchMatchesPredict(t *testing.T) {
	tracks, labels := trainingSet(t, 17)
	cfg := Config{Window: 48, Hidden: 5, Layers: 2, Epochs: 3, Batch: 2, LR: 1e-2, Clip: 1, AugmentSigma: 5, Shift: 2, Seed: 4, Workers: 1, TTA: 1, Readout: "mean"}
	m, _, err := Train(context.Background(), tracks, labels, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	short := &dataset.Track{ID: "short", DT: 0.5, T: []float64{0, 0.5}, X: []float64{0, 0}, Y: []float64{0, 0}, Z: []float64{1, 1}, Alt: []float64{1, 1}}
	all := append(slices.Clone(tracks), short)
	got, errs := m.PredictBatch(all)
	for i, tr := range all {
		want, werr := m.Predict(tr)
		if (werr == nil) != (errs[i] == nil) {
			t.Fatalf("track %s: Predict error %v, PredictBatch error %v", tr.ID, werr, errs[i])
		}
		if werr == nil && math.Abs(got[i]-want) > 1e-3 {
			t.Errorf("track %s: batch %v, alone %v", tr.ID, got[i], want)
		}
	}
	if errs[len(all)-1] == nil {
		t.Error("a two-sample track was predicted")
	}
}

// trainingSet generates four tracks and returns them with their labels.
func trainingSet(t *testing.T, seed uint64) ([]*dataset.Track, []dataset.TrackLabel) {
	t.Helper()
	c := reentry.DefaultConfig()
	c.Count, c.Seed = 4, seed
	return generated(t, c)
}

// generated writes the generator's tracks for c and reads them back.
func generated(t *testing.T, c reentry.Config) ([]*dataset.Track, []dataset.TrackLabel) {
	t.Helper()
	dir := t.TempDir()
	if _, err := reentry.WriteDir(context.Background(), dir, c, reentry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var tracks []*dataset.Track
	var labels []dataset.TrackLabel
	for i := range ts.Tracks {
		tracks = append(tracks, &ts.Tracks[i])
		labels = append(labels, ts.Labels[ts.Tracks[i].ID])
	}
	return tracks, labels
}

// TestInterruptBeforeFirstEpochResumes: Ctrl-C before the first epoch ends
// leaves a checkpoint (the optimizer has no moments yet) that resumes to
// the uninterrupted model (issue 12: it was refused, "checkpoint has 16
// tensors, want parameters, Adam m and v").
func TestInterruptBeforeFirstEpochResumes(t *testing.T) {
	tracks, labels := trainingSet(t, 13)
	cfg := Config{Readout: "mean", Window: 48, Hidden: 3, Layers: 1, Epochs: 2, Batch: 2, LR: 1e-2, Clip: 1, AugmentSigma: 5, Shift: 2, Seed: 2, Workers: 2, TTA: 1}
	full, _, err := Train(context.Background(), tracks, labels, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ck, err := Train(ctx, tracks, labels, cfg, nil, nil)
	if !errors.Is(err, context.Canceled) || ck == nil || ck.Epoch != 0 {
		t.Fatalf("interrupted at once: %v, checkpoint %v", err, ck)
	}
	ck2, err := checkpointRoundTrip(ck)
	if err != nil {
		t.Fatalf("the first-epoch checkpoint is refused: %v", err)
	}
	resumed, _, err := Train(context.Background(), tracks, labels, cfg, ck2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(modelBytes(full), modelBytes(resumed)) {
		t.Error("resumed model differs from the uninterrupted one")
	}
}

// checkpointRoundTrip sends a checkpoint through its file format.
func checkpointRoundTrip(ck *Checkpoint) (*Checkpoint, error) {
	a, err := ck.Artifact()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := model.Write(&b, a); err != nil {
		return nil, err
	}
	back, err := model.Read("ck", &b)
	if err != nil {
		return nil, err
	}
	return CheckpointFromArtifact(back)
}

// modelBytes is a trained model's file.
func modelBytes(m *Model) []byte {
	a, _ := m.Artifact()
	a.Header.Kind = Kind
	var b bytes.Buffer
	model.Write(&b, a)
	return b.Bytes()
}

// TestHoldOutKeepsFlightsWhole: early stopping holds out whole flights,
// so no cut of a held-out flight is trained on; with one track per flight
// the draw is the one made track by track.
func TestHoldOutKeepsFlightsWhole(t *testing.T) {
	var data []sample
	var base []window
	for f := range 10 {
		for c := range 3 {
			data = append(data, sample{tre: float64(10*f + c), group: fmt.Sprintf("flight%d", f)})
			base = append(base, window{})
		}
	}
	cfg := Config{Seed: 5, Patience: 3, HoldoutFrac: 0.2}
	train, _, hold, err := holdOut(data, base, cfg)
	if err != nil {
		t.Fatal(err)
	}
	heldFlights := map[string]int{}
	for _, s := range hold {
		heldFlights[s.group]++
	}
	if len(heldFlights) != 2 || len(hold) != 6 || len(train) != 24 {
		t.Fatalf("held %v (%d tracks), %d trained on", heldFlights, len(hold), len(train))
	}
	for _, s := range train {
		if heldFlights[s.group] > 0 {
			t.Errorf("a cut of held-out %s is trained on", s.group)
		}
	}
	// One track per flight: the same draw as track by track.
	single := make([]sample, 20)
	for i := range single {
		single[i] = sample{tre: float64(i), group: fmt.Sprintf("t%d", i)}
	}
	_, _, h1, _ := holdOut(single, make([]window, 20), cfg)
	want := rand.New(rand.NewPCG(cfg.Seed, 0xe570)).Perm(20)[:4]
	slices.Sort(want)
	var got []int
	for _, s := range h1 {
		got = append(got, int(s.tre))
	}
	if !slices.Equal(got, want) {
		t.Errorf("held %v, the per-track draw %v", got, want)
	}
}
