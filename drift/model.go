package drift

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
)

// ErrNoReference marks a model without a drift reference.
var ErrNoReference = errors.New("the model has no drift reference")

// ModelReference is what raw inputs are checked against for m (a its
// artifact): its training profile without the predictions (raw tables and
// track sets hold none). A model saved before profiles (format 1) gets one
// on demand from its training data, training ("" for none: then it is an
// error that says so).
func ModelReference(m model.Model, a *model.Artifact, label, training string) (*monitor.Profile, error) {
	tm, ok := m.(*tabular.Model)
	if !ok {
		var ref *monitor.Profile
		if a != nil && len(a.Header.Drift) > 0 {
			if err := json.Unmarshal(a.Header.Drift, &ref); err != nil {
				return nil, fmt.Errorf("%s: its drift reference: %w", label, err)
			}
		}
		if ref == nil {
			if training == "" {
				return nil, fmt.Errorf("%s: %w (it was saved before reckon kept one, model file format 1): give its training tracks with --reference SET", label, ErrNoReference)
			}
			return ProfileTracks(training)
		}
		return monitor.Without(ref, []string{trackmodel.PredictionColumn})
	}
	if tm.Reference == nil {
		if training == "" {
			return nil, fmt.Errorf("%s: %w (it was saved before reckon kept one, model file format 1): give its training data with --reference TRAIN.csv", label, ErrNoReference)
		}
		t, _, _, err := dataset.ReadCSVFile(training, dataset.ReadOptions{}, "")
		if err != nil {
			return nil, err
		}
		t.Columns = dropColumn(t.Columns, tm.Schema.Target)
		fr, err := tm.Schema.Encode(t)
		if err != nil {
			return nil, fmt.Errorf("%s does not fit %s's schema: %w", training, label, err)
		}
		if tm.Reference, err = tm.ProfileFrame(fr); err != nil {
			return nil, err
		}
	}
	return tm.FeatureReference()
}

func dropColumn(cols []dataset.Column, name string) []dataset.Column {
	var out []dataset.Column
	for _, c := range cols {
		if c.Name != name {
			out = append(out, c)
		}
	}
	return out
}

// RunName is the name of the runs that record a model's drift checks.
func RunName(modelName string) string { return "drift:" + modelName }

// Record keeps a report in the tracking store against a registered model
// version: a finished run named RunName(model), tagged with the version,
// with the verdict and each column's value as metrics and the report as
// an artifact.
func Record(ctx context.Context, st store.Runs, b Putter, v store.Version, rep *monitor.Report, inputs []string, user string, now time.Time) (store.Run, error) {
	r, err := st.CreateRun(ctx, store.Run{Name: RunName(v.Model), User: user, Status: store.Running, Started: now,
		Tags: map[string]string{"kind": "drift", "model": v.Model, "version": strconv.Itoa(v.Version)}})
	if err != nil {
		return r, err
	}
	in, _ := json.Marshal(inputs)
	if err := st.LogParams(ctx, r.ID, map[string]string{"inputs": string(in)}); err != nil {
		return r, err
	}
	flag := 0.0
	if rep.DatasetDrift {
		flag = 1
	}
	pts := []store.Point{{Key: "dataset_drift", Value: flag, Time: now}, {Key: "drifted_columns", Value: float64(rep.Drifted), Time: now},
		{Key: "current_rows", Value: float64(rep.CurRows), Time: now}}
	for _, c := range rep.Columns {
		pts = append(pts, store.Point{Key: "drift/" + c.Column, Value: c.Value, Time: now})
	}
	if err := st.LogMetrics(ctx, r.ID, pts); err != nil {
		return r, err
	}
	body, err := json.Marshal(rep)
	if err != nil {
		return r, err
	}
	ref, err := b.Put(ctx, body)
	if err != nil {
		return r, err
	}
	if err := st.LogArtifact(ctx, r.ID, store.Artifact{Name: "drift-report", Key: ref.Key, SHA256: ref.SHA256, Size: ref.Size, Time: now}); err != nil {
		return r, err
	}
	if err := st.Finish(ctx, r.ID, store.Succeeded); err != nil {
		return r, err
	}
	return st.GetRun(ctx, r.ID)
}

// Putter keeps a blob (the check's report).
type Putter interface {
	Put(ctx context.Context, data []byte) (blobs.Ref, error)
}

// History is a model's recorded drift checks, newest first.
func History(ctx context.Context, st store.Runs, modelName string) ([]store.Run, error) {
	return st.ListRuns(ctx, store.Query{Name: RunName(modelName)})
}
