package lstm

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/nn"
)

// CheckpointKind marks a training checkpoint file: not a model, so `eval`
// refuses it, but `train --resume` continues from it.
const CheckpointKind = "lstm-checkpoint"

type checkpointState struct {
	Config   Config    `json:"config"`
	Epoch    int       `json:"epochs_done"`
	RNG      []byte    `json:"rng"`
	AdamStep int       `json:"adam_step"`
	History  []float64 `json:"history"`
	// Early stopping's state; its best weights are the "best" tensors.
	Holdout       []float64 `json:"holdout,omitempty"`
	StopBest      float64   `json:"stop_best,omitempty"`
	StopBestEpoch int       `json:"stop_best_epoch,omitempty"`
	StopSince     int       `json:"stop_since,omitempty"`
	StopSeen      bool      `json:"stop_seen,omitempty"`
}

// Artifact stores the checkpoint in the model file format (checksummed,
// refused when damaged).
func (c *Checkpoint) Artifact() (*model.Artifact, error) {
	st, err := json.Marshal(checkpointState{Config: c.Config, Epoch: c.Epoch, RNG: c.RNG, AdamStep: c.Adam.Step, History: c.History,
		Holdout: c.Holdout, StopBest: c.Stop.Best, StopBestEpoch: c.Stop.BestEpoch, StopSince: c.Stop.Since, StopSeen: c.Stop.Seen})
	if err != nil {
		return nil, err
	}
	a := &model.Artifact{Header: model.Header{Kind: CheckpointKind, State: st}}
	add := func(prefix string, vs [][]float32) {
		for i, v := range vs {
			a.Tensors = append(a.Tensors, model.Tensor{Name: fmt.Sprintf("%s.%02d", prefix, i), Shape: []int{len(v)}, Data: v})
		}
	}
	add("param", c.Params)
	add("stats", c.Stats)
	m, v := c.Adam.M, c.Adam.V
	if len(m) == 0 {
		// Interrupted before the optimizer's first step: its moments do
		// not exist yet, and zeros are exactly what it would start from.
		for _, p := range c.Params {
			m = append(m, make([]float32, len(p)))
			v = append(v, make([]float32, len(p)))
		}
	}
	add("adam_m", m)
	add("adam_v", v)
	add("best", c.Stop.Saved)
	return a, nil
}

// CheckpointFromArtifact reads what Checkpoint.Artifact wrote.
func CheckpointFromArtifact(a *model.Artifact) (*Checkpoint, error) {
	if a.Header.Kind != CheckpointKind {
		return nil, fmt.Errorf("not an lstm training checkpoint (kind %q)", a.Header.Kind)
	}
	var st checkpointState
	if err := json.Unmarshal(a.Header.State, &st); err != nil {
		return nil, err
	}
	c := &Checkpoint{Config: st.Config, Epoch: st.Epoch, RNG: st.RNG, History: st.History, Holdout: st.Holdout}
	c.Stop = nn.EarlyStopping{Best: st.StopBest, BestEpoch: st.StopBestEpoch, Since: st.StopSince, Seen: st.StopSeen}
	c.Adam.Step = st.AdamStep
	for _, t := range a.Tensors {
		prefix, _, _ := strings.Cut(t.Name, ".")
		switch prefix {
		case "param":
			c.Params = append(c.Params, t.Data)
		case "stats":
			c.Stats = append(c.Stats, t.Data)
		case "adam_m":
			c.Adam.M = append(c.Adam.M, t.Data)
		case "adam_v":
			c.Adam.V = append(c.Adam.V, t.Data)
		case "best":
			c.Stop.Saved = append(c.Stop.Saved, t.Data)
		default:
			return nil, fmt.Errorf("checkpoint tensor %q: not a parameter, batch-norm statistic, Adam moment or best weight", t.Name)
		}
	}
	if len(c.Adam.M) != len(c.Params) || len(c.Adam.V) != len(c.Params) || (len(c.Stop.Saved) != 0 && len(c.Stop.Saved) != len(c.Params)+len(c.Stats)) {
		return nil, fmt.Errorf("checkpoint has %d parameters, %d batch-norm statistics, %d and %d Adam moments and %d best weights and statistics: they must match",
			len(c.Params), len(c.Stats), len(c.Adam.M), len(c.Adam.V), len(c.Stop.Saved))
	}
	return c, nil
}
