package trackmodel

import (
	"context"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/physfit"
	"github.com/reckon-ml/reckon/sim/reentry"
)

func benchTracks(b *testing.B) *dataset.TrackSet {
	dir := b.TempDir()
	cfg := reentry.DefaultConfig()
	cfg.Count = 20
	if _, err := reentry.WriteDir(context.Background(), dir, cfg, reentry.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
	ts, err := dataset.LoadTracks(dir, dataset.TrackOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return ts
}

// BenchmarkFeatureValues is the drift summary's cost per track.
func BenchmarkFeatureValues(b *testing.B) {
	ts := benchTracks(b)
	b.Run("all", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			FeatureValues(&ts.Tracks[i%len(ts.Tracks)])
		}
	})
	b.Run("firstguess", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			physfit.FirstGuess(&ts.Tracks[i%len(ts.Tracks)], physfit.DefaultConfig())
		}
	})
	b.Run("noise", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			noiseOf(&ts.Tracks[i%len(ts.Tracks)])
		}
	})
}
