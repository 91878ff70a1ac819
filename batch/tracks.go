package batch

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/lstm"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/trackmodel"
)

// TrackInput loads track sets (directories holding tracks.csv, or
// tracks.csv files) for a reentry model: every track is a record. A track
// with any malformed row (a NaN position, an unparsable time) or too little
// data fails as one record, as does a malformed line that names no track;
// the other tracks carry on.
//
// A track set is loaded whole (the loader regroups, sorts and checks each
// track across the file); sets are loaded one after another.
func TrackInput(paths []string, p trackmodel.Predictor) (Source, Scorer, []Input, error) {
	var recs []Record
	var inputs []Input
	for _, path := range paths {
		ts, err := dataset.LoadTracks(path, dataset.TrackOptions{RejectBadRows: true})
		if err != nil {
			return nil, nil, nil, err
		}
		h, err := fileHash(ts.TracksPath)
		if err != nil {
			return nil, nil, nil, err
		}
		inputs = append(inputs, Input{Path: ts.TracksPath, Hash: h})
		var set []Record
		for i := range ts.Tracks {
			set = append(set, Record{ID: ts.Tracks[i].ID, Track: &ts.Tracks[i]})
		}
		for _, pr := range ts.Problems {
			set = append(set, Record{ID: pr.TrackID, Stage: "validate", Reason: pr.Reason})
		}
		for _, b := range ts.Report.BadRows {
			if b.TrackID == "" {
				set = append(set, Record{ID: filepath.Base(ts.TracksPath) + ":" + strconv.Itoa(b.Line), Stage: "read", Reason: b.Reason})
			}
		}
		// Input order is the track ids' order (the loader's), whatever
		// the file's row order: the hash ignores row order too.
		slices.SortStableFunc(set, func(a, b Record) int { return dataset.CompareTrackIDs(a.ID, b.ID) })
		recs = append(recs, set...)
	}
	return SliceSource(recs), &trackScorer{p: p}, inputs, nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type trackScorer struct {
	p   trackmodel.Predictor
	ref *monitor.Profile // nil: no drift summary
}

// Reference implements Profiler.
func (s *trackScorer) Reference() *monitor.Profile { return s.ref }

// Observe implements Profiler: the track's features and predicted time.
func (s *trackScorer) Observe(sk *monitor.Sketch, r Record, o Outcome) {
	if r.Stage != "" || r.Track == nil {
		return // not read: nothing to summarise
	}
	v := math.NaN() // a track without a prediction still has features
	if o.Stage == "" && len(o.Fields) > 0 {
		if x, err := strconv.ParseFloat(o.Fields[0], 64); err == nil {
			v = x
		}
	}
	trackmodel.Observe(sk, s.ref, r.Track, v)
}

func (s *trackScorer) Columns() []string { return []string{"reentry_time_s"} }

func (s *trackScorer) Worker() (func([]Record) []Outcome, error) {
	format := func(t float64, err error) Outcome {
		if err != nil {
			return Outcome{Stage: "predict", Reason: err.Error()}
		}
		return Outcome{Fields: []string{strconv.FormatFloat(t, 'f', 3, 64)}}
	}
	// The LSTM keeps activations between calls: one replica per goroutine,
	// and a chunk's tracks go through the network together.
	if m, ok := s.p.(*lstm.Model); ok {
		m = m.Replica()
		return func(recs []Record) []Outcome {
			trs := make([]*dataset.Track, len(recs))
			for i, r := range recs {
				trs[i] = r.Track
			}
			ts, errs := m.PredictBatch(trs)
			out := make([]Outcome, len(recs))
			for i := range out {
				out[i] = format(ts[i], errs[i])
			}
			return out
		}, nil
	}
	return func(recs []Record) []Outcome {
		out := make([]Outcome, len(recs))
		for i, r := range recs {
			out[i] = format(s.p.Predict(r.Track))
		}
		return out
	}, nil
}

// TracksScorer scores records holding tracks with p.
func TracksScorer(p trackmodel.Predictor) Scorer { return &trackScorer{p: p} }
