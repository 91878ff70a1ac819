package baseline

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/reckon-ml/reckon/model"
)

// Kind is the registered model kind of MeanAltitude.
const Kind = "baseline-mean-altitude"

func init() {
	model.Register(Kind, func(a *model.Artifact) (model.Model, error) {
		var m MeanAltitude
		if err := json.Unmarshal(a.Header.State, &m); err != nil {
			return nil, err
		}
		if !(m.Altitude > -1000 && m.Altitude < 1e6) || math.IsNaN(m.Altitude) {
			return nil, fmt.Errorf("implausible altitude %g m", m.Altitude)
		}
		return &m, nil
	})
}

// Kind implements model.Model.
func (m *MeanAltitude) Kind() string { return Kind }

// Artifact implements model.Model: the one fitted number is the state.
func (m *MeanAltitude) Artifact() (*model.Artifact, error) {
	st, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return &model.Artifact{Header: model.Header{State: st}}, nil
}
