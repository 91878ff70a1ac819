// Package trackmodel trains and evaluates models that predict a track's
// reentry time (reentry-spec.md §4): the kind-independent protocol of
// splitting by flight, fitting on the training side only, and scoring on
// the held-out side with the spec's metrics.
package trackmodel

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/baseline"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/metrics"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/physfit"
)

// Predictor is a model that estimates a track's reentry time.
type Predictor interface {
	model.Model
	Predict(tr *dataset.Track) (float64, error)
}

// Kinds that can be trained today, in the order `--help` lists them.
var Kinds = []string{baseline.Kind, physfit.Kind, lstm.Kind}

// Split says how training held out its validation tracks; it is stored in
// the model so evaluation on the same data can score only unseen tracks.
type Split struct {
	TestFrac float64 `json:"test_frac"`
	Seed     uint64  `json:"split_seed"`
}

// Config is what `reckon train reentry` takes.
type Config struct {
	Kind    string `json:"kind"`
	Variant string `json:"variant,omitempty"` // "A" or "B" (forecast); empty: the data's (ForData)
	Split   Split  `json:"split"`
	// Seed is the training seed of every kind: the one owner of the lstm's
	// seed (LSTM.Seed is overwritten with it for training and in the
	// stored configuration).
	Seed uint64       `json:"seed"`
	LSTM *lstm.Config `json:"lstm,omitempty"` // nil: lstm.DefaultConfig

	// Progress, when set, hears about each training epoch of learned kinds.
	Progress func(lstm.Progress) `json:"-"`
	// Resume continues an interrupted lstm training run.
	Resume *lstm.Checkpoint `json:"-"`
}

// Interrupted is returned when training was cancelled; the checkpoint
// continues it (Config.Resume) to the same model.
type Interrupted struct {
	Checkpoint *lstm.Checkpoint
	Err        error
}

func (e *Interrupted) Error() string {
	return fmt.Sprintf("training stopped after %d of %d epochs", e.Checkpoint.Epoch, e.Checkpoint.Config.Epochs)
}

func (e *Interrupted) Unwrap() error { return e.Err }

// Result is a trained model with its validation scores.
type Result struct {
	Model      Predictor
	Variant    string     // the task trained for: "A" or "B" (Config.ForData)
	Train      []string   // track ids fitted on
	Validation Evaluation // on the held-out tracks
}

