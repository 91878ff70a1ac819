// Package bench holds reckon's side of the speed comparisons with the
// Python anchors in shared/bench: the same data files, the same model
// shapes and the same JSON keys, so one run can put both figures side by side.
package bench
