package lstm

import (
	"fmt"
	"math"
	"slices"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/kinematics"
	"github.com/reckon-ml/reckon/physics"
)

// NumFeatures is the width of the per-step feature vector.
const NumFeatures = 12

// FeatureNames documents the columns, in order.
var FeatureNames = [NumFeatures]string{
	"altitude", "radial_rate", "speed", "drag15_g", "drag11_g",
	"ln_drag15_g", "ln_drag11_g", "observed", "ln_dynamic_pressure",
	"ln_beta_track", "ln_drag_from_pressure_g", "beta_estimated",
}

// window is one track's last steps as features, oldest first.
type window struct {
	x     [][NumFeatures]float64 // unstandardised
	times []float64              // track time of each step
}

// trackWindow computes per-step features on the track's 0.5 s grid and
// keeps the last n steps (left-padded with zeros and NaN times when the
// track is shorter). The drag estimates use two smoothing windows, so the
// network sees both a low-noise and a low-lag version.
func trackWindow(tr *dataset.Track, n int) (window, error) {
	g15, err := kinematics.Smooth(tr, 15)
	if err != nil {
		return window{}, err
	}
	g11, err := kinematics.Smooth(tr, 11)
	if err != nil {
		return window{}, err
	}
	if g11.Len() != g15.Len() {
		return window{}, fmt.Errorf("track %q: grids disagree", tr.ID)
	}
	d15, d11 := g15.Drag(), g11.Drag()
	alt := g15.Altitude()
	L := g15.Len()
	lnq := make([]float64, L)
	for k := range L {
		v := [3]float64{g15.V[0][k], g15.V[1][k], g15.V[2][k]}
		lnq[k] = math.Log(math.Max(0.5*physics.Density(alt[k])*(v[0]*v[0]+v[1]*v[1]+v[2]*v[2]), 1e-9))
	}
	// One ballistic coefficient per track, from the strong-drag steps where
	// the drag estimate is precise: ln beta = ln q - ln D. With it, the
	// smooth dynamic pressure says where D crosses the threshold far more
	// precisely than the noisy drag estimate itself.
	var lnb []float64
	for k := range L {
		if d15[k] > 3*physics.G0 {
			lnb = append(lnb, lnq[k]-math.Log(d15[k]))
		}
	}
	lnBeta, haveBeta := priorLnBeta, 0.0
	if len(lnb) >= 3 {
		slices.Sort(lnb)
		lnBeta, haveBeta = lnb[len(lnb)/2], 1
	}
	w := window{x: make([][NumFeatures]float64, n), times: make([]float64, n)}
	for i := range n {
		k := L - n + i
		if k < 0 {
			w.times[i] = math.NaN()
			continue
		}
		p := [3]float64{g15.P[0][k], g15.P[1][k], g15.P[2][k]}
		v := [3]float64{g15.V[0][k], g15.V[1][k], g15.V[2][k]}
		r := physics.Geocentric(p)
		rn := math.Sqrt(r[0]*r[0] + r[1]*r[1] + r[2]*r[2])
		sp := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		vr := (r[0]*v[0] + r[1]*v[1] + r[2]*v[2]) / rn
		obs := 0.0
		if g15.Observed[k] {
			obs = 1
		}
		a, b := d15[k]/physics.G0, d11[k]/physics.G0
		w.x[i] = [NumFeatures]float64{
			alt[k] / 1e5, vr / 1e3, sp / 1e3,
			clip(a, -2, 60) / 10, clip(b, -2, 60) / 10,
			math.Log(math.Max(a, 0.01)), math.Log(math.Max(b, 0.01)),
			obs, lnq[k] / 10,
			lnBeta - priorLnBeta, clip(lnq[k]-lnBeta-math.Log(physics.G0), -6, 6), haveBeta,
		}
		w.times[i] = g15.T(k)
	}
	return w, nil
}

// priorLnBeta is the centre of the default beta range, used when a track
// never shows strong drag.
var priorLnBeta = 0.5 * (math.Log(1500) + math.Log(15000))

func clip(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// Scaler standardises features with statistics of the training windows,
// stored in the model so training and inference can never disagree.
type Scaler struct {
	Mean [NumFeatures]float64 `json:"mean"`
	Std  [NumFeatures]float64 `json:"std"`
}

func fitScaler(ws []window) Scaler {
	var s Scaler
	var n float64
	for _, w := range ws {
		for i, x := range w.x {
			if math.IsNaN(w.times[i]) {
				continue
			}
			n++
			for j, v := range x {
				s.Mean[j] += v
			}
		}
	}
	for j := range s.Mean {
		s.Mean[j] /= n
	}
	for _, w := range ws {
		for i, x := range w.x {
			if math.IsNaN(w.times[i]) {
				continue
			}
			for j, v := range x {
				s.Std[j] += (v - s.Mean[j]) * (v - s.Mean[j])
			}
		}
	}
	for j := range s.Std {
		s.Std[j] = math.Max(math.Sqrt(s.Std[j]/n), 1e-6)
	}
	return s
}

// put writes window w standardised into x at sequence b of a time-major
// batch of B sequences; padded steps stay zero.
func (s *Scaler) put(x []float32, w window, b, B int) {
	for t, f := range w.x {
		if math.IsNaN(w.times[t]) {
			continue
		}
		row := x[(t*B+b)*NumFeatures : (t*B+b+1)*NumFeatures]
		for j, v := range f {
			row[j] = float32((v - s.Mean[j]) / s.Std[j])
		}
	}
}
