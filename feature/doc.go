// Package feature turns raw measurements into model inputs. It starts with
// the smoothing every track feature builds on; the fitted pipelines that are
// saved inside models grow here.
package feature
