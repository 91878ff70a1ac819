package chart

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestChartsWritePNG(t *testing.T) {
	dir := t.TempDir()
	pts := []Point{{Label: "a", X: 30e3, Y: 0.1}, {Label: "b", X: 40e3, Y: -0.2}, {Label: "c", X: 35e3, Y: 0.05}}
	files := map[string]func(string) error{
		"curves.png": func(p string) error {
			return Curves(p, "loss", "epoch", "loss", map[string][]float64{"train": {3, 2, 1.5}})
		},
		"bars.png":    func(p string) error { return Bars(p, "error per track", "s", pts) },
		"scatter.png": func(p string) error { return Scatter(p, "error vs altitude", "m", "s", pts) },
		"roc.png": func(p string) error {
			return Lines(p, "ROC", "fpr", "tpr", []Line{{Name: "gbdt", X: []float64{0, 0.1, 1}, Y: []float64{0, 0.9, 1}}}, true)
		},
		"confusion.png": func(p string) error {
			return Matrix(p, "confusion", []string{"benign", "malignant"}, [][]int{{70, 2}, {3, 39}})
		},
	}
	for name, draw := range files {
		p := filepath.Join(dir, name)
		if err := draw(p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s is not a PNG: %v", name, err)
		}
		if img.Bounds().Dx() < 500 {
			t.Errorf("%s: %d px wide", name, img.Bounds().Dx())
		}
	}
	if err := Bars(filepath.Join(dir, "x.svg"), "", "", pts); err == nil {
		t.Error("wrote a non-PNG")
	}
}
