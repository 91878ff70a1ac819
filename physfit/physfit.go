// Package physfit estimates a track's reentry time by fitting the physics:
// a robust least-squares fit of the state and ballistic coefficient to the
// raw positions around the drag onset, then propagating the fit to where
// drag reaches the threshold (reentry-spec.md §5.1, "physics fit"). It is
// the strong non-learned comparator for the learned models.
package physfit

import (
	"errors"
	"fmt"
	"math"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/kinematics"
	"github.com/reckon-ml/reckon/physics"
	"github.com/reckon-ml/reckon/sim/reentry"
	"gonum.org/v1/gonum/mat"
)

// ErrNoReentry is returned for a track whose drag never reaches the
// threshold after apogee (spec §7 row 8): no reentry observed.
var ErrNoReentry = errors.New("no reentry observed")

// Config holds the estimator's settings; the zero value is not useful, see
// DefaultConfig.
type Config struct {
	Window     float64 `json:"window_s"`      // fit rows within ±Window of the first guess
	Smooth     int     `json:"smooth_window"` // Savitzky-Golay window (samples) of the first guess
	Step       float64 `json:"rk4_step_s"`    // integration step of the fit
	ThresholdG float64 `json:"threshold_g"`
	// Weak Gaussian prior on ln(beta), fitted from the training labels.
	PriorLnBeta float64 `json:"prior_ln_beta"`
	PriorSD     float64 `json:"prior_sd"`
	// Forecast (variant B): the track stops before reentry, so the state
	// and ln(beta) are fitted (MAP, with the prior) on its last Window
	// seconds and propagated forward to the crossing.
	Forecast bool `json:"forecast,omitempty"`
}

// DefaultConfig is the spec's setting: ±10 s window, SG 15 first guess,
// RK4 at 0.1 s, and a prior centred in the default beta range.
func DefaultConfig() Config {
	return Config{Window: 10, Smooth: 15, Step: 0.1, ThresholdG: 1,
		PriorLnBeta: 0.5 * (math.Log(1500) + math.Log(15000)), PriorSD: 2}
}

const (
	minLnBeta, maxLnBeta = 4.605170185988092, 13.815510557964274 // ln 100, ln 1e6 (spec §5.2)
	fineStep             = 0.01
)

// Guess is the finite-difference first guess: smoothed state and the
// upward crossing of the threshold that leads to the post-apogee drag peak.
type Guess struct {
	T     float64 // s, crossing time
	K     int     // grid index nearest T
	State reentry.State
	Sigma float64 // robust noise estimate per axis (m)
}

// FirstGuess smooths the track on its grid (kinematics.Smooth), estimates
// drag along the velocity and walks back from the post-apogee drag peak to
// the upward threshold crossing, so noise spikes near apogee cannot fire it.
func FirstGuess(tr *dataset.Track, cfg Config) (Guess, error) {
	g, err := kinematics.Smooth(tr, cfg.Smooth)
	if err != nil {
		return Guess{}, err
	}
	n := g.Len()
	drag := g.Drag()
	alt := g.Altitude()
	apo := 0
	for k, h := range alt {
		if h > alt[apo] {
			apo = k
		}
	}
	thr := cfg.ThresholdG * physics.G0
	peak := apo
	for k := apo; k < n; k++ {
		if drag[k] > drag[peak] {
			peak = k
		}
	}
	if drag[peak] < thr {
		return Guess{}, fmt.Errorf("track %q: %w (estimated drag peaks at %.2f g after apogee)", tr.ID, ErrNoReentry, drag[peak]/physics.G0)
	}
	k := peak
	for k > apo && drag[k-1] >= thr {
		k--
	}
	t := g.T(k)
	if k > 0 && drag[k-1] < thr {
		t -= g.DT * (drag[k] - thr) / (drag[k] - drag[k-1])
	}
	kr := min(max(int(math.Round(t/g.DT))-g.K0, 0), n-1)
	return Guess{
		T: t, K: g.K0 + kr,
		State: reentry.State{P: [3]float64{g.P[0][kr], g.P[1][kr], g.P[2][kr]}, V: [3]float64{g.V[0][kr], g.V[1][kr], g.V[2][kr]}},
		Sigma: g.Sigma,
	}, nil
}

// Trajectory is a fitted state and ballistic coefficient around reentry.
type Trajectory struct {
	TRef       float64
	State      reentry.State // at TRef
	LnBeta     float64
	Iterations int
	Rows       int
	Sigma      float64
}

// obs is one position observation in the fit window.
type obs struct {
	j int // grid steps from TRef (negative: before)
	p [3]float64
}

