// Package kinematics turns a raw track into its smoothed kinematics on a
// regular grid: positions, velocities and accelerations from
// Savitzky-Golay filters (gaps filled, outliers rejected), and from them
// the altitude and the drag deceleration along the velocity. The physics
// fit, the baseline and the LSTM's per-step features all start here.
package kinematics
