package trackmodel

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/sim/reentry"
)

func tinySet(t *testing.T, seed uint64) *dataset.TrackSet {
	t.Helper()
	dir := t.TempDir()
	cfg := reentry.DefaultConfig()
	cfg.Count, cfg.Seed = 6, seed
	if _, err := reentry.WriteDir(context.Background(), dir, cfg, reentry.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestConfigValidate(t *testing.T) {
	bad := lstm.DefaultConfig()
	bad.Window = 4
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Kind: "physics-fit"}, ""},
		{Config{Kind: "lstm", LSTM: &bad}, "window_steps"},
		{Config{Kind: "gbdt"}, "available: baseline-mean-altitude, physics-fit, lstm"},
		{Config{Kind: "physics-fit", Variant: "C"}, "variant"},
	} {
		err := c.cfg.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestForDataSettlesTheVariant: the variant comes from the labels'
// horizons, and a variant that contradicts them is refused by name.
func TestForDataSettlesTheVariant(t *testing.T) {
	whole := &dataset.TrackSet{LabelsPath: "a/labels.csv", Labels: map[string]dataset.TrackLabel{
		"t1": {TrackID: "t1", Horizon: math.NaN()}, "t2": {TrackID: "t2", Horizon: math.NaN()}}}
	cuts := &dataset.TrackSet{LabelsPath: "b/labels.csv", Labels: map[string]dataset.TrackLabel{
		"t1": {TrackID: "t1", Horizon: 30}, "t2": {TrackID: "t2", Horizon: 2.5}}}
	for _, c := range []struct {
		ts           *dataset.TrackSet
		variant, got string
		err          string
	}{
		{whole, "", "A", ""},
		{whole, "A", "A", ""},
		{whole, "B", "", "a/labels.csv: no label carries a forecast horizon"},
		{cuts, "", "B", ""},
		{cuts, "B", "B", ""},
		{cuts, "A", "", "b/labels.csv: 2 labels carry a forecast horizon"},
	} {
		cfg := Config{Kind: lstm.Kind, Variant: c.variant}
		err := cfg.ForData(c.ts)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s, variant %q: %v, want %q", c.ts.LabelsPath, c.variant, err, c.err)
		case c.err == "" && (err != nil || cfg.Variant != c.got):
			t.Errorf("%s, variant %q: %q %v, want %q", c.ts.LabelsPath, c.variant, cfg.Variant, err, c.got)
		}
		if c.err == "" {
			if lc := cfg.lstmConfig(); lc.Forecast != (c.got == "B") {
				t.Errorf("%s: variant %s trains forecast=%v", c.ts.LabelsPath, c.got, lc.Forecast)
			}
		}
	}
}

// TestHorizonKeys: per-horizon metric names read back to their horizon.
func TestHorizonKeys(t *testing.T) {
	for _, h := range []float64{2, 5, 10, 120, 2.5} {
		k := HorizonKey(h)
		if got, ok := ParseHorizonKey(k); !ok || got != h {
			t.Errorf("%s: %v %v", k, got, ok)
		}
	}
	for _, k := range []string{"rmse_s", "rmse_s[h=x]", "mae_s[h=2]", "rmse_s[h=2"} {
		if _, ok := ParseHorizonKey(k); ok {
			t.Errorf("%q parsed as a horizon", k)
		}
	}
	ev := Evaluation{ByHorizon: []HorizonScore{{Horizon: 2, RMSE: 0.5}, {Horizon: 60, RMSE: 2}}}
	if m := ev.Metrics(); m["rmse_s[h=2]"] != 0.5 || m["rmse_s[h=60]"] != 2 {
		t.Errorf("metrics %v", m)
	}
}

// An interrupted lstm run's checkpoint file resumes with the run's own
// configuration, and only on the data it was made on; Scope picks the
// held-out tracks on that data only.
func TestCheckpointResumeAndScope(t *testing.T) {
	ts := tinySet(t, 1)
	lc := lstm.DefaultConfig()
	lc.Epochs, lc.Hidden, lc.Layers, lc.Window = 3, 4, 1, 32
	cfg := Config{Kind: lstm.Kind, Split: Split{TestFrac: 0.34, Seed: 2}, LSTM: &lc}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Progress = func(p lstm.Progress) {
		if p.Epoch == 1 {
			cancel()
		}
	}
	_, err := Train(ctx, ts, cfg)
	var intr *Interrupted
	if !errors.As(err, &intr) {
		t.Fatalf("want an interruption, got %v", err)
	}
	a, err := CheckpointArtifact(intr.Checkpoint, ts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ResumeConfig("run.ckpt", a, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Resume == nil || got.Resume.Epoch != 1 || got.Split != cfg.Split || !reflect.DeepEqual(*got.LSTM, lc) {
		t.Errorf("resumed config %+v", got)
	}
	other := tinySet(t, 9)
	if _, err := ResumeConfig("run.ckpt", a, other, nil); err == nil || !strings.Contains(err.Error(), "other data") {
		t.Errorf("other data: %v", err)
	}
	ids, scope, err := Scope("m", a, ts, false)
	if err != nil || scope != "held-out" || !reflect.DeepEqual(ids, HeldOut(ts, cfg.Split)) {
		t.Errorf("same data: %v %q %v", ids, scope, err)
	}
	if ids, scope, _ := Scope("m", a, ts, true); ids != nil || scope != "all" {
		t.Errorf("--all: %v %q", ids, scope)
	}
	if ids, scope, _ := Scope("m", a, other, false); ids != nil || scope != "all" {
		t.Errorf("other data: %v %q", ids, scope)
	}
}
