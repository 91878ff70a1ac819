// Package model defines what a trained model is to the rest of reckon: the
// Model interface, the one-file artifact format and the registry of model
// kinds.
//
// An artifact is a small text preamble, a JSON header (format version, kind,
// hyperparameters, fitted feature pipeline, input schema, training data
// hash, seed, metrics, tensor table), the float32 tensors, and a sha256 of
// everything before it. Readers refuse truncated, corrupted and newer-format
// files with a message saying which. Nothing in a file depends on the clock
// or on map order, so the same data, configuration and seed give the same
// bytes.
//
// Model kinds register a loader under their name (Register); Load reads any
// artifact and hands it to its kind. Kinds live in their own packages
// (baseline, and later lstm, gbdt, linear, fcn) and import this one.
package model
