// Package physics is the ballistic physics every part of reckon shares: the
// constants of reentry-spec.md §1, the US Standard Atmosphere 1976 density,
// altitude above the reference sphere in the launch-point ENU frame,
// point-mass gravity and drag deceleration. The generator (sim/reentry),
// the loader's unit checks (dataset), the features (kinematics, lstm), the
// physics fit and the baseline all call these, so they cannot disagree on
// what an altitude or a g is.
package physics
