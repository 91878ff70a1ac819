// Package metrics scores predictions: regression errors with bootstrap
// confidence intervals, and classification reports, ranking curves and
// threshold selection that reproduce scikit-learn's figures (the fixtures in
// testdata/classify were recorded with shared/bench/metrics_oracle.py).
package metrics
