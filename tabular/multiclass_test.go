package tabular

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
)

// fourClasses is a generated four-class table (linear/testdata's
// multiclass.csv with named columns and classes).
func fourClasses(t *testing.T) (*Schema, *Frame) {
	t.Helper()
	fh, err := os.Open("testdata/four_classes.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	tb, _, err := dataset.ReadCSV("four_classes.csv", fh, dataset.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSchema(tb, "region", "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Encode(tb)
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// TestEveryKindOnFourClasses: every kind trains on a four-class table
// (logistic regression as a multinomial one), predicts well above chance
// on held-out rows, and its saved model predicts the same after loading.
func TestEveryKindOnFourClasses(t *testing.T) {
	s, f := fourClasses(t)
	split := dataset.StratifiedSplit(f.Y, 0.3, 1)
	train, test := f.Subset(split.Train), f.Subset(split.Test)
	for _, kind := range ClassificationKinds {
		spec := DefaultSpec(kind)
		spec.GBDT.Trees, spec.FCN.Epochs = 50, 30
		m, err := Train(context.Background(), spec, s, train, nil)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		p, err := m.Proba(test)
		if err != nil {
			t.Fatal(err)
		}
		K := len(s.Classes)
		correct := 0
		for i := 0; i < test.Rows; i++ {
			best := 0
			for k := 1; k < K; k++ {
				if p[i*K+k] > p[i*K+best] {
					best = k
				}
			}
			if best == test.Y[i] {
				correct++
			}
		}
		if acc := float64(correct) / float64(test.Rows); acc < 0.6 {
			t.Errorf("%s: held-out accuracy %.3f on four classes", kind, acc)
		}
		path := filepath.Join(t.TempDir(), kind+".reckon")
		if err := model.Save(path, m); err != nil {
			t.Fatal(err)
		}
		back, err := model.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := back.(*Model).Proba(test)
		if err != nil || !reflect.DeepEqual(p, p2) {
			t.Errorf("%s: the loaded model predicts differently (%v)", kind, err)
		}
	}
}
