package trackmodel

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
)

// offset predicts truth + a fixed error per track, or fails on request.
type offset struct {
	errs  map[string]float64
	truth map[string]float64
}

func (o *offset) Kind() string                       { return "offset" }
func (o *offset) Artifact() (*model.Artifact, error) { return &model.Artifact{}, nil }
func (o *offset) Predict(tr *dataset.Track) (float64, error) {
	e, ok := o.errs[tr.ID]
	if !ok {
		return 0, errors.New("cannot predict")
	}
	return o.truth[tr.ID] + e, nil
}

func TestEvaluate(t *testing.T) {
	ts := &dataset.TrackSet{Labels: map[string]dataset.TrackLabel{}}
	truth := map[string]float64{"a": 100.2, "b": 200.7, "c": 300.1, "d": 50, "e": 10}
	for id, tre := range truth {
		ts.Tracks = append(ts.Tracks, dataset.Track{ID: id})
		ts.Labels[id] = dataset.TrackLabel{TrackID: id, Reenters: id != "e", ReentryTime: tre, ReentryIndex: int(math.Ceil(tre / 0.5))}
	}
	// Errors: a +0.2, b -0.3, c +1.0; d cannot be predicted; e does not reenter.
	p := &offset{errs: map[string]float64{"a": 0.2, "b": -0.3, "c": 1.0, "e": 0}, truth: truth}
	ev, err := Evaluate(p, ts, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev.N != 3 || len(ev.Failed) != 1 || ev.Failed[0].TrackID != "d" || ev.Skipped != 1 {
		t.Fatalf("n %d failed %v skipped %d", ev.N, ev.Failed, ev.Skipped)
	}
	if want := math.Sqrt((0.04 + 0.09 + 1) / 3); math.Abs(ev.RMSE-want) > 1e-12 {
		t.Errorf("rmse %g, want %g", ev.RMSE, want)
	}
	// Indices: a 100.4 -> 201 = ceil(100.2/0.5)=201 exact; b 200.4 -> 401,
	// truth ceil(401.4)=402: off by one; c 301.1 -> 603 vs 601: off by two.
	if ev.ExactIndexRate != 1.0/3 || math.Abs(ev.IndexRMSE-0.5*math.Sqrt(5.0/3)) > 1e-12 {
		t.Errorf("exact %g, index rmse %g", ev.ExactIndexRate, ev.IndexRMSE)
	}
	if ev.Within05 != 2.0/3 || ev.MaxAbs != 1 {
		t.Errorf("within %g, max %g", ev.Within05, ev.MaxAbs)
	}
	if _, err := Evaluate(&offset{}, ts, nil, 0); err == nil || !strings.Contains(err.Error(), "no track could be scored") {
		t.Errorf("all failed: %v", err)
	}
}

func TestByHorizon(t *testing.T) {
	tracks := []TrackError{{Horizon: 2, Error: 0.1}, {Horizon: 2, Error: -0.3}, {Horizon: 60, Error: 3}, {Error: 9}}
	got := byHorizon(tracks)
	if len(got) != 2 || got[0].Horizon != 2 || got[0].N != 2 || math.Abs(got[0].RMSE-math.Sqrt(0.05)) > 1e-12 || got[1].MaxAbs != 3 {
		t.Errorf("fixed horizons: %+v", got)
	}
	var drawn []TrackError
	for i := range 20 {
		drawn = append(drawn, TrackError{Horizon: 2 + float64(i)*5.9, Error: 1})
	}
	bins := byHorizon(drawn)
	// 2, 7.9, 13.8, ... 114.1: nothing falls in (2, 5].
	if len(bins) != 5 || bins[0].Horizon != 2 || bins[1].Horizon != 10 || bins[4].Horizon != 120 || bins[4].N != 10 {
		t.Errorf("drawn horizons binned as %+v", bins)
	}
	if byHorizon([]TrackError{{Error: 1}}) != nil {
		t.Error("variant A tracks got horizon bins")
	}
}
