package physics

import "math"

// Geocentric turns a launch-point ENU position (origin on the sphere) into
// a vector from the Earth's centre.
func Geocentric(p [3]float64) [3]float64 { return [3]float64{p[0], p[1], p[2] + RE} }

// Altitude of an ENU position above the reference sphere:
// |(x, y, z + R_E)| - R_E.
func Altitude(x, y, z float64) float64 {
	return math.Sqrt(x*x+y*y+(z+RE)*(z+RE)) - RE
}

// Gravity is the point-mass acceleration of gravity (m/s^2) at ENU
// position p, -mu r/|r|^3 with r from the Earth's centre.
func Gravity(p [3]float64) [3]float64 {
	r := Geocentric(p)
	return GravityAt(r, math.Sqrt(r[0]*r[0]+r[1]*r[1]+r[2]*r[2]))
}

// GravityAt is Gravity for a geocentric r whose norm rn the caller already
// has (the generator's integrator needs rn for the density too).
func GravityAt(r [3]float64, rn float64) [3]float64 {
	s := -Mu / (rn * rn * rn)
	return [3]float64{r[0] * s, r[1] * s, r[2] * s}
}

// Drag is the drag deceleration (m/s^2) at air density rho (kg/m^3) and
// speed v (m/s) of an object with ballistic coefficient beta (kg/m^2):
// rho v^2 / (2 beta).
func Drag(rho, v, beta float64) float64 { return rho * v * v / (2 * beta) }
