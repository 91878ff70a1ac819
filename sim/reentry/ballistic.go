package reentry

import "github.com/reckon-ml/reckon/physics"

// State is a position and velocity in the launch-point ENU frame (m, m/s).
type State struct {
	P, V [3]float64
}

// BallisticStep advances s by one RK4 step of h seconds (negative to go
// back in time) under gravity and drag with ballistic coefficient beta,
// without thrust or Earth rotation: the generator's own re-entry dynamics,
// for estimators that fit a trajectory to a track.
func BallisticStep(s State, h, beta float64) State {
	f := flight{p: params{beta: beta}}
	n := f.step(0, state{p: s.P, v: s.V}, h, false)
	return State{P: n.p, V: n.v}
}

// Drag is the drag deceleration (m/s^2) of an object with ballistic
// coefficient beta in state s.
func Drag(s State, beta float64) float64 {
	v := vec3(s.V)
	return physics.Density(altitudeOf(s.P)) * v.dot(v) / (2 * beta)
}
