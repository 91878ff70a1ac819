// Package reentry generates synthetic ballistic tracks with a reentry label,
// as specified in shared/design/reentry-spec.md.
//
// A track is one flight: an equivalent single-stage boost whose burn time is
// solved so that the ground range hits a drawn target, then a ballistic
// re-entry vehicle with drag in a US-1976 atmosphere, integrated with RK4 at
// h = 0.01 s and sampled every 0.5 s. The label is the first time after
// apogee at which the drag deceleration reaches threshold·g0; it always comes
// from the noise-free truth. The sensor model (cartesian or radar noise,
// dropouts, gaps, outliers) is applied afterwards from a separate random
// stream, so changing only sensor settings keeps every trajectory.
//
// Generation is a pure function of (Config, seed, track index): each track has
// its own random streams, so output is byte-identical whatever the number of
// workers, and a larger count reproduces every track of a smaller one.
package reentry
