package lstm

import (
	"encoding/json"
	"fmt"

	"github.com/reckon-ml/reckon/model"
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
}

// Artifact stores the checkpoint in the model file format (checksummed,
// refused when damaged).
func (c *Checkpoint) Artifact() (*model.Artifact, error) {
	st, err := json.Marshal(checkpointState{Config: c.Config, Epoch: c.Epoch, RNG: c.RNG, AdamStep: c.Adam.Step, History: c.History})
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
	c := &Checkpoint{Config: st.Config, Epoch: st.Epoch, RNG: st.RNG, History: st.History}
	c.Adam.Step = st.AdamStep
	if len(a.Tensors)%3 != 0 {
		return nil, fmt.Errorf("checkpoint has %d tensors, want parameters, Adam m and v", len(a.Tensors))
	}
	n := len(a.Tensors) / 3
	for i, t := range a.Tensors {
		switch i / n {
		case 0:
			c.Params = append(c.Params, t.Data)
		case 1:
			c.Adam.M = append(c.Adam.M, t.Data)
		default:
			c.Adam.V = append(c.Adam.V, t.Data)
		}
	}
	return c, nil
}
