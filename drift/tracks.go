package drift

import (
	"math"
	"os"
	"path/filepath"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/trackmodel"
)

// IsTrackSet says whether path is a track set (a directory with
// tracks.csv).
func IsTrackSet(path string) bool {
	st, err := os.Stat(filepath.Join(path, "tracks.csv"))
	return err == nil && !st.IsDir()
}

// ProfileTracks is the reference profile of a track set's per-track
// features (trackmodel.ProfileTracks, without predictions).
func ProfileTracks(path string) (*monitor.Profile, error) {
	ts, err := dataset.LoadTracks(path, dataset.TrackOptions{})
	if err != nil {
		return nil, err
	}
	return trackmodel.ProfileTracks(ts.Tracks, nil), nil
}

// SketchTracks is the current side of ref for track sets.
func SketchTracks(paths []string, ref *monitor.Profile) (*monitor.Profile, error) {
	s := monitor.NewSketch(ref)
	for _, path := range paths {
		ts, err := dataset.LoadTracks(path, dataset.TrackOptions{})
		if err != nil {
			return nil, err
		}
		for k := range ts.Tracks {
			trackmodel.Observe(s, ref, &ts.Tracks[k], math.NaN())
		}
	}
	return s.Profile(), nil
}