// FitTrack runs the robust (soft-L1) Levenberg-Marquardt fit of the state at
// the grid time nearest the first guess and ln(beta) to the raw positions
// within ±cfg.Window, with the weak prior on ln(beta).
func FitTrack(tr *dataset.Track, g Guess, cfg Config) (Trajectory, error) {
	dt := tr.DT
	tRef := float64(g.K) * dt
	var os []obs
	for i := range tr.T {
		if math.Abs(tr.T[i]-tRef) <= cfg.Window+1e-9 {
			os = append(os, obs{j: int(math.Round((tr.T[i] - tRef) / dt)), p: [3]float64{tr.X[i], tr.Y[i], tr.Z[i]}})
		}
	}
	if len(os) < 10 {
		return Trajectory{}, fmt.Errorf("track %q: %w: %d rows within ±%g s of the drag onset", tr.ID, dataset.ErrInsufficientData, len(os), cfg.Window)
	}
	sub := max(1, int(math.Round(dt/cfg.Step)))
	h := dt / float64(sub)
	lo, hi := min(os[0].j, 0), max(os[len(os)-1].j, 0)
	states := make([]reentry.State, hi-lo+1)
	sigma := g.Sigma

	// residuals of theta = (p, v, ln beta), scaled by sigma, plus the prior.
	m := 3*len(os) + 1
	resid := func(th []float64, out []float64) {
		beta := math.Exp(th[6])
		s0 := reentry.State{P: [3]float64{th[0], th[1], th[2]}, V: [3]float64{th[3], th[4], th[5]}}
		states[-lo] = s0
		s := s0
		for j := 1; j <= hi; j++ {
			for range sub {
				s = reentry.BallisticStep(s, h, beta)
			}
			states[j-lo] = s
		}
		s = s0
		for j := -1; j >= lo; j-- {
			for range sub {
				s = reentry.BallisticStep(s, -h, beta)
			}
			states[j-lo] = s
		}
		for i, o := range os {
			st := states[o.j-lo]
			for ax := range 3 {
				out[3*i+ax] = (st.P[ax] - o.p[ax]) / sigma
			}
		}
		out[m-1] = (th[6] - cfg.PriorLnBeta) / cfg.PriorSD
	}
	lnb0 := math.Log(physics.Density(physics.Altitude(g.State.P[0], g.State.P[1], g.State.P[2])) *
		dot(g.State.V, g.State.V) / (2 * cfg.ThresholdG * physics.G0))
	if math.IsNaN(lnb0) || math.IsInf(lnb0, 0) || cfg.Forecast {
		lnb0 = cfg.PriorLnBeta // before reentry drag says little: start at the prior
	}
	th := []float64{g.State.P[0], g.State.P[1], g.State.P[2], g.State.V[0], g.State.V[1], g.State.V[2], clamp(lnb0)}
	steps := []float64{1, 1, 1, 0.01, 0.01, 0.01, 1e-4}
	iters, err := levenbergMarquardt(resid, th, steps, m, 60)
	if err != nil {
		return Trajectory{}, fmt.Errorf("track %q: %w", tr.ID, err)
	}
	return Trajectory{TRef: tRef, State: reentry.State{P: [3]float64{th[0], th[1], th[2]}, V: [3]float64{th[3], th[4], th[5]}},
		LnBeta: th[6], Iterations: iters, Rows: len(os), Sigma: sigma}, nil
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }

func clamp(lnb float64) float64 { return math.Min(math.Max(lnb, minLnBeta), maxLnBeta) }

// softL1 weights for iteratively reweighted least squares: rho(z) =
// 2(sqrt(1+z^2)-1) behaves like z^2 for small residuals and like 2|z| for
// outliers, so a 20-sigma sample pulls linearly, not quadratically.
func softL1(z float64) (rho, w float64) {
	s := math.Sqrt(1 + z*z)
	return 2 * (s - 1), 1 / s
}

// levenbergMarquardt minimises sum softL1(r_i) (the last residual, the
// prior, is taken as plain squares) over th in place, with a forward
// difference Jacobian. It returns the iterations used.
func levenbergMarquardt(resid func(th, out []float64), th, steps []float64, m, maxIter int) (int, error) {
	n := len(th)
	r := make([]float64, m)
	rt := make([]float64, m)
	cost := func(r []float64) float64 {
		c := r[m-1] * r[m-1]
		for _, z := range r[:m-1] {
			rho, _ := softL1(z)
			c += rho
		}
		return c
	}
	resid(th, r)
	c := cost(r)
	if math.IsNaN(c) {
		return 0, errors.New("fit: non-finite residuals at the first guess")
	}
	lambda := 1e-3
	J := mat.NewDense(m, n, nil)
	trial := make([]float64, n)
	iter := 0
	for iter = 1; iter <= maxIter; iter++ {
		for j := range n {
			copy(trial, th)
			trial[j] += steps[j]
			resid(trial, rt)
			for i := range m {
				J.Set(i, j, (rt[i]-r[i])/steps[j])
			}
		}
		// Weighted normal equations: JtWJ delta = -JtW r.
		var jtwj mat.Dense
		jtwj.ReuseAs(n, n)
		jtwr := make([]float64, n)
		for i := range m {
			w := 1.0
			if i < m-1 {
				_, w = softL1(r[i])
			}
			row := J.RawRowView(i)
			for a := range n {
				jtwr[a] += w * row[a] * r[i]
				for b := range n {
					jtwj.Set(a, b, jtwj.At(a, b)+w*row[a]*row[b])
				}
			}
		}
		improved := false
		for range 10 {
			A := mat.DenseCopyOf(&jtwj)
			for a := range n {
				A.Set(a, a, A.At(a, a)*(1+lambda)+1e-12)
			}
			var delta mat.VecDense
			if err := delta.SolveVec(A, mat.NewVecDense(n, jtwr)); err != nil {
				lambda *= 10
				continue
			}
			for a := range n {
				trial[a] = th[a] - delta.AtVec(a)
			}
			trial[6] = clamp(trial[6])
			resid(trial, rt)
			if ct := cost(rt); ct < c && !math.IsNaN(ct) {
				rel := (c - ct) / math.Max(c, 1e-12)
				copy(th, trial)
				copy(r, rt)
				c = ct
				lambda = math.Max(lambda/10, 1e-9)
				improved = true
				if rel < 1e-10 {
					return iter, nil
				}
				break
			}
			lambda *= 10
		}
		if !improved {
			return iter, nil // at a minimum within the step sizes
		}
	}
	return iter, nil
}

