package reentry

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/reckon-ml/reckon/physics"
)

// Row is one observed sample of tracks.csv.
type Row struct {
	T, X, Y, Z, Alt float64
	Rdot            float64 // radar mode only
}

// TruthRow is one noise-free nominal sample of truth.csv.
type TruthRow struct {
	T, X, Y, Z, VX, VY, VZ, Alt, Drag float64
}

// Label is one row of labels.csv. Fields that do not apply are NaN (written
// as empty cells).
type Label struct {
	TrackID         string
	Reenters        bool
	ReentryTime     float64
	ReentryIndex    int // -1 when the track does not reenter
	ReentryAltitude float64
	ReentrySpeed    float64
	ReentryGammaDeg float64
	Beta            float64
	ThresholdG      float64

	TLaunch, TBurnout, BurnoutSpeed, BurnoutAlt, BurnoutGammaDeg float64
	ApogeeTime, ApogeeAlt, ImpactTime, GroundRange, TrackEndTime float64
	NSamples                                                     int
	MaxDragG                                                     float64

	// Variant B only.
	Horizon, TCut float64
	SourceTrack   string
}

// Track is one generated track: what a sensor saw, its label and, when
// asked for, the truth at every nominal sample of its window.
type Track struct {
	ID    string
	Rows  []Row
	Label Label
	Truth []TruthRow
}

// Purposes of the per-track random streams. Each draws from its own stream
// so that, for example, changing the noise settings keeps every trajectory.
const (
	streamFlight uint64 = iota + 1
	streamSensor
	streamHorizon
	streamKind
)

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// stream derives an independent generator for (seed, track index, purpose).
func stream(seed uint64, index int, purpose uint64) *rand.Rand {
	a := splitmix64(seed ^ splitmix64(purpose))
	b := splitmix64(a ^ splitmix64(uint64(index)+0x632be59bd9b4e019))
	return rand.New(rand.NewPCG(a, b))
}

const maxAttempts = 50

// validFlight draws flights from the track's stream until one satisfies the
// spec's guarantees (§6.5): it impacts, has samples before apogee and, when
// it reenters, leaves at least 10 samples between the reentry sample and
// impact. Rejections are rare; they are redrawn, never patched.
func validFlight(c *Config, index int) (params, *truth, error) {
	r := stream(c.Seed, index, streamFlight)
	for range maxAttempts {
		p := drawParams(r, c)
		f := newFlight(p, c.EarthRotation)
		f.target()
		tr, err := f.fly(c.ThresholdG)
		if err != nil || tr.tApogee < 2*DT || len(tr.samples) < 20 {
			continue
		}
		if tr.reenters && (tr.tRe <= 0 || int(math.Ceil(tr.tRe/DT))+10 > len(tr.samples)-1) {
			continue
		}
		return p, tr, nil
	}
	return params{}, nil, fmt.Errorf("track %d: no valid flight in %d draws; check --range-*/--beta-*/--threshold-g", index, maxAttempts)
}

// generateFlight returns the tracks of one flight: one for variant A, one
// per horizon replicate for variant B.
func generateFlight(c *Config, index int) ([]Track, error) {
	p, tr, err := validFlight(c, index)
	if err != nil {
		return nil, err
	}
	kind := stream(c.Seed, index, streamKind)
	forceNo := kind.Float64() < c.NonReenteringFrac
	endDraw := kind.Float64()

	kLast := len(tr.samples) - 1
	kApo := int(math.Ceil(tr.tApogee / DT))
	kEnd := kLast
	for k := kApo; k <= kLast; k++ {
		if tr.samples[k].alt < p.hEnd {
			kEnd = k
			break
		}
	}
	reenters := tr.reenters
	kRe := -1
	if reenters {
		kRe = int(math.Ceil(tr.tRe / DT))
		kEnd = min(max(kEnd, kRe+10), kLast)
		if forceNo {
			// End the track before the crossing, somewhere between shortly
			// before apogee and 5 s before reentry (spec §7 row 8).
			lo := max(kApo-20, 10)
			hi := max(kRe-10, lo)
			kEnd = lo + int(endDraw*float64(hi-lo+1))
			reenters = false
		}
	}

	rows, kept := observe(c, index, p, tr, kEnd)

	base := Label{
		TrackID:         fmt.Sprint(index),
		Reenters:        reenters,
		ReentryTime:     math.NaN(),
		ReentryIndex:    -1,
		ReentryAltitude: math.NaN(),
		ReentrySpeed:    math.NaN(),
		ReentryGammaDeg: math.NaN(),
		Beta:            p.beta,
		ThresholdG:      c.ThresholdG,
		TLaunch:         -p.delay,
		TBurnout:        tr.tBurnout,
		BurnoutSpeed:    tr.burnoutSpeed,
		BurnoutAlt:      tr.burnoutAlt,
		BurnoutGammaDeg: tr.burnoutGamma * 180 / math.Pi,
		ApogeeTime:      tr.tApogee,
		ApogeeAlt:       tr.apogeeAlt,
		ImpactTime:      tr.tImpact,
		GroundRange:     tr.groundRange,
		TrackEndTime:    float64(kEnd) * DT,
		NSamples:        len(rows),
		MaxDragG:        tr.maxDragG,
		Horizon:         math.NaN(),
		TCut:            math.NaN(),
	}
	if reenters {
		base.ReentryTime = tr.tRe
		base.ReentryIndex = kRe
		base.ReentryAltitude = tr.reAlt
		base.ReentrySpeed = tr.reSpeed
		base.ReentryGammaDeg = tr.reGamma * 180 / math.Pi
	}
	truthRows := func(kMax int) []TruthRow {
		if !c.WriteTruth {
			return nil
		}
		out := make([]TruthRow, 0, kMax+1)
		for k := 0; k <= kMax; k++ {
			s := tr.samples[k]
			out = append(out, TruthRow{T: float64(k) * DT, X: s.p[0], Y: s.p[1], Z: s.p[2],
				VX: s.v[0], VY: s.v[1], VZ: s.v[2], Alt: s.alt, Drag: s.drag})
		}
		return out
	}

	if c.Variant == "A" {
		return []Track{{ID: base.TrackID, Rows: rows, Label: base, Truth: truthRows(kEnd)}}, nil
	}

	hs := stream(c.Seed, index, streamHorizon)
	horizons := c.Horizons
	if len(horizons) == 0 {
		horizons = make([]float64, c.Replicates)
		for i := range horizons {
			horizons[i] = uniform(hs, c.HorizonMin, c.HorizonMax)
		}
	}
	out := make([]Track, 0, len(horizons))
	for i, h := range horizons {
		l := base
		l.TrackID = fmt.Sprintf("%d_%d", index, i)
		l.SourceTrack = base.TrackID
		kCut := kEnd
		if reenters {
			kCut = min(int(math.Floor((tr.tRe-h)/DT)), kEnd)
			l.Horizon, l.TCut = h, float64(kCut)*DT
		}
		n := 0
		for n < len(rows) && kept[n] <= kCut {
			n++
		}
		l.NSamples = n
		l.TrackEndTime = float64(max(kCut, 0)) * DT
		out = append(out, Track{ID: l.TrackID, Rows: rows[:n:n], Label: l, Truth: truthRows(max(kCut, -1))})
	}
	return out, nil
}

