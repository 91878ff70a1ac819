// Package registry is the model registry as every front end uses it: one
// parser of model references (NAME, NAME@alias, NAME:VERSION), one
// resolver against the tracking store, and one way to load a model's
// artifact from the blob store (or a file) and to save one there.
//
// The CLI, the pipeline runner, the scheduler's workers and the server all
// go through these functions, so a reference means the same thing
// everywhere and a damaged blob is refused the same way everywhere.
package registry