// Train fits cfg.Kind on the training side of a group split of ts and
// scores it on the other side. The returned model's artifact records the
// data hash, the split and the validation metrics.
func Train(ctx context.Context, ts *dataset.TrackSet, cfg Config) (*Result, error) {
	if ts.Labels == nil {
		return nil, fmt.Errorf("%s: training needs labels.csv beside the tracks", ts.TracksPath)
	}
	if err := cfg.ForData(ts); err != nil {
		return nil, err
	}
	trainIDs, testIDs := dataset.SplitTracks(ts, cfg.Split.TestFrac, cfg.Split.Seed)
	if len(trainIDs) == 0 {
		return nil, fmt.Errorf("%s: no labelled tracks to train on", ts.TracksPath)
	}
	var trainLabels []dataset.TrackLabel
	for _, id := range trainIDs {
		trainLabels = append(trainLabels, ts.Labels[id])
	}
	var p Predictor
	switch cfg.Kind {
	case baseline.Kind:
		m, err := baseline.FitMeanAltitude(trainLabels)
		if err != nil {
			return nil, err
		}
		p = &m
	case lstm.Kind:
		lc := cfg.lstmConfig()
		tracks, labels := ts.Subset(trainIDs)
		if cfg.Resume != nil {
			lc = cfg.Resume.Config
		}
		m, ck, err := lstm.Train(ctx, tracks, labels, lc, cfg.Resume, cfg.Progress)
		if err != nil {
			if ck != nil {
				return nil, &Interrupted{Checkpoint: ck, Err: err}
			}
			return nil, err
		}
		p = m
	case physfit.Kind:
		pc := physfit.DefaultConfig()
		if cfg.Variant == "B" {
			pc.Forecast, pc.Window = true, 20 // spec §5.2: the state from the last 20 s
		}
		m, err := physfit.Fit(trainLabels, pc)
		if err != nil {
			return nil, err
		}
		p = m
	default:
		return nil, fmt.Errorf("unknown or not yet trainable model kind %q (available: %s)", cfg.Kind, strings.Join(Kinds, ", "))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	val, err := Evaluate(p, ts, testIDs, 0)
	if err != nil {
		return nil, fmt.Errorf("validation: %w", err)
	}
	return &Result{Model: p, Variant: cfg.Variant, Train: trainIDs, Validation: val}, nil
}

// Artifact stores r's model with its provenance and validation metrics.
func (r *Result) Artifact(ts *dataset.TrackSet, cfg Config, reckonVersion string) (*model.Artifact, error) {
	a, err := r.Model.Artifact()
	if err != nil {
		return nil, err
	}
	a.Header.Kind = r.Model.Kind()
	a.Header.Reckon = reckonVersion
	a.Header.DataHash = ts.Hash()
	a.Header.Seed = cfg.Seed
	if r.Variant != "" {
		cfg.Variant = r.Variant
	}
	if cfg.LSTM != nil {
		l := *cfg.LSTM
		l.Seed = cfg.Seed
		cfg.LSTM = &l
	}
	if a.Header.Hyper, err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	a.Header.Schema = json.RawMessage(`{"input":"tracks","columns":["track_id","t","x","y","z"],"units":"s, m (ENU)","dt_s":0.5}`)
	a.Header.Metrics = r.Validation.Metrics()
	// The drift reference: the whole training set (its held-out tracks
	// too: the split is by group, so the fitted side alone differs from
	// new data of the same settings), and the model's predictions of it.
	tracks := ts.Tracks
	if a.Header.Drift, err = json.Marshal(ProfileTracks(tracks, r.Model)); err != nil {
		return nil, err
	}
	return a, nil
}

// HorizonScore is the score of the forecasts made H seconds ahead (spec §4,
// variant B: one bin per distinct horizon, rounded to 0.1 s).
type HorizonScore struct {
	Horizon float64 `json:"horizon_s"`
	N       int     `json:"n"`
	RMSE    float64 `json:"rmse_s"`
	MaxAbs  float64 `json:"max_abs_error_s"`
}

// TrackError is one scored track.
type TrackError struct {
	TrackID         string  `json:"track_id"`
	Predicted       float64 `json:"predicted_s"`
	Truth           float64 `json:"truth_s"`
	Error           float64 `json:"error_s"`
	ReentryAltitude float64 `json:"reentry_altitude_m,omitempty"`
	Horizon         float64 `json:"horizon_s,omitempty"`
}

// Evaluation holds the spec §4 metrics of one model on one set of tracks,
// under the JSON keys users script against.
type Evaluation struct {
	N              int                    `json:"n"`
	RMSE           float64                `json:"rmse_s"`
	RMSECI95       [2]float64             `json:"rmse_ci95_s"` // percentile bootstrap over tracks
	MAE            float64                `json:"mae_s"`
	Bias           float64                `json:"bias_s"` // mean error: positive is late
	MaxAbs         float64                `json:"max_abs_error_s"`
	ExactIndexRate float64                `json:"exact_index_rate"`     // ceil(pred/dt) == reentry_index
	IndexRMSE      float64                `json:"index_rmse_s"`         // dt * RMS(index error)
	Within05       float64                `json:"within_0_5_s"`         // share with |error| <= 0.5 s
	ByHorizon      []HorizonScore         `json:"by_horizon,omitempty"` // variant B: RMSE per forecast horizon
	Tracks         []TrackError           `json:"tracks"`
	Failed         []dataset.TrackProblem `json:"failed,omitempty"` // no prediction: never a silent NaN
	Skipped        int                    `json:"skipped_nonreentering"`
}

// Metrics flattens the headline numbers for the model file; a forecast
// adds its RMSE per horizon as rmse_s[h=H] (HorizonKey).
func (e *Evaluation) Metrics() map[string]float64 {
	m := map[string]float64{
		"rmse_s": e.RMSE, "mae_s": e.MAE, "bias_s": e.Bias, "max_abs_error_s": e.MaxAbs,
		"exact_index_rate": e.ExactIndexRate, "index_rmse_s": e.IndexRMSE, "within_0_5_s": e.Within05,
		"rmse_ci95_lo_s": e.RMSECI95[0], "rmse_ci95_hi_s": e.RMSECI95[1], "n": float64(e.N),
	}
	for _, h := range e.ByHorizon {
		m[HorizonKey(h.Horizon)] = h.RMSE
	}
	return m
}

// HorizonKey is the metric name of the RMSE of forecasts h seconds ahead.
func HorizonKey(h float64) string { return "rmse_s[h=" + strconv.FormatFloat(h, 'g', -1, 64) + "]" }

// ParseHorizonKey is HorizonKey's inverse; ok is false for other names.
func ParseHorizonKey(k string) (h float64, ok bool) {
	v, pre := strings.CutPrefix(k, "rmse_s[h=")
	v, post := strings.CutSuffix(v, "]")
	if !pre || !post {
		return 0, false
	}
	h, err := strconv.ParseFloat(v, 64)
	return h, err == nil
}

const dt = 0.5

// HeldOut returns the validation ids of a model trained with split on ts.
func HeldOut(ts *dataset.TrackSet, split Split) []string {
	_, test := dataset.SplitTracks(ts, split.TestFrac, split.Seed)
	return test
}

// Evaluate scores p on the listed reentering tracks of ts (all labelled
// tracks when ids is nil). A track the model cannot predict is listed in
// Failed and counted against nothing else; an evaluation where every track
// fails is an error.
func Evaluate(p Predictor, ts *dataset.TrackSet, ids []string, bootstrapSeed uint64) (Evaluation, error) {
	byID := ts.ByID()
	if ids == nil {
		for id := range ts.Labels {
			if byID[id] != nil {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
	}
	var ev Evaluation
	var errs []float64
	var idxSS float64
	exact, within := 0, 0
	for _, id := range ids {
		l, ok := ts.Labels[id]
		tr := byID[id]
		switch {
		case !ok:
			return ev, fmt.Errorf("track %q has no label", id)
		case tr == nil:
			continue
		case !l.Reenters:
			ev.Skipped++
			continue
		}
		pred, err := p.Predict(tr)
		if err == nil && (math.IsNaN(pred) || math.IsInf(pred, 0)) {
			err = fmt.Errorf("non-finite prediction %g", pred)
		}
		if err != nil {
			ev.Failed = append(ev.Failed, dataset.TrackProblem{TrackID: id, Err: err, Reason: err.Error()})
			continue
		}
		e := pred - l.ReentryTime
		errs = append(errs, e)
		te := TrackError{TrackID: id, Predicted: pred, Truth: l.ReentryTime, Error: e, ReentryAltitude: l.ReentryAltitude}
		if !math.IsNaN(l.Horizon) {
			te.Horizon = l.Horizon
		}
		ev.Tracks = append(ev.Tracks, te)
		k := int(math.Ceil(pred / dt))
		truthK := l.ReentryIndex
		if truthK < 0 {
			truthK = int(math.Ceil(l.ReentryTime / dt))
		}
		if k == truthK {
			exact++
		}
		idxSS += float64((k - truthK) * (k - truthK))
		if math.Abs(e) <= 0.5 {
			within++
		}
	}
	if len(errs) == 0 {
		return ev, fmt.Errorf("no track could be scored (%d failed, %d do not reenter)", len(ev.Failed), ev.Skipped)
	}
	reg, err := metrics.Regress(errs, 2000, bootstrapSeed)
	if err != nil {
		return ev, err
	}
	ev.N, ev.RMSE, ev.RMSECI95, ev.MAE, ev.Bias, ev.MaxAbs = reg.N, reg.RMSE, reg.RMSECI95, reg.MAE, reg.Bias, reg.MaxAbs
	ev.ByHorizon = byHorizon(ev.Tracks)
	n := float64(len(errs))
	ev.ExactIndexRate = float64(exact) / n
	ev.IndexRMSE = dt * math.Sqrt(idxSS/n)
	ev.Within05 = float64(within) / n
	return ev, nil
}

// byHorizon bins forecast errors by horizon (rounded to 0.1 s); nil when no
// track carries one. Drawn horizons (U[2, 120]) are binned to whole bins of
// the spec's grid edges 2, 5, 10, 30, 60, 120 s.
func byHorizon(tracks []TrackError) []HorizonScore {
	type acc struct {
		n      int
		ss, mx float64
	}
	bins := map[float64]*acc{}
	distinct := map[float64]bool{}
	for _, t := range tracks {
		if t.Horizon > 0 {
			distinct[math.Round(t.Horizon*10)/10] = true
		}
	}
	if len(distinct) == 0 {
		return nil
	}
	edges := []float64{2, 5, 10, 30, 60, 120}
	key := func(h float64) float64 {
		h = math.Round(h*10) / 10
		if len(distinct) <= len(edges) {
			return h // fixed horizons: one bin each
		}
		for _, e := range edges {
			if h <= e {
				return e
			}
		}
		return math.Inf(1)
	}
	for _, t := range tracks {
		if t.Horizon <= 0 {
			continue
		}
		k := key(t.Horizon)
		if bins[k] == nil {
			bins[k] = &acc{}
		}
		b := bins[k]
		b.n++
		b.ss += t.Error * t.Error
		b.mx = math.Max(b.mx, math.Abs(t.Error))
	}
	var out []HorizonScore
	for h, b := range bins {
		out = append(out, HorizonScore{Horizon: h, N: b.n, RMSE: math.Sqrt(b.ss / float64(b.n)), MaxAbs: b.mx})
	}
	slices.SortFunc(out, func(a, b HorizonScore) int { return cmp.Compare(a.Horizon, b.Horizon) })
	return out
}
