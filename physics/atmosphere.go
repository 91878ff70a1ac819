package physics

import "math"

// Physical constants of the spec (§1.2, §1.3).
const (
	Mu     = 3.986004418e14 // m^3/s^2, Earth's gravitational parameter
	RE     = 6371000.0      // m, reference sphere
	G0     = 9.80665        // m/s^2, standard gravity
	OmegaE = 7.2921150e-5   // rad/s, Earth's rotation rate
)

const (
	r0US76    = 6356766.0 // m, US-1976 effective Earth radius for geopotential altitude
	rGas      = 287.05287 // J/(kg K)
	tailBase  = 86000.0   // m, geometric altitude where the exponential tail starts
	tailScale = 5700.0    // m
	tailRho86 = 6.958e-6  // kg/m^3
	seaLevelT = 288.15
	seaLevelP = 101325.0
	numLayers = 7
	gOverR    = G0 / rGas
)

type layer struct {
	hb, lapse, tb, pb float64 // base geopotential altitude (m), K/m, K, Pa
	expo              float64 // -g0/(R L) for non-isothermal layers
}

var layers = func() [numLayers]layer {
	bases := [numLayers]float64{0, 11000, 20000, 32000, 47000, 51000, 71000}
	lapses := [numLayers]float64{-6.5e-3, 0, 1.0e-3, 2.8e-3, 0, -2.8e-3, -2.0e-3}
	var ls [numLayers]layer
	t, p := seaLevelT, seaLevelP
	for i := range ls {
		ls[i] = layer{hb: bases[i], lapse: lapses[i], tb: t, pb: p}
		if lapses[i] != 0 {
			ls[i].expo = -gOverR / lapses[i]
		}
		if i+1 < numLayers {
			dh := bases[i+1] - bases[i]
			t, p = ls[i].at(dh)
		}
	}
	return ls
}()

// at returns temperature and pressure dh metres (geopotential) above the base.
func (l *layer) at(dh float64) (t, p float64) {
	if l.lapse == 0 {
		return l.tb, l.pb * math.Exp(-gOverR*dh/l.tb)
	}
	t = l.tb + l.lapse*dh
	return t, l.pb * math.Pow(t/l.tb, l.expo)
}

// Density returns the air density in kg/m^3 at geometric altitude h (m):
// US Standard Atmosphere 1976 up to 86 km, an exponential tail above it.
// Below sea level the first layer is extended, which only matters for the
// last integration step before impact.
func Density(h float64) float64 {
	if h >= tailBase {
		return tailRho86 * math.Exp(-(h-tailBase)/tailScale)
	}
	hg := r0US76 * h / (r0US76 + h)
	i := numLayers - 1
	for i > 0 && hg < layers[i].hb {
		i--
	}
	l := &layers[i]
	t, p := l.at(hg - l.hb)
	return p / (rGas * t)
}
