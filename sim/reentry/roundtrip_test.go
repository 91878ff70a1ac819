package reentry_test

import (
	"context"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/sim/reentry"
)

// Every generator setting must produce a set that reckon's own strict
// loader accepts whole: no rejected track, no dropped row, no unit alarm,
// every track labelled.
func TestGeneratedSetsLoadCleanly(t *testing.T) {
	cases := map[string]func(*reentry.Config){
		"default":       func(*reentry.Config) {},
		"noise x4":      func(c *reentry.Config) { c.NoiseScale, c.OutlierRate = 4, 0.01 },
		"radar x2":      func(c *reentry.Config) { c.NoiseModel, c.NoiseScale = reentry.NoiseRadar, 2 },
		"variant B":     func(c *reentry.Config) { c.Variant, c.Horizons = "B", []float64{2, 120} },
		"nonreentering": func(c *reentry.Config) { c.NonReenteringFrac = 0.5 },
		"rotation":      func(c *reentry.Config) { c.EarthRotation = true },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			c := reentry.DefaultConfig()
			c.Count, c.Seed = 4, 3
			mut(&c)
			dir := t.TempDir()
			sum, err := reentry.WriteDir(context.Background(), dir, c, reentry.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{RequireLabels: true, SigmaPos: c.SigmaPos * c.NoiseScale})
			if err != nil {
				t.Fatal(err)
			}
			r := ts.Report
			if len(ts.Problems) > 0 || r.RowsDropped+r.DuplicatesDropped+r.RowsMoved+r.AltDisagree+r.AltRecomputed > 0 || len(r.Warnings) > 0 {
				t.Errorf("loader changed or rejected generated data: problems %v, report %+v", ts.Problems, r)
			}
			if len(ts.Tracks) != sum.Tracks || r.Rows != sum.Rows {
				t.Errorf("loaded %d tracks / %d rows, wrote %d / %d", len(ts.Tracks), r.Rows, sum.Tracks, sum.Rows)
			}
			s := dataset.SummarizeTracks(ts)
			if s.Reentering != sum.Reentering {
				t.Errorf("loaded %d reentering, wrote %d", s.Reentering, sum.Reentering)
			}
		})
	}
}
