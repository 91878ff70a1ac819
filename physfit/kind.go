package physfit

import (
	"encoding/json"
	"errors"
	"math"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
)

// Kind is the registered model kind.
const Kind = "physics-fit"

// Model is the physics fit with its prior fitted on training labels.
type Model struct {
	Config
}

func init() {
	model.Register(Kind, func(a *model.Artifact) (model.Model, error) {
		m := &Model{}
		if err := json.Unmarshal(a.Header.State, &m.Config); err != nil {
			return nil, err
		}
		if !(m.Window > 0 && m.Smooth >= 5 && m.Step > 0 && m.ThresholdG > 0 && m.PriorSD > 0) {
			return nil, errors.New("implausible configuration")
		}
		return m, nil
	})
}

// Fit centres the ln(beta) prior on the training labels: mean of ln(beta),
// with twice their standard deviation (at least 0.5) so it stays weak.
// Without beta labels the default prior is kept.
func Fit(labels []dataset.TrackLabel, cfg Config) (*Model, error) {
	var lb []float64
	for _, l := range labels {
		if l.Beta > 0 {
			lb = append(lb, math.Log(l.Beta))
		}
	}
	if len(lb) >= 2 {
		var mean, ss float64
		for _, v := range lb {
			mean += v
		}
		mean /= float64(len(lb))
		for _, v := range lb {
			ss += (v - mean) * (v - mean)
		}
		cfg.PriorLnBeta = mean
		cfg.PriorSD = math.Max(2*math.Sqrt(ss/float64(len(lb)-1)), 0.5)
	}
	return &Model{Config: cfg}, nil
}

// Predict returns the reentry time of tr.
func (m *Model) Predict(tr *dataset.Track) (float64, error) {
	if m.Forecast {
		g, err := ForecastGuess(tr, m.Config)
		if err != nil {
			return 0, err
		}
		f, err := FitTrack(tr, g, m.Config)
		if err != nil {
			return 0, err
		}
		return CrossingAhead(f, m.Config)
	}
	g, err := FirstGuess(tr, m.Config)
	if err != nil {
		return 0, err
	}
	f, err := FitTrack(tr, g, m.Config)
	if err != nil {
		return 0, err
	}
	return Crossing(f, m.Config, g.T)
}

func (m *Model) Kind() string { return Kind }

func (m *Model) Artifact() (*model.Artifact, error) {
	st, err := json.Marshal(m.Config)
	if err != nil {
		return nil, err
	}
	return &model.Artifact{Header: model.Header{State: st}}, nil
}
