// Package baseline holds the reentry task's reference estimator: the
// mean-reentry-altitude crossing of reentry-spec.md §5.1, which every model
// must beat. It learns one number, so it shows how much of the label a fixed
// altitude explains and how much depends on the vehicle's ballistic
// coefficient.
package baseline

import (
	"errors"
	"fmt"
	"math"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/kinematics"
	"github.com/reckon-ml/reckon/physics"
	"github.com/reckon-ml/reckon/sim/reentry"
)

// MeanAltitude predicts reentry where the track first descends through the
// mean reentry altitude of the training tracks.
type MeanAltitude struct {
	Altitude float64 `json:"altitude_m"` // h-bar
	Tracks   int     `json:"tracks"`     // labels it was fitted on
}

// FitMeanAltitude averages reentry_altitude over the reentering labels.
func FitMeanAltitude(labels []dataset.TrackLabel) (MeanAltitude, error) {
	var m MeanAltitude
	sum := 0.0
	for _, l := range labels {
		if l.Reenters && !math.IsNaN(l.ReentryAltitude) {
			sum += l.ReentryAltitude
			m.Tracks++
		}
	}
	if m.Tracks == 0 {
		return m, errors.New("baseline: no reentering track with a reentry_altitude label to fit on")
	}
	m.Altitude = sum / float64(m.Tracks)
	return m, nil
}

// Smoothing of the altitude used to find the apogee (cubic, 7.5 s).
const (
	apogeeWindow = 15
	apogeeOrder  = 3
)

// Predict returns the estimated reentry time on the track's time base. The
// apogee is the argmax of the smoothed altitude (it may be the first sample:
// a track that starts descending is fine); the prediction is the first row
// after it at or below h-bar (confirmed by one of the next two rows),
// interpolated from the row before. A track that never gets that low (a
// forecast cut, spec §4 variant B) is flown on from its smoothed last state
// without drag, the spec's §5.2 baseline B.
func (m MeanAltitude) Predict(tr *dataset.Track) (float64, error) {
	n := tr.Len()
	if n < 2 {
		return 0, fmt.Errorf("track %q: %w: %d row(s)", tr.ID, dataset.ErrInsufficientData, n)
	}
	smooth := make([]float64, n)
	kinematics.SavGol(smooth, tr.Alt, apogeeWindow, apogeeOrder)
	apo := 0
	for i, a := range smooth {
		if a > smooth[apo] {
			apo = i
		}
	}
	h := m.Altitude
	below := func(i int) bool { return i >= n || tr.Alt[i] <= h }
	for i := apo + 1; i < n; i++ {
		// A row counts only when one of the next two agrees, so a single
		// outlier cannot fire the crossing (spec §7 row 7).
		if tr.Alt[i] <= h && (i == n-1 || below(i+1) || below(i+2)) {
			a0, a1 := tr.Alt[i-1], tr.Alt[i]
			if a0 <= a1 { // noise made the previous row no higher: take this row's time
				return tr.T[i], nil
			}
			return tr.T[i-1] + (a0-h)/(a0-a1)*(tr.T[i]-tr.T[i-1]), nil
		}
	}
	// Never that low: fly the smoothed last state on without drag (spec
	// §5.2's baseline B) until it descends through h-bar.
	if g, err := kinematics.Smooth(tr, apogeeWindow); err == nil {
		k := g.Len() - 1
		s := reentry.State{P: [3]float64{g.P[0][k], g.P[1][k], g.P[2][k]}, V: [3]float64{g.V[0][k], g.V[1][k], g.V[2][k]}}
		const step, dragFree = 0.1, 1e15
		prev := physics.Altitude(s.P[0], s.P[1], s.P[2])
		for i := 1; float64(i)*step < 3000; i++ {
			s = reentry.BallisticStep(s, step, dragFree)
			alt := physics.Altitude(s.P[0], s.P[1], s.P[2])
			if alt <= h && prev > h {
				return g.T(k) + step*(float64(i-1)+(prev-h)/(prev-alt)), nil
			}
			prev = alt
		}
	}
	slope := (tr.Alt[n-1] - tr.Alt[n-2]) / (tr.T[n-1] - tr.T[n-2])
	if !(slope < 0) {
		return 0, fmt.Errorf("track %q: ends above %.0f m and is not descending; cannot extrapolate a crossing", tr.ID, h)
	}
	return tr.T[n-1] + (h-tr.Alt[n-1])/slope, nil
}
