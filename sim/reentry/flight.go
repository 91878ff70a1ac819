package reentry

import (
	"errors"
	"math"
	"math/rand/v2"

	"github.com/reckon-ml/reckon/physics"
)

// params are one flight's random draws (spec §1.4 table).
type params struct {
	rangeTarget float64 // m
	beta        float64 // kg/m^2, RV
	isp         float64 // s
	n0          float64 // thrust/weight at liftoff
	tv          float64 // s, vertical rise, on the RK4 grid
	thetaF      float64 // rad, final thrust elevation
	fp          float64 // pitch duration / tau
	betaB0      float64 // kg/m^2, booster at liftoff
	azimuth     float64 // rad, from North towards East
	delay       float64 // s, launch to first nominal sample, on the RK4 grid
	hEnd        float64 // m, track-end altitude
	latitude    float64 // rad, only used with Earth rotation
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

func snap(t float64) float64 { return math.Round(t/H) * H }

func drawParams(r *rand.Rand, c *Config) params {
	// The order of draws is part of the output's contract: append, never reorder.
	var p params
	p.rangeTarget = 1000 * uniform(r, c.RangeMinKm, c.RangeMaxKm)
	p.beta = math.Exp(uniform(r, math.Log(c.BetaMin), math.Log(c.BetaMax)))
	p.isp = uniform(r, 230, 290)
	p.n0 = uniform(r, 1.8, 3.0)
	p.tv = snap(uniform(r, 4, 8))
	p.thetaF = uniform(r, 20, 45) * math.Pi / 180
	p.fp = uniform(r, 0.35, 0.60)
	p.betaB0 = uniform(r, 15000, 40000)
	p.azimuth = uniform(r, 0, 2*math.Pi)
	p.delay = snap(uniform(r, 0, 10))
	p.hEnd = uniform(r, 0, 12000)
	p.latitude = uniform(r, -60, 60) * math.Pi / 180
	return p
}

// flight integrates one trajectory. It is cheap to copy and has no state
// beyond its parameters, so targeting runs can share it.
type flight struct {
	p        params
	tau      float64 // s, burn time to zero mass: m(t)/m0 = 1 - t/tau
	tb       float64 // s, burnout
	rotating bool
	omega    vec3
	plane    vec3 // normal of the launch plane (holds the centre, launch point and azimuth)
}

func newFlight(p params, rotating bool) *flight {
	f := &flight{p: p, tau: p.isp / p.n0, rotating: rotating}
	eA := vec3{math.Sin(p.azimuth), math.Cos(p.azimuth), 0}
	f.plane = eA.cross(vec3{0, 0, 1})
	if rotating {
		f.omega = vec3{0, math.Cos(p.latitude), math.Sin(p.latitude)}.scale(physics.OmegaE)
	}
	return f
}

// elevation of the thrust above the local horizontal at time t (pitch programme).
func (f *flight) elevation(t float64) float64 {
	if t < f.p.tv {
		return math.Pi / 2
	}
	tp := f.p.fp * f.tau
	if s := (t - f.p.tv) / tp; s < 1 {
		return math.Pi/2 - (math.Pi/2-f.p.thetaF)*s
	}
	return f.p.thetaF
}

// accel is dv/dt. burning selects the boost phase for a whole RK4 step, so
// thrust cut-off never falls inside a step.
func (f *flight) accel(t float64, p, v vec3, burning bool) (a vec3, drag float64) {
	r := geocentric(p)
	rn := r.norm()
	a = physics.GravityAt(r, rn)
	beta := f.p.beta
	if burning {
		m := 1 - t/f.tau
		beta = f.p.betaB0 * m
		rhat := r.scale(1 / rn)
		hhat := rhat.cross(f.plane).unit()
		el := f.elevation(t)
		u := hhat.scale(math.Cos(el)).axpy(math.Sin(el), rhat)
		a = a.axpy(f.p.n0*physics.G0/m, u)
	}
	speed := v.norm()
	if speed > 0 {
		drag = physics.Density(rn-physics.RE) * speed * speed / (2 * beta)
		a = a.axpy(-drag/speed, v)
	}
	if f.rotating {
		a = a.sub(f.omega.cross(v).scale(2)).sub(f.omega.cross(f.omega.cross(r)))
	}
	return a, drag
}

// drag is the drag deceleration (m/s^2) of the tracked object.
func (f *flight) drag(t, alt float64, v vec3, burning bool) float64 {
	beta := f.p.beta
	if burning {
		beta = f.p.betaB0 * (1 - t/f.tau)
	}
	return physics.Density(alt) * v.dot(v) / (2 * beta)
}

type state struct{ p, v vec3 }

// step advances s by one RK4 step of size h from time t.
func (f *flight) step(t float64, s state, h float64, burning bool) state {
	a1, _ := f.accel(t, s.p, s.v, burning)
	p2, v2 := s.p.axpy(h/2, s.v), s.v.axpy(h/2, a1)
	a2, _ := f.accel(t+h/2, p2, v2, burning)
	p3, v3 := s.p.axpy(h/2, v2), s.v.axpy(h/2, a2)
	a3, _ := f.accel(t+h/2, p3, v3, burning)
	p4, v4 := s.p.axpy(h, v3), s.v.axpy(h, a3)
	a4, _ := f.accel(t+h, p4, v4, burning)
	return state{
		p: s.p.add(s.v.axpy(2, v2).axpy(2, v3).add(v4).scale(h / 6)),
		v: s.v.add(a1.axpy(2, a2).axpy(2, a3).add(a4).scale(h / 6)),
	}
}

// groundRange is the great-circle distance from the launch point.
func groundRange(p vec3) float64 {
	r := geocentric(p)
	return physics.RE * math.Atan2(r.cross(vec3{0, 0, 1}).norm(), r[2])
}

// coarseRange flies the whole trajectory with step h and returns the ground
// range at impact; overshoot reports a flight that has not come down within
// maxFlightS (treated as "too far" by the targeting).
func (f *flight) coarseRange(tb, h float64) (rng float64, overshoot bool) {
	var s state
	t := 0.0
	for t < maxFlightS {
		hs, burning := h, t < tb
		if burning && t+hs > tb {
			hs = tb - t
		}
		next := f.step(t, s, hs, burning)
		t += hs
		if !burning && t > tb {
			if alt := altitudeOf(next.p); alt < 0 {
				a0 := altitudeOf(s.p)
				frac := a0 / (a0 - alt)
				return groundRange(s.p.add(next.p.sub(s.p).scale(frac))), false
			}
		}
		s = next
	}
	return 0, true
}

const coarseH = 0.1

// target solves the burn time so that the ground range matches the drawn
// target (Illinois regula falsi, spec §1.4), snapped to the RK4 grid. When
// the target is out of reach of the bracket the nearest end is used; the
// achieved range is what the labels report.
func (f *flight) target() {
	lo, hi := 0.3*f.tau, (1-1.0/12)*f.tau
	g := func(tb float64) float64 {
		r, over := f.coarseRange(tb, coarseH)
		if over {
			return math.Inf(1)
		}
		return r - f.p.rangeTarget
	}
	tol := math.Max(2000, 0.005*f.p.rangeTarget)
	glo, ghi := g(lo), g(hi)
	switch {
	case glo >= 0:
		f.tb = snap(lo)
		return
	case ghi <= 0:
		f.tb = snap(hi)
		return
	}
	side := 0
	x := lo
	for range 40 {
		if math.IsInf(ghi, 1) {
			x = (lo + hi) / 2 // bisect until the upper end lands
		} else {
			x = (lo*ghi - hi*glo) / (ghi - glo)
		}
		gx := g(x)
		if math.Abs(gx) <= tol || hi-lo < 2*H {
			break
		}
		if gx > 0 {
			hi, ghi = x, gx
			if side == -1 {
				glo /= 2
			}
			side = -1
		} else {
			lo, glo = x, gx
			if side == 1 && !math.IsInf(ghi, 1) {
				ghi /= 2
			}
			side = 1
		}
	}
	f.tb = snap(x)
}

// sample is the noise-free state at one nominal 0.5 s sample.
type sample struct {
	p, v vec3
	alt  float64
	drag float64 // m/s^2, of the tracked object (booster while burning)
}

// truth is one integrated trajectory on the track's time base (t = 0 at the
// first nominal sample, launch at -delay).
type truth struct {
	samples []sample // nominal samples from t = 0 until the last one before impact

	tBurnout, burnoutSpeed, burnoutAlt, burnoutGamma float64
	tApogee, apogeeAlt                               float64
	tImpact, groundRange                             float64
	impact                                           vec3 // ENU impact point
	maxDragG                                         float64

	reenters                     bool
	tRe, reAlt, reSpeed, reGamma float64
}

var errNoImpact = errors.New("trajectory did not impact")

const maxFineS = 2400.0

func gamma(p, v vec3) float64 {
	rhat := geocentric(p).unit()
	return math.Asin(rhat.dot(v) / v.norm())
}

// fly integrates the trajectory at h = 0.01 s from launch to impact,
// recording the samples and the events the labels need.
func (f *flight) fly(thresholdG float64) (*truth, error) {
	tr := &truth{}
	delaySteps := int(math.Round(f.p.delay / H))
	tbSteps := int(math.Round(f.tb / H))
	maxSteps := int(maxFineS / H)
	thr := thresholdG * physics.G0

	var s state
	apogee := false
	// After burnout each step's end state is the next step's start, so its
	// altitude and drag carry over instead of being recomputed.
	carried := false
	var alt, drag float64
	for n := 0; n < maxSteps; n++ {
		t := float64(n) * H
		burning := n < tbSteps
		if !carried {
			alt = altitudeOf(s.p)
			drag = f.drag(t, alt, s.v, burning)
		}
		if n >= delaySteps && (n-delaySteps)%stepsPerSample == 0 {
			tr.samples = append(tr.samples, sample{p: s.p, v: s.v, alt: alt, drag: drag})
		}
		if n == tbSteps {
			tr.tBurnout = t - f.p.delay
			tr.burnoutSpeed = s.v.norm()
			tr.burnoutAlt = alt
			tr.burnoutGamma = gamma(s.p, s.v)
		}
		next := f.step(t, s, H, burning)
		if burning {
			s = next
			continue
		}
		nAlt := altitudeOf(next.p)
		nDrag := f.drag(t+H, nAlt, next.v, false)
		if nDrag/physics.G0 > tr.maxDragG {
			tr.maxDragG = nDrag / physics.G0
		}
		if !apogee {
			vr0 := geocentric(s.p).unit().dot(s.v)
			vr1 := geocentric(next.p).unit().dot(next.v)
			if vr1 < 0 {
				apogee = true
				frac := 0.0
				if vr0 > 0 {
					frac = vr0 / (vr0 - vr1)
				}
				tr.tApogee = t + frac*H - f.p.delay
				tr.apogeeAlt = alt + frac*(nAlt-alt)
			}
		} else if !tr.reenters && drag < thr && nDrag >= thr {
			// ln D is nearly linear over one step (spec §2).
			frac := math.Log(thr/drag) / math.Log(nDrag/drag)
			tr.reenters = true
			tr.tRe = t + frac*H - f.p.delay
			tr.reAlt = alt + frac*(nAlt-alt)
			tr.reSpeed = s.v.norm() + frac*(next.v.norm()-s.v.norm())
			g0, g1 := gamma(s.p, s.v), gamma(next.p, next.v)
			tr.reGamma = g0 + frac*(g1-g0)
		}
		if nAlt < 0 {
			frac := alt / (alt - nAlt)
			tr.tImpact = t + frac*H - f.p.delay
			tr.impact = s.p.add(next.p.sub(s.p).scale(frac))
			tr.groundRange = groundRange(tr.impact)
			return tr, nil
		}
		s, alt, drag, carried = next, nAlt, nDrag, true
	}
	return nil, errNoImpact
}
