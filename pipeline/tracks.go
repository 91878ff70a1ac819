package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/sim/reentry"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/trackmodel"
)

// trackConfig is a track candidate's training configuration. Only lstm
// takes params (those of its model file: epochs, hidden, max_lr, ...);
// features.window sets its window.
func trackConfig(m Model, f Features, sp Split) (trackmodel.Config, error) {
	cfg := trackmodel.Config{Kind: m.Kind, Split: trackmodel.Split{TestFrac: sp.TestFrac, Seed: sp.Seed}}
	if !slices.Contains(trackmodel.Kinds, m.Kind) {
		return cfg, fmt.Errorf("kind %q: a track set's candidates are %s", m.Kind, strings.Join(trackmodel.Kinds, ", "))
	}
	if m.Kind != lstm.Kind {
		if len(m.Params) > 0 {
			return cfg, fmt.Errorf("params: %s takes none", m.Kind)
		}
		return cfg, nil
	}
	lc := lstm.DefaultConfig()
	if f.Window > 0 {
		lc.Window = f.Window
	}
	if err := decodeParams(m.Params, &lc); err != nil {
		return cfg, err
	}
	if err := lc.Validate(); err != nil {
		return cfg, fmt.Errorf("params: %w", err)
	}
	cfg.Seed = lc.Seed
	cfg.LSTM = &lc
	return cfg, nil
}

type dataOut struct {
	Dir    string `json:"dir"`
	Hash   string `json:"hash"`
	Tracks int    `json:"tracks"`
}

type trackTrainOut struct {
	Kind    string             `json:"kind"`
	Model   blobs.Ref          `json:"model"`
	Metrics map[string]float64 `json:"metrics"`
}

