package dataset

import (
	"math"
	"slices"
)

// Stat is a five-number-ish summary of one per-track quantity.
type Stat struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Mean   float64 `json:"mean"`
	Max    float64 `json:"max"`
}

func statOf(v []float64) Stat {
	if len(v) == 0 {
		return Stat{}
	}
	m, _ := meanStd(v)
	return Stat{Min: slices.Min(v), Median: median(v), Mean: m, Max: slices.Max(v)}
}

// TrackSetSummary is the inspection report of a track set.
type TrackSetSummary struct {
	Tracks      string         `json:"tracks_file"`
	Labels      string         `json:"labels_file,omitempty"`
	Hash        string         `json:"hash"`
	TrackCount  int            `json:"track_count"` // usable tracks
	Rejected    int            `json:"rejected"`    // tracks in Problems
	Labelled    int            `json:"labelled"`    // usable tracks with a label
	Reentering  int            `json:"reentering"`  // usable tracks whose label says reenters = 1
	Rows        int            `json:"rows"`        // rows kept in usable tracks
	Length      Stat           `json:"samples_per_track"`
	Duration    Stat           `json:"duration_s"`
	Step        Stat           `json:"median_step_s"` // per-track median time step
	Coverage    Stat           `json:"coverage"`      // samples / (duration/step + 1): 1 = no dropouts
	MaxGap      Stat           `json:"max_gap_s"`
	ReentryTime *Stat          `json:"reentry_time_s,omitempty"`
	ReentryAlt  *Stat          `json:"reentry_altitude_m,omitempty"`
	Report      TrackReport    `json:"report"`
	Problems    []TrackProblem `json:"problems,omitempty"`
}

// SummarizeTracks computes the per-track length, duration and sampling
// statistics of a loaded set.
func SummarizeTracks(ts *TrackSet) TrackSetSummary {
	s := TrackSetSummary{
		Tracks: ts.TracksPath, Labels: ts.LabelsPath, Hash: ts.Hash(),
		TrackCount: len(ts.Tracks), Rejected: len(ts.Problems),
		Report: ts.Report, Problems: ts.Problems,
	}
	var lens, durs, steps, cover, gaps, reT, reA []float64
	for i := range ts.Tracks {
		t := &ts.Tracks[i]
		n := t.Len()
		s.Rows += n
		d := t.T[n-1] - t.T[0]
		lens = append(lens, float64(n))
		durs = append(durs, d)
		steps = append(steps, t.DT)
		cover = append(cover, float64(n)/(math.Round(d/t.DT)+1))
		g := 0.0
		for j := 1; j < n; j++ {
			g = math.Max(g, t.T[j]-t.T[j-1])
		}
		gaps = append(gaps, g)
		if l, ok := ts.Labels[t.ID]; ok {
			s.Labelled++
			if l.Reenters {
				s.Reentering++
				reT = append(reT, l.ReentryTime)
				if !math.IsNaN(l.ReentryAltitude) {
					reA = append(reA, l.ReentryAltitude)
				}
			}
		}
	}
	s.Length, s.Duration, s.Step, s.Coverage, s.MaxGap = statOf(lens), statOf(durs), statOf(steps), statOf(cover), statOf(gaps)
	if len(reT) > 0 {
		st := statOf(reT)
		s.ReentryTime = &st
	}
	if len(reA) > 0 {
		st := statOf(reA)
		s.ReentryAlt = &st
	}
	return s
}
