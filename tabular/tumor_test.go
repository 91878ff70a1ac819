package tabular

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
)

func tumor(t testing.TB) (*Schema, *Frame, []dataset.Fold) {
	t.Helper()
	tb, _, err := dataset.ReadCSV(examples.TumorCSVName, bytes.NewReader(examples.TumorCSV), dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSchema(tb, "diagnosis", "malignant")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Encode(tb)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open("../examples/tumor/breast_cancer_folds.json")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	ff, err := dataset.ReadFolds("breast_cancer_folds.json", fh, f.Rows)
	if err != nil {
		t.Fatal(err)
	}
	return s, f, ff.Folds
}

// TestCalibrationTumorTargets runs the targets on the 15 shared folds: the
// figures the anchors (tumor_anchor.py) reach on the same folds.
func TestCalibrationTumorTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("15 folds x 3 models")
	}
	s, f, folds := tumor(t)
	targets := map[string]map[string]float64{
		KindLogistic: {"roc_auc": 0.995, "accuracy": 0.975},
		KindGBDT:     {"roc_auc": 0.994, "accuracy": 0.965},
		KindFCN:      {"roc_auc": 0.994},
	}
	for _, kind := range ClassificationKinds {
		cv, err := CrossValidate(context.Background(), DefaultSpec(kind), s, f, folds, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-8s AUC %.4f ± %.4f  accuracy %.4f ± %.4f  recall[malignant] %.4f  precision[malignant] %.4f",
			kind, cv.Mean["roc_auc"], cv.SD["roc_auc"], cv.Mean["accuracy"], cv.SD["accuracy"], cv.Mean["recall[malignant]"], cv.Mean["precision[malignant]"])
		for k, min := range targets[kind] {
			if cv.Mean[k] < min {
				t.Errorf("%s: mean %s %.4f < target %.3f", kind, k, cv.Mean[k], min)
			}
		}
	}
}