func (x *exec) tracks(ctx context.Context) error {
	sp := x.spec
	var ts *dataset.TrackSet
	var err error
	if g := sp.Data.Generate; g != nil {
		gcfg := reentry.DefaultConfig()
		gcfg.Count, gcfg.Seed = g.Count, g.Seed
		if g.Variant != "" {
			gcfg.Variant = g.Variant
		}
		if g.Replicates > 0 {
			gcfg.Replicates = g.Replicates
		}
		if len(g.Horizons) > 0 {
			gcfg.Horizons = g.Horizons
		}
		var do dataOut
		if _, err := x.step(ctx, "data", gcfg, nil, &do, func(ctx context.Context, s *stepRun) error {
			// A directory per cache key: another configuration or build
			// generates next to it, never over it.
			do.Dir = filepath.Join(x.env.DataDir, sp.Data.Name+"-"+s.run.Tags["cache_key"][:16])
			if _, err := os.Stat(filepath.Join(do.Dir, reentry.LabelsFile)); err != nil {
				// A partial set from an interrupted run resumes.
				set, finish := x.progress("generating tracks", gcfg.Count)
				_, err := reentry.WriteDir(ctx, do.Dir, gcfg, reentry.WriteOptions{Progress: func(d int) { set(d, "") }})
				finish()
				if err != nil {
					return err
				}
			}
			t, err := dataset.LoadTracks(do.Dir, dataset.TrackOptions{})
			if err != nil {
				return err
			}
			do.Hash, do.Tracks = t.Hash(), len(t.Tracks)
			return nil
		}); err != nil {
			return err
		}
		if ts, err = dataset.LoadTracks(do.Dir, dataset.TrackOptions{}); err != nil {
			return fmt.Errorf("%w (the generated set is gone; run again with --no-cache)", err)
		}
		if ts.Hash() != do.Hash {
			return fmt.Errorf("%s changed since it was generated (hash %s, recorded %s); run again with --no-cache", do.Dir, ts.Hash(), do.Hash)
		}
	} else {
		path, err := sp.Resolve("data.tracks", sp.Data.Tracks, x.env.AllowData)
		if err != nil {
			return err
		}
		if ts, err = dataset.LoadTracks(path, dataset.TrackOptions{}); err != nil {
			return err
		}
	}
	for _, w := range ts.Report.Warnings {
		fmt.Fprintf(x.env.Log, "  warning: %s\n", w)
	}
	hash := ts.Hash()
	reentering := 0
	for _, l := range ts.Labels {
		if l.Reenters {
			reentering++
		}
	}
	schemaJSON, err := json.Marshal(map[string]any{"input": "tracks", "columns": []string{"track_id", "t", "x", "y", "z"}, "reentering": reentering})
	if err != nil {
		return err
	}
	ds, err := x.env.Store.PutDataset(ctx, store.Dataset{Name: sp.Data.Name, Hash: hash, Source: ts.TracksPath, Schema: string(schemaJSON), Rows: int64(len(ts.Tracks))})
	if err != nil {
		return err
	}
	x.res.Data = ds
	if err := x.env.Store.SetTags(ctx, x.run.ID, map[string]string{"data": hash}); err != nil {
		return err
	}
	fmt.Fprintf(x.env.Log, "  %-22s %s: %d tracks, version %s\n", "data", ts.TracksPath, len(ts.Tracks), short(strings.TrimPrefix(hash, "sha256:")))

	// split: the held-out flights every candidate and the champion are
	// scored on.
	var split struct {
		Train []string `json:"train"`
		Test  []string `json:"test"`
	}
	scfg := trackmodel.Split{TestFrac: sp.Split.TestFrac, Seed: sp.Split.Seed}
	if _, err := x.step(ctx, "split", scfg, map[string]string{"data": hash}, &split, func(ctx context.Context, s *stepRun) error {
		split.Train, split.Test = dataset.SplitTracks(ts, scfg.TestFrac, scfg.Seed)
		if len(split.Train) == 0 || len(split.Test) == 0 {
			return fmt.Errorf("split.test_frac %v leaves %d training and %d held-out flights", scfg.TestFrac, len(split.Train), len(split.Test))
		}
		return nil
	}); err != nil {
		return err
	}
	splitKey, err := cacheKey("split-ids", split, nil, "")
	if err != nil {
		return err
	}

	// features: sequence models compute per-step features inside training
	// (fresh noise every epoch changes them), so this step fixes and
	// records the feature configuration they use.
	var feats struct {
		Window   int      `json:"window_steps"`
		Features []string `json:"features"`
	}
	if _, err := x.step(ctx, "features", sp.Features, map[string]string{"data": hash}, &feats, func(ctx context.Context, s *stepRun) error {
		feats.Window = lstm.DefaultConfig().Window
		if sp.Features.Window > 0 {
			feats.Window = sp.Features.Window
		}
		feats.Features = lstm.FeatureNames[:]
		return nil
	}); err != nil {
		return err
	}

	outs := map[string]trainOut{}
	runs := map[string]string{}
	var pending []candidate
	cfgs := map[string]trackmodel.Config{}
	for _, m := range sp.Models {
		cfg, _ := trackConfig(m, sp.Features, sp.Split) // checked when the file was read
		// The variant is the data's (cut tracks are B), settled before
		// the configuration keys the step's cache.
		if err := cfg.ForData(ts); err != nil {
			return err
		}
		cfgs[m.Name] = cfg
		pending = append(pending, candidate{m.Name, cfg, map[string]string{"data": hash, "split": splitKey}})
	}
	if err := x.fanOut(ctx, pending); err != nil {
		return err
	}
	for _, m := range sp.Models {
		if x.skip(m.Name) {
			continue
		}
		cfg := cfgs[m.Name]
		var to trackTrainOut
		in := map[string]string{"data": hash, "split": splitKey}
		st, err := x.step(ctx, "train/"+m.Name, cfg, in, &to, func(ctx context.Context, s *stepRun) error {
			return x.trainTracks(ctx, s, cfg, ts, &to)
		})
		if err != nil {
			return err
		}
		outs[m.Name], runs[m.Name] = trainOut{Kind: to.Kind, Model: to.Model, Mean: to.Metrics}, st.RunID
		x.res.Candidates = append(x.res.Candidates, Candidate{Name: m.Name, Kind: to.Kind, Metrics: to.Metrics, SHA256: to.Model.SHA256, RunID: st.RunID})
	}
	if x.env.Only != "" {
		return nil
	}

	champ, err := x.champion(ctx)
	if err != nil {
		return err
	}
	if champ, err = x.outsideChampion(ctx, champ); err != nil {
		return err
	}
	sel := map[string]string{"split": splitKey}
	for _, m := range sp.Models {
		sel["candidate/"+m.Name] = outs[m.Name].Model.SHA256
	}
	if champ != nil {
		sel["champion"] = champ.Artifact.SHA256
	}
	var out selectOut
	if _, err := x.step(ctx, "select", sp.Select, sel, &out, func(ctx context.Context, s *stepRun) error {
		scores := map[string]float64{}
		var names []string
		for _, m := range sp.Models {
			v, ok := outs[m.Name].Mean[sp.Select.Metric]
			if !ok {
				return fmt.Errorf("select.metric %q: %s has no such metric (rmse_s, mae_s, max_abs_error_s, ...)", sp.Select.Metric, m.Name)
			}
			scores[m.Name] = v
			names = append(names, m.Name)
		}
		if champ != nil {
			e, err := x.evalChampion(ctx, champ, ts, split.Test)
			if err != nil {
				return err
			}
			scores[championName(champ)] = e.Metrics()[sp.Select.Metric]
			names = append(names, championName(champ))
			x.res.Candidates = append(x.res.Candidates, Candidate{Name: championName(champ), Kind: champ.Kind, Metrics: e.Metrics(), SHA256: champ.Artifact.SHA256, RunID: champ.RunID, Champion: true})
		}
		out.Ranking = rankLower(names, scores)
		out.Winner = out.Ranking[0]
		out.Reason = fmt.Sprintf("%s has the lowest %s on the %d held-out tracks (%.3f", out.Winner, sp.Select.Metric, len(split.Test), scores[out.Winner])
		if len(out.Ranking) > 1 {
			second := out.Ranking[1]
			out.Reason += fmt.Sprintf(" against %s's %.3f", second, scores[second])
		}
		out.Reason += ")"
		b, err := json.Marshal(map[string]any{"metric": sp.Select.Metric, "scores": scores, "ranking": out.Ranking})
		if err != nil {
			return err
		}
		out.Decision, err = s.put(ctx, "decision", b)
		return err
	}); err != nil {
		return err
	}
	return x.register(ctx, out, outs, runs, hash, champ)
}

