// Package examples embeds the example data shipped with reckon, so the demo
// works from any directory and from a bare binary.
package examples

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/reckon-ml/reckon/atomicfile"
)

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

// Files are all the examples as shipped: tumor/ (pipeline, table, folds,
// the table's licence), reentry/ and forecast/ (pipelines), regression/
// (pipeline, a generated table and its folds).
//
//go:embed tumor/README.md tumor/pipeline.yaml tumor/breast_cancer_wisconsin_clean.csv tumor/breast_cancer_folds.json reentry/pipeline.yaml forecast/pipeline.yaml regression/README.md regression/pipeline.yaml regression/friedman_region.csv regression/friedman_region_folds.json
var Files embed.FS

// Extract writes the examples under dir (dir/tumor/..., dir/reentry/...),
// so that their pipelines run from any directory with a bare binary. It
// refuses to replace a file that exists, before writing any, unless
// force; it returns the paths written.
func Extract(dir string, force bool) ([]string, error) {
	var names []string
	err := fs.WalkDir(Files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if !force {
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
				return nil, fmt.Errorf("%s exists; extract into another directory or pass --force to replace the examples", filepath.Join(dir, n))
			}
		}
	}
	var out []string
	for _, n := range names {
		b, err := Files.ReadFile(n)
		if err != nil {
			return out, err
		}
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return out, err
		}
		if err := atomicfile.Write(p, b); err != nil {
			return out, err
		}
		out = append(out, p)
	}
	return out, nil
}