// observe applies the sensor model to the nominal samples 0..kEnd and
// returns the rows that survive dropouts and gaps, with their sample indices.
func observe(c *Config, index int, p params, tr *truth, kEnd int) ([]Row, []int) {
	r := stream(c.Seed, index, streamSensor)
	span := float64(kEnd) * DT
	gapOn := r.Float64() < c.GapProb
	gapLen := uniform(r, 2, 8)
	gapStart := uniform(r, 0, math.Max(span-gapLen, 0))

	sigma := c.SigmaPos * c.NoiseScale
	var rad *radar
	if c.NoiseModel == NoiseRadar {
		rad = newRadar(r, tr.impact, c.NoiseScale)
		sigma = 20 * c.NoiseScale // the outlier scale matches the cartesian default
	}
	rows := make([]Row, 0, kEnd+1)
	kept := make([]int, 0, kEnd+1)
	for k := 0; k <= kEnd; k++ {
		s := tr.samples[k]
		t := float64(k) * DT
		drop := r.Float64() < c.Dropout
		var obs vec3
		var rdot float64
		if rad != nil {
			obs, rdot = rad.measure(r, s.p, s.v)
		} else {
			obs = s.p.add(vec3{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}.scale(sigma))
		}
		if r.Float64() < c.OutlierRate {
			obs = obs.add(vec3{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}.scale(20 * sigma))
		}
		if drop || (gapOn && t >= gapStart && t < gapStart+gapLen) {
			continue
		}
		rows = append(rows, Row{T: t, X: obs[0], Y: obs[1], Z: obs[2], Alt: altitudeOf(obs), Rdot: rdot})
		kept = append(kept, k)
	}
	return rows, kept
}

// radar is a ground sensor 50-150 km from the impact point (spec §3.1).
type radar struct {
	pos               vec3 // ENU
	east, north, up   vec3
	sR, sAngle, sRdot float64
}

func newRadar(r *rand.Rand, impact vec3, scale float64) *radar {
	dist := uniform(r, 50e3, 150e3)
	bearing := uniform(r, 0, 2*math.Pi)
	ri := geocentric(impact).unit()
	e := vec3{0, 0, 1}.cross(ri).unit()
	n := ri.cross(e)
	dir := n.scale(math.Cos(bearing)).axpy(math.Sin(bearing), e)
	a := dist / physics.RE
	up := ri.scale(math.Cos(a)).axpy(math.Sin(a), dir)
	east := vec3{0, 0, 1}.cross(up).unit()
	return &radar{
		pos:  up.scale(physics.RE).sub(vec3{0, 0, physics.RE}),
		east: east, north: up.cross(east), up: up,
		sR: 10 * scale, sAngle: 0.2e-3 * scale, sRdot: 0.5 * scale,
	}
}

// measure observes range, azimuth, elevation and range rate with noise and
// converts the position back to ENU.
func (d *radar) measure(r *rand.Rand, p, v vec3) (vec3, float64) {
	rel := p.sub(d.pos)
	rng := rel.norm()
	az := math.Atan2(rel.dot(d.east), rel.dot(d.north))
	el := math.Asin(rel.dot(d.up) / rng)
	rdot := rel.dot(v)/rng + d.sRdot*r.NormFloat64()
	rng += d.sR * r.NormFloat64()
	az += d.sAngle * r.NormFloat64()
	el += d.sAngle * r.NormFloat64()
	ce := math.Cos(el)
	obs := d.east.scale(ce*math.Sin(az)).axpy(ce*math.Cos(az), d.north).axpy(math.Sin(el), d.up).scale(rng)
	return d.pos.add(obs), rdot
}
