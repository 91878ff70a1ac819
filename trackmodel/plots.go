package trackmodel

import (
	"fmt"
	"math"

	"github.com/reckon-ml/reckon/chart"
	"github.com/reckon-ml/reckon/model"
)

// Plots draws an evaluation's figures into dir: the error per track, the
// error against reentry altitude, and the training curves the artifact
// kept. It returns the files' paths.
func Plots(dir string, art *model.Artifact, e *Evaluation) ([]string, error) {
	var bars, scatter []chart.Point
	for _, t := range e.Tracks {
		bars = append(bars, chart.Point{Label: t.TrackID, Y: t.Error})
		if !math.IsNaN(t.ReentryAltitude) {
			scatter = append(scatter, chart.Point{Label: t.TrackID, X: t.ReentryAltitude / 1000, Y: t.Error})
		}
	}
	figs := &chart.Figures{Dir: dir}
	if err := figs.Draw("error_per_track.png", func(p string) error {
		return chart.Bars(p, fmt.Sprintf("%s: error per track (RMSE %.3f s)", art.Header.Kind, e.RMSE), "predicted - true reentry time (s)", bars)
	}); err != nil {
		return nil, err
	}
	if len(scatter) > 0 {
		if err := figs.Draw("error_vs_reentry_altitude.png", func(p string) error {
			return chart.Scatter(p, art.Header.Kind+": error vs reentry altitude", "reentry altitude (km)", "error (s)", scatter)
		}); err != nil {
			return nil, err
		}
	}
	if len(art.Header.Curves) > 0 {
		if err := figs.Draw("training_curves.png", func(p string) error {
			return chart.Curves(p, art.Header.Kind+": training", "epoch", "loss", art.Header.Curves)
		}); err != nil {
			return nil, err
		}
	}
	return figs.Paths, nil
}
