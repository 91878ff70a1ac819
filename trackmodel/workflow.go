package trackmodel

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/model"
)

// Validate checks the configuration before any data is read: the kind,
// the variant and, for lstm, its settings.
func (c *Config) Validate() error {
	if !slices.Contains(Kinds, c.Kind) {
		return fmt.Errorf("unknown or not yet trainable model kind %q (available: %s)", c.Kind, strings.Join(Kinds, ", "))
	}
	if c.Variant != "" && c.Variant != "A" && c.Variant != "B" {
		return fmt.Errorf("variant %q: want A (labelling) or B (forecast)", c.Variant)
	}
	if c.Kind == lstm.Kind && c.LSTM != nil {
		lc := c.lstmConfig()
		return lc.Validate()
	}
	return nil
}

// ForData settles the variant against the labels of ts: a set whose
// labels carry forecast horizons (labels.csv's horizon column) is variant
// B, one without is A. An empty Variant takes the data's; one that
// contradicts the data is refused, since a labelling model trained on cut
// tracks (or a forecaster on whole ones) would learn the wrong task
// without a sign of it.
func (c *Config) ForData(ts *dataset.TrackSet) error {
	v, withH := "A", 0
	for _, l := range ts.Labels {
		if !math.IsNaN(l.Horizon) {
			withH++
		}
	}
	if withH > 0 {
		v = "B"
	}
	switch {
	case c.Variant == "":
		c.Variant = v
	case c.Variant != v && v == "B":
		return fmt.Errorf("%s: %d labels carry a forecast horizon, so these are variant B cuts (tracks end before reentry); train with variant B, or on whole tracks for variant A", ts.LabelsPath, withH)
	case c.Variant != v:
		return fmt.Errorf("%s: no label carries a forecast horizon, so these are whole tracks (variant A); variant B trains on cuts made before reentry (reckon data gen reentry --variant B)", ts.LabelsPath)
	}
	return nil
}

// lstmConfig is the lstm configuration training uses: the stored one or
// the defaults, with the training seed and, for variant B, the forecast
// head.
func (c *Config) lstmConfig() lstm.Config {
	lc := lstm.DefaultConfig()
	if c.LSTM != nil {
		lc = *c.LSTM
	}
	lc.Seed = c.Seed
	lc.Forecast = c.Variant == "B"
	return lc
}

// CheckpointArtifact is the file an interrupted training run leaves: the
// lstm checkpoint with the data's hash and the run's configuration, which
// ResumeConfig reads back.
func CheckpointArtifact(ck *lstm.Checkpoint, ts *dataset.TrackSet, cfg Config) (*model.Artifact, error) {
	a, err := ck.Artifact()
	if err != nil {
		return nil, err
	}
	a.Header.DataHash = ts.Hash()
	if a.Header.Hyper, err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	return a, nil
}

// ResumeConfig is the configuration that continues the interrupted run a
// checkpoint artifact (CheckpointArtifact) came from, on the same data:
// its own configuration and split, with progress reported to progress.
// name is the checkpoint's place, for messages.
func ResumeConfig(name string, a *model.Artifact, ts *dataset.TrackSet, progress func(lstm.Progress)) (Config, error) {
	ck, err := lstm.CheckpointFromArtifact(a)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if a.Header.DataHash != ts.Hash() {
		return Config{}, fmt.Errorf("%s was made on other data (%s), not %s (%s)", name, a.Header.DataHash, ts.TracksPath, ts.Hash())
	}
	var prev Config
	if err := json.Unmarshal(a.Header.Hyper, &prev); err != nil {
		return Config{}, fmt.Errorf("%s: unreadable training configuration: %w", name, err)
	}
	if prev.Kind != lstm.Kind {
		return Config{}, fmt.Errorf("%s: a checkpoint of %s, not lstm", name, prev.Kind)
	}
	prev.Resume, prev.Progress = ck, progress
	return prev, nil
}

// Scope picks the tracks an evaluation of a model scores on ts: on the
// data it was trained on (same content hash) only the held-out tracks,
// unless all; otherwise every labelled track (ids nil). scope says which:
// "held-out" or "all". name is the model's place, for messages.
func Scope(name string, a *model.Artifact, ts *dataset.TrackSet, all bool) (ids []string, scope string, err error) {
	if all || a.Header.DataHash != ts.Hash() {
		return nil, "all", nil
	}
	var cfg Config
	if err := json.Unmarshal(a.Header.Hyper, &cfg); err != nil {
		return nil, "", fmt.Errorf("%s: unreadable training configuration: %w", name, err)
	}
	return HeldOut(ts, cfg.Split), "held-out", nil
}

// WithLSTM returns c with lc as its lstm settings when c's kind is lstm;
// other kinds take none and store none.
func (c Config) WithLSTM(lc lstm.Config) Config {
	if c.Kind == lstm.Kind {
		c.LSTM = &lc
	}
	return c
}

// Epochs is how many epochs training will report to Progress: 0 for the
// kinds that are fitted in one go.
func (c *Config) Epochs() int {
	if c.Kind != lstm.Kind {
		return 0
	}
	if c.LSTM == nil {
		return lstm.DefaultConfig().Epochs
	}
	return c.LSTM.Epochs
}