// rankLower orders names by score, lowest first; ties keep list order
// (this run's candidates before the champion).
func rankLower(names []string, scores map[string]float64) []string {
	r := slices.Clone(names)
	slices.SortStableFunc(r, func(a, b string) int {
		sa, sb := scores[a], scores[b]
		switch {
		case math.IsNaN(sa) && !math.IsNaN(sb):
			return 1
		case math.IsNaN(sb) && !math.IsNaN(sa):
			return -1
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return 0
	})
	return r
}

// trainTracks fits one candidate, storing a checkpoint as a run artifact
// at most every checkpoint_every, and resumes from the newest checkpoint
// an interrupted run of the same step (same cache key) left.
func (x *exec) trainTracks(ctx context.Context, s *stepRun, cfg trackmodel.Config, ts *dataset.TrackSet, to *trackTrainOut) error {
	every := 30 * time.Second
	if x.spec.CheckpointEvery != nil {
		every = *x.spec.CheckpointEvery
	}
	if cfg.Kind == lstm.Kind {
		// Where the tracks are, so a checkpoint can be registered later
		// (models register --checkpoint reads it): without it that fails.
		if err := x.env.Store.SetTags(ctx, s.run.ID, map[string]string{"data_source": filepath.Dir(ts.TracksPath)}); err != nil {
			return err
		}
		ck, from, err := x.latestCheckpoint(ctx, s)
		if err != nil {
			return err
		}
		if ck != nil {
			cfg.Resume = ck
			if err := x.env.Store.SetTags(ctx, s.run.ID, map[string]string{"resumed_from": from}); err != nil {
				return err
			}
			fmt.Fprintf(x.env.Log, "  %-22s resuming at epoch %d from run %s's checkpoint\n", "train/"+cfg.Kind, ck.Epoch, from)
		}
		set, finish := x.progress("training lstm (epochs)", cfg.LSTM.Epochs)
		defer finish()
		last := time.Now()
		cfg.Progress = func(p lstm.Progress) {
			set(p.Epoch, fmt.Sprintf("loss %.5f", p.Loss))
			fmt.Fprintf(s.log, "epoch %d/%d loss %.6f\n", p.Epoch, p.Epochs, p.Loss)
			if err := x.env.Store.LogMetrics(ctx, s.run.ID, []store.Point{{Key: "train_loss", Step: int64(p.Epoch), Value: p.Loss}}); err != nil && ctx.Err() == nil {
				// Training goes on; the curve has a hole, which is said.
				fmt.Fprintf(x.env.Log, "  warning: train_loss of epoch %d not stored: %v\n", p.Epoch, err)
			}
			if time.Since(last) < every || p.Epoch == p.Epochs {
				return
			}
			last = time.Now()
			if err := x.saveCheckpoint(ctx, s, p); err != nil {
				fmt.Fprintf(x.env.Log, "  warning: checkpoint at epoch %d not stored: %v\n", p.Epoch, err)
			}
		}
	}
	res, err := trackmodel.Train(ctx, ts, cfg)
	var intr *trackmodel.Interrupted
	if errors.As(err, &intr) {
		// Keep the epoch-boundary state so the next run resumes there.
		a, aerr := intr.Checkpoint.Artifact()
		if aerr == nil {
			_, aerr = s.putArtifact(context.WithoutCancel(ctx), lstm.CheckpointName(intr.Checkpoint.Epoch), a)
		}
		if aerr != nil {
			return errors.Join(err, fmt.Errorf("storing the checkpoint at epoch %d: %w", intr.Checkpoint.Epoch, aerr))
		}
		return err
	}
	if err != nil {
		return err
	}
	cfg.Resume, cfg.Progress = nil, nil
	art, err := res.Artifact(ts, cfg, x.env.Code)
	if err != nil {
		return err
	}
	to.Kind, to.Metrics = res.Model.Kind(), res.Validation.Metrics()
	var pts []store.Point
	for k, v := range to.Metrics {
		pts = append(pts, store.Point{Key: k, Value: v})
	}
	if err := x.env.Store.LogMetrics(ctx, s.run.ID, pts); err != nil {
		return err
	}
	to.Model, err = s.putArtifact(ctx, "model", art)
	return err
}

func (x *exec) saveCheckpoint(ctx context.Context, s *stepRun, p lstm.Progress) error {
	ck, err := p.Checkpoint()
	if err != nil {
		return err
	}
	a, err := ck.Artifact()
	if err != nil {
		return err
	}
	_, err = s.putArtifact(ctx, lstm.CheckpointName(ck.Epoch), a)
	return err
}

// latestCheckpoint finds the most advanced checkpoint left by an earlier
// run of this step (same cache key: same configuration, data and code)
// that did not finish.
func (x *exec) latestCheckpoint(ctx context.Context, s *stepRun) (*lstm.Checkpoint, string, error) {
	runs, err := x.env.Store.ListRuns(ctx, store.Query{Name: s.run.Name})
	if err != nil {
		return nil, "", err
	}
	var best *lstm.Checkpoint
	from := ""
	for _, r := range runs {
		if r.ID == s.run.ID || r.Tags["cache_key"] != s.run.Tags["cache_key"] || r.Status == store.Succeeded {
			continue
		}
		arts, err := x.env.Store.Artifacts(ctx, r.ID)
		if err != nil {
			return nil, "", err
		}
		for _, a := range arts {
			if !strings.HasPrefix(a.Name, "checkpoint/") {
				continue
			}
			art, err := registry.ReadBlob(ctx, x.env.Blobs, a.Key, a.Key)
			if err == nil {
				var ck *lstm.Checkpoint
				if ck, err = lstm.CheckpointFromArtifact(art); err == nil && (best == nil || ck.Epoch > best.Epoch) {
					best, from = ck, r.ID
				}
			}
			if err != nil {
				// Another checkpoint (or a fresh start) will do; say why
				// this one was passed over.
				fmt.Fprintf(x.env.Log, "  warning: run %s's %s is unusable: %v\n", r.ID, a.Name, err)
			}
		}
	}
	return best, from, nil
}

func (x *exec) evalChampion(ctx context.Context, v *store.Version, ts *dataset.TrackSet, test []string) (*trackmodel.Evaluation, error) {
	l, err := registry.LoadBlob(ctx, x.env.Blobs, v.Artifact.Key, "champion "+championName(v))
	if err != nil {
		return nil, err
	}
	m := l.Model
	p, ok := m.(trackmodel.Predictor)
	if !ok {
		return nil, fmt.Errorf("champion %s is a %s model, not a reentry model", championName(v), m.Kind())
	}
	e, err := trackmodel.Evaluate(p, ts, test, 0)
	if err != nil {
		return nil, fmt.Errorf("champion %s: %w", championName(v), err)
	}
	return &e, nil
}
