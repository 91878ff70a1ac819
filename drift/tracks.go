package drift

import (
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/physfit"
)

// TrackFeatureNames are the per-track quantities a track set's drift is
// tested on.
var TrackFeatureNames = []string{"step_s", "duration_s", "noise_m", "ln_beta", "end_alt_m"}

// TrackFeatures are the per-track quantities of a set, one value per
// track: its sample step (median), duration, position noise (robust, from
// third differences, in which a smooth flight nearly vanishes), the
// natural log of its ballistic coefficient fitted to the raw positions
// around the drag onset (physfit; missing where no reentry is seen), and
// its last altitude.
func TrackFeatures(ts *dataset.TrackSet) []monitor.Column {
	cols := make([]monitor.Column, len(TrackFeatureNames))
	for i, n := range TrackFeatureNames {
		cols[i] = monitor.Column{Name: n, Numeric: true}
	}
	cfg := physfit.DefaultConfig()
	for i := range ts.Tracks {
		t := &ts.Tracks[i]
		n := t.Len()
		lnBeta := math.NaN()
		if g, err := physfit.FirstGuess(t, cfg); err == nil {
			if f, err := physfit.FitTrack(t, g, cfg); err == nil {
				lnBeta = f.LnBeta
			}
		}
		vals := []float64{t.DT, t.T[n-1] - t.T[0], noiseOf(t), lnBeta, t.Alt[n-1]}
		for j, v := range vals {
			cols[j].Num = append(cols[j].Num, v)
		}
	}
	return cols
}

// noiseOf estimates the per-axis position noise: for white noise of sd s
// the third difference has sd s*sqrt(20); the median absolute value, over
// 0.6745, estimates that sd robustly.
func noiseOf(t *dataset.Track) float64 {
	var d []float64
	for _, a := range [][]float64{t.X, t.Y, t.Z} {
		for k := 3; k < len(a); k++ {
			d = append(d, math.Abs(a[k]-3*a[k-1]+3*a[k-2]-a[k-3]))
		}
	}
	if len(d) == 0 {
		return math.NaN()
	}
	slices.Sort(d)
	return d[len(d)/2] / 0.6744897501960817 / math.Sqrt(20)
}

// IsTrackSet says whether path is a track set (a directory with
// tracks.csv).
func IsTrackSet(path string) bool {
	st, err := os.Stat(filepath.Join(path, "tracks.csv"))
	return err == nil && !st.IsDir()
}

// ProfileTracks is the reference profile of a track set's per-track
// features.
func ProfileTracks(path string) (*monitor.Profile, error) {
	ts, err := dataset.LoadTracks(path, dataset.TrackOptions{})
	if err != nil {
		return nil, err
	}
	p := monitor.ProfileReference(TrackFeatures(ts), 10)
	p.Rows, p.Rule = int64(len(ts.Tracks)), monitor.RuleAny
	return p, nil
}

// SketchTracks is the current side of ref for track sets.
func SketchTracks(paths []string, ref *monitor.Profile) (*monitor.Profile, error) {
	s := monitor.NewSketch(ref)
	for _, path := range paths {
		ts, err := dataset.LoadTracks(path, dataset.TrackOptions{})
		if err != nil {
			return nil, err
		}
		cols := TrackFeatures(ts)
		for k := range ts.Tracks {
			s.Row()
			for i, rc := range ref.Columns {
				j := slices.Index(TrackFeatureNames, rc.Name)
				if j < 0 {
					s.Missing(i)
					continue
				}
				s.Number(i, cols[j].Num[k])
			}
		}
	}
	return s.Profile(), nil
}
