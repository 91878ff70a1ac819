// Package examples embeds the example data shipped with reckon, so the demo
// works from any directory and from a bare binary.
package examples

import _ "embed"

// TumorCSVName is the file name of the Breast Cancer Wisconsin example.
const TumorCSVName = "breast_cancer_wisconsin_clean.csv"

// TumorCSV is examples/tumor/breast_cancer_wisconsin_clean.csv (CC BY 4.0,
// see examples/tumor/README.md).
//
//go:embed tumor/breast_cancer_wisconsin_clean.csv
var TumorCSV []byte

// TumorFoldsName is the file name of the tumor protocol's folds.
const TumorFoldsName = "breast_cancer_folds.json"

// TumorFolds is examples/tumor/breast_cancer_folds.json: the 15 folds of
// RepeatedStratifiedKFold(5, 3, random_state=0) that shared/bench's
// tumor_anchor.py scores, so reckon is compared on identical rows.
//
//go:embed tumor/breast_cancer_folds.json
var TumorFolds []byte

// TumorPipeline is examples/tumor/pipeline.yaml.
//
//go:embed tumor/pipeline.yaml
var TumorPipeline []byte

// ReentryPipeline is examples/reentry/pipeline.yaml.
//
//go:embed reentry/pipeline.yaml
var ReentryPipeline []byte
