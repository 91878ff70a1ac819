package gbdt

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"strconv"
	"testing"
)

// BenchmarkFitCSV fits the first 80% of $RECKON_GBDT_CSV (gbdt_anchor.py
// make's format) with the anchor's budget, for profiling on real data.
func BenchmarkFitCSV(b *testing.B) {
	path := os.Getenv("RECKON_GBDT_CSV")
	if path == "" {
		b.Skip("set RECKON_GBDT_CSV to a gbdt_anchor.py make file")
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	F := len(rows[0]) - 1
	n := (len(rows) - 1) * 8 / 10
	d := &Data{Rows: n, Cols: F, X: make([]float64, n*F)}
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j <= F; j++ {
			v, err := strconv.ParseFloat(rows[i+1][j], 64)
			if err != nil {
				v = math.NaN()
			}
			if j == F {
				y[i] = v
			} else {
				d.X[i*F+j] = v
			}
		}
	}
	cfg := DefaultConfig()
	cfg.Trees, cfg.Threads, cfg.Bins, cfg.Subsample, cfg.ColSample = 200, 1, MaxBins, 1, 1
	if v, err := strconv.Atoi(os.Getenv("RECKON_GBDT_TREES")); err == nil {
		cfg.Trees = v
	}
	if v, err := strconv.Atoi(os.Getenv("RECKON_GBDT_THREADS")); err == nil {
		cfg.Threads = v
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Fit(context.Background(), d, y, nil, nil, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
