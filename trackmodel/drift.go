package trackmodel

import (
	"math"
	"slices"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/metrics"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/physfit"
	"github.com/reckon-ml/reckon/physics"
)

// FeatureNames are the per-track quantities a track set's drift is tested
// on, in FeatureValues order.
var FeatureNames = []string{"step_s", "duration_s", "noise_m", "ln_beta", "end_alt_m"}

// PredictionColumn names the predicted reentry time in a drift profile.
const PredictionColumn = "reentry_time_s"

// FeatureValues are a track's drift quantities: its sample step (median),
// duration, position noise (robust, from third differences, in which a
// smooth flight nearly vanishes), the natural log of its ballistic
// coefficient derived from the drag at the onset (physfit's first guess;
// NaN where no reentry is seen) and its last altitude.
func FeatureValues(t *dataset.Track) []float64 {
	n := t.Len()
	// beta from the drag itself, where the smoothed track's drag first
	// reaches the threshold on its way to the post-apogee peak: there
	// rho v^2 / (2 beta) = threshold, so beta = rho v^2 / (2 threshold).
	// A fraction of a millisecond a track, where the full fit takes 15.
	lnBeta := math.NaN()
	cfg := physfit.DefaultConfig()
	if g, err := physfit.FirstGuess(t, cfg); err == nil {
		p, v := g.State.P, g.State.V
		rho := physics.Density(physics.Altitude(p[0], p[1], p[2]))
		lnBeta = math.Log(rho * (v[0]*v[0] + v[1]*v[1] + v[2]*v[2]) / (2 * cfg.ThresholdG * physics.G0))
	}
	return []float64{t.DT, t.T[n-1] - t.T[0], noiseOf(t), lnBeta, t.Alt[n-1]}
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
	return metrics.Nth(d, len(d)/2) / 0.6744897501960817 / math.Sqrt(20)
}

// FeatureColumns are FeatureValues of every track, as columns.
func FeatureColumns(tracks []dataset.Track) []monitor.Column {
	cols := make([]monitor.Column, len(FeatureNames))
	for i, n := range FeatureNames {
		cols[i] = monitor.Column{Name: n, Numeric: true}
	}
	for i := range tracks {
		for j, v := range FeatureValues(&tracks[i]) {
			cols[j].Num = append(cols[j].Num, v)
		}
	}
	return cols
}

// ProfileTracks is the drift reference of tracks: their features and,
// when p is not nil, its predicted reentry time of each. A set drifts when
// any of these does (monitor.RuleAny): one of a few features moving, such
// as the noise, is what matters.
func ProfileTracks(tracks []dataset.Track, p Predictor) *monitor.Profile {
	cols := FeatureColumns(tracks)
	if p != nil {
		c := monitor.Column{Name: PredictionColumn, Numeric: true}
		for i := range tracks {
			v, err := p.Predict(&tracks[i])
			if err != nil {
				v = math.NaN()
			}
			c.Num = append(c.Num, v)
		}
		cols = append(cols, c)
	}
	prof := monitor.ProfileReference(cols, 10)
	prof.Rows, prof.Rule = int64(len(tracks)), monitor.RuleAny
	return prof
}

// Observe adds a track and its predicted reentry time (NaN: none) to a
// sketch of a ProfileTracks reference.
func Observe(sk *monitor.Sketch, ref *monitor.Profile, t *dataset.Track, predicted float64) {
	sk.Row()
	vals := FeatureValues(t)
	for i, c := range ref.Columns {
		if j := slices.Index(FeatureNames, c.Name); j >= 0 {
			sk.Number(i, vals[j])
		} else if c.Name == PredictionColumn {
			sk.Number(i, predicted)
		} else {
			sk.Missing(i)
		}
	}
}
