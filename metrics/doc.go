// Package metrics scores predictions: regression errors with bootstrap
// confidence intervals now, classification reports later. Every metric is
// checked against an independent computation in the tests.
package metrics