// Crossing propagates a fit with 0.01 s RK4 steps over ±(Window+2) s
// around its reference time and returns the upward threshold crossing
// nearest near, interpolated in ln D within the step (spec §2).
func Crossing(f Trajectory, cfg Config, near float64) (float64, error) {
	beta := math.Exp(f.LnBeta)
	thr := cfg.ThresholdG * physics.G0
	span := int((cfg.Window + 2) / fineStep)
	ts := make([]float64, 2*span+1)
	ds := make([]float64, 2*span+1)
	ts[span], ds[span] = f.TRef, reentry.Drag(f.State, beta)
	s := f.State
	for i := 1; i <= span; i++ {
		s = reentry.BallisticStep(s, fineStep, beta)
		ts[span+i], ds[span+i] = f.TRef+float64(i)*fineStep, reentry.Drag(s, beta)
	}
	s = f.State
	for i := 1; i <= span; i++ {
		s = reentry.BallisticStep(s, -fineStep, beta)
		ts[span-i], ds[span-i] = f.TRef-float64(i)*fineStep, reentry.Drag(s, beta)
	}
	best, found := 0.0, false
	for i := 0; i+1 < len(ds); i++ {
		if ds[i] < thr && ds[i+1] >= thr && ds[i] > 0 {
			t := ts[i] + fineStep*math.Log(thr/ds[i])/math.Log(ds[i+1]/ds[i])
			if !found || math.Abs(t-near) < math.Abs(best-near) {
				best, found = t, true
			}
		}
	}
	if !found {
		return 0, fmt.Errorf("%w: the fitted trajectory does not reach %.3g g within ±%.0f s", ErrNoReentry, cfg.ThresholdG, cfg.Window+2)
	}
	return best, nil
}

// ForecastGuess is the starting point of a forecast: the smoothed state at
// the track's last grid step.
func ForecastGuess(tr *dataset.Track, cfg Config) (Guess, error) {
	g, err := kinematics.Smooth(tr, cfg.Smooth)
	if err != nil {
		return Guess{}, err
	}
	k := g.Len() - 1
	return Guess{T: g.T(k), K: g.K0 + k,
		State: reentry.State{P: [3]float64{g.P[0][k], g.P[1][k], g.P[2][k]}, V: [3]float64{g.V[0][k], g.V[1][k], g.V[2][k]}},
		Sigma: g.Sigma}, nil
}

// maxForecast bounds how far ahead a forecast propagates.
const maxForecast = 1500.0

// CrossingAhead propagates a fit forward (0.05 s steps) to the first
// post-apogee time drag reaches the threshold, interpolated in ln D.
func CrossingAhead(f Trajectory, cfg Config) (float64, error) {
	beta := math.Exp(f.LnBeta)
	thr := cfg.ThresholdG * physics.G0
	const h = 0.05
	s := f.State
	d := reentry.Drag(s, beta)
	for i := 1; float64(i)*h <= maxForecast; i++ {
		n := reentry.BallisticStep(s, h, beta)
		nd := reentry.Drag(n, beta)
		r := physics.Geocentric(n.P)
		descending := dot(r, n.V) < 0
		if descending && d < thr && nd >= thr && d > 0 {
			return f.TRef + float64(i-1)*h + h*math.Log(thr/d)/math.Log(nd/d), nil
		}
		if physics.Altitude(n.P[0], n.P[1], n.P[2]) < 0 {
			break
		}
		s, d = n, nd
	}
	return 0, fmt.Errorf("%w: the forecast trajectory never reaches %.3g g", ErrNoReentry, cfg.ThresholdG)
}
