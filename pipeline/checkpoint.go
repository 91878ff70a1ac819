package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/trackmodel"
)

// CheckpointRequest registers a checkpoint a finished training run stored
// (an earlier epoch than its final model) as a model version.
type CheckpointRequest struct {
	RunID      string
	Checkpoint string // artifact name, e.g. checkpoint/epoch-0020
	DataDir    string // the track set the run trained on ("" : where it read it)
	Model      string
	Alias      string // "" : register without moving an alias
	Why        string
}

// Check checks the request before anything is read and turns an epoch
// number given as the checkpoint (30) into its artifact name
// (checkpoint/epoch-0030).
func (r *CheckpointRequest) Check() error {
	if r.Model == "" || r.RunID == "" || r.Checkpoint == "" {
		return errors.New("a model name, a run and a checkpoint are required")
	}
	if n, err := strconv.Atoi(r.Checkpoint); err == nil {
		r.Checkpoint = lstm.CheckpointName(n)
	}
	if r.Alias != "" && strings.TrimSpace(r.Why) == "" {
		return errors.New("a reason is required with an alias: every alias move is audited with why")
	}
	return nil
}

// RegisterCheckpoint rebuilds the model of a stored LSTM checkpoint on the
// run's own training tracks, scores it on the run's held-out flights and
// registers it, tied to that run. Only a run that succeeded qualifies: the
// artifacts of unfinished runs are never registered.
func RegisterCheckpoint(ctx context.Context, env Env, req CheckpointRequest) (store.Registration, error) {
	var v store.Registration
	if err := req.Check(); err != nil {
		return v, err
	}
	r, err := env.Store.GetRun(ctx, req.RunID)
	if err != nil {
		return v, err
	}
	if r.Status != store.Succeeded {
		return v, fmt.Errorf("run %s is %s; only checkpoints of runs that succeeded can be registered (resume it with reckon run): %w", r.ID, r.Status, store.ErrNotSucceeded)
	}
	var cfg trackmodel.Config
	if err := json.Unmarshal([]byte(r.Params["config"]), &cfg); err != nil || cfg.Kind != lstm.Kind {
		return v, fmt.Errorf("run %s is not an lstm training step of a pipeline", r.ID)
	}
	arts, err := env.Store.Artifacts(ctx, r.ID)
	if err != nil {
		return v, err
	}
	i := slices.IndexFunc(arts, func(a store.Artifact) bool { return a.Name == req.Checkpoint })
	if i < 0 {
		var names []string
		for _, a := range arts {
			if strings.HasPrefix(a.Name, "checkpoint/") {
				names = append(names, a.Name)
			}
		}
		return v, fmt.Errorf("run %s has no artifact %q (checkpoints: %s)", r.ID, req.Checkpoint, strings.Join(names, ", "))
	}
	a, err := registry.ReadBlob(ctx, env.Blobs, arts[i].Key, fmt.Sprintf("run %s's %s", r.ID, req.Checkpoint))
	if err != nil {
		return v, err
	}
	ck, err := lstm.CheckpointFromArtifact(a)
	if err != nil {
		return v, err
	}
	dir := req.DataDir
	if dir == "" {
		dir = r.Tags["data_source"]
	}
	if dir == "" {
		return v, errors.New("give the track set the run trained on (--data DIR)")
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		return v, err
	}
	if h := ts.Hash(); h != r.Inputs["data"] {
		return v, fmt.Errorf("%s is data %s, but run %s trained on %s", filepath.Clean(dir), h, r.ID, r.Inputs["data"])
	}
	trainIDs, testIDs := dataset.SplitTracks(ts, cfg.Split.TestFrac, cfg.Split.Seed)
	tracks, labels := ts.Subset(trainIDs)
	m, err := lstm.FromCheckpoint(ck, tracks, labels)
	if err != nil {
		return v, err
	}
	e, err := trackmodel.Evaluate(m, ts, testIDs, 0)
	if err != nil {
		return v, err
	}
	res := &trackmodel.Result{Model: m, Train: trainIDs, Validation: e}
	art, err := res.Artifact(ts, cfg, env.Code)
	if err != nil {
		return v, err
	}
	ref, err := registry.Save(ctx, env.Blobs, art)
	if err != nil {
		return v, err
	}
	note := fmt.Sprintf("%s of run %s (epoch %d of %d)", req.Checkpoint, r.ID, ck.Epoch, ck.Config.Epochs)
	why := req.Why
	if why == "" {
		why = note
	}
	return env.Store.Register(ctx, store.Version{Model: req.Model, RunID: r.ID, Kind: lstm.Kind, DataHash: r.Inputs["data"], Metrics: e.Metrics(), Note: note,
		Artifact: registry.Artifact(ref)}, req.Alias, env.User, why)
}
