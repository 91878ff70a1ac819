package kinematics

import (
	"fmt"
	"math"
	"slices"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/metrics"
	"github.com/reckon-ml/reckon/physics"
)

// Grid is a track resampled on its own sampling step with every axis
// robustly smoothed: the common ground of the physics fit's first guess
// and the LSTM's per-step features.
type Grid struct {
	K0       int          // grid index of the first step: t = (K0+k)*DT
	DT       float64      // s
	Observed []bool       // a real sample at this step (else filled)
	P, V, A  [3][]float64 // smoothed position, velocity, acceleration
	Sigma    float64      // robust per-axis noise estimate (m)
}

// Len is the number of grid steps.
func (g *Grid) Len() int { return len(g.Observed) }

// T is the time of step k.
func (g *Grid) T(k int) float64 { return float64(g.K0+k) * g.DT }

// Smooth regrids tr on its median step (k = round(t/dt), spec §7 row 6),
// fills gaps linearly, and smooths each axis with a cubic Savitzky-Golay
// filter of the given window in two passes that replace samples more than
// 4 MADs from the fit, so single outliers cannot move the result (§7 row 7).
func Smooth(tr *dataset.Track, window int) (*Grid, error) {
	dt := tr.DT
	if !(dt > 0) {
		return nil, fmt.Errorf("track %q: no sampling step", tr.ID)
	}
	k0 := int(math.Round(tr.T[0] / dt))
	n := int(math.Round(tr.T[tr.Len()-1]/dt)) - k0 + 1
	if n < window {
		return nil, fmt.Errorf("track %q: %w: %d grid steps, the smoother needs %d", tr.ID, dataset.ErrInsufficientData, n, window)
	}
	g := &Grid{K0: k0, DT: dt, Observed: make([]bool, n)}
	for i := range tr.T {
		if k := int(math.Round(tr.T[i]/dt)) - k0; k >= 0 && k < n {
			g.Observed[k] = true
		}
	}
	axes := [3][]float64{tr.X, tr.Y, tr.Z}
	var absResid []float64
	for ax := range 3 {
		x := regrid(tr.T, axes[ax], dt, k0, n)
		s := make([]float64, n)
		r := make([]float64, n)
		for range 2 {
			SavGol(s, x, window, 3)
			for i := range x {
				r[i] = math.Abs(x[i] - s[i])
			}
			mad := median(r)
			for i := range x {
				if r[i] > 4*1.4826*mad {
					x[i] = s[i]
				}
			}
		}
		SavGol(s, x, window, 3)
		for i := range x {
			if g.Observed[i] {
				absResid = append(absResid, math.Abs(x[i]-s[i]))
			}
		}
		g.P[ax], g.V[ax], g.A[ax] = s, make([]float64, n), make([]float64, n)
		SavGolDeriv(g.V[ax], x, window, 3, 1, dt)
		SavGolDeriv(g.A[ax], x, window, 3, 2, dt)
	}
	// The residual of a 15-point cubic fit understates the noise by the
	// filter's own fit; 1.2 corrects it.
	g.Sigma = math.Max(1.2*1.4826*median(absResid), 1)
	return g, nil
}

// Drag estimates the drag deceleration along the velocity at every step,
// -(a - g)·v/|v| (m/s^2). Projecting on the velocity also removes Coriolis,
// which is perpendicular to it.
func (g *Grid) Drag() []float64 {
	d := make([]float64, g.Len())
	for k := range d {
		p := [3]float64{g.P[0][k], g.P[1][k], g.P[2][k]}
		grav := physics.Gravity(p)
		v := [3]float64{g.V[0][k], g.V[1][k], g.V[2][k]}
		sp := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
		if sp == 0 {
			continue
		}
		for ax := range 3 {
			d[k] -= (g.A[ax][k] - grav[ax]) * v[ax] / sp
		}
	}
	return d
}

// Altitude of every step.
func (g *Grid) Altitude() []float64 {
	h := make([]float64, g.Len())
	for k := range h {
		h[k] = physics.Altitude(g.P[0][k], g.P[1][k], g.P[2][k])
	}
	return h
}

// regrid puts observations on grid k0..k0+n-1 and fills gaps linearly.
func regrid(t, x []float64, dt float64, k0, n int) []float64 {
	g := make([]float64, n)
	have := make([]bool, n)
	for i := range t {
		k := int(math.Round(t[i]/dt)) - k0
		if k >= 0 && k < n && !have[k] {
			g[k], have[k] = x[i], true
		}
	}
	last := -1
	for k := range n {
		if !have[k] {
			continue
		}
		if last >= 0 && k-last > 1 {
			for j := last + 1; j < k; j++ {
				f := float64(j-last) / float64(k-last)
				g[j] = g[last] + f*(g[k]-g[last])
			}
		}
		last = k
	}
	return g
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	if slices.ContainsFunc(s, math.IsNaN) { // selection needs a total order
		slices.Sort(s)
		return s[len(s)/2]
	}
	return metrics.Nth(s, len(s)/2)
}
