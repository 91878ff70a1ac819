package gbdt

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// synthetic makes n rows of F normal features with a noisy nonlinear 0/1
// target that depends on the first few.
func synthetic(n, F int, seed uint64) (*Data, []float64) {
	r := rand.New(rand.NewPCG(seed, 1))
	d := &Data{Rows: n, Cols: F, X: make([]float64, n*F)}
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		row := d.X[i*F : (i+1)*F]
		for f := range row {
			row[f] = r.NormFloat64()
		}
		z := row[0] + 0.8*row[1]*row[2] - math.Abs(row[3]) + 0.5*math.Sin(2*row[4]) + 0.4*r.NormFloat64()
		if z > -0.4 {
			y[i] = 1
		}
	}
	return d, y
}

func BenchmarkFit80k(b *testing.B) {
	d, y := synthetic(80_000, 30, 1)
	cfg := DefaultConfig()
	cfg.Trees, cfg.Threads = 50, 1
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Fit(context.Background(), d, y, nil, nil, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPredict(b *testing.B) {
	d, y := synthetic(80_000, 30, 1)
	cfg := DefaultConfig()
	cfg.Trees, cfg.Threads = 200, 1
	m, err := Fit(context.Background(), d, y, nil, nil, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Margins(d, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(d.Rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func TestBinMatchesSearch(t *testing.T) {
	b := borders{-2, -1, 0, 0.5, 3}
	for _, v := range []float64{-5, -2, -1.5, -1, 0, 0.2, 0.5, 1, 3, 4} {
		want := uint8(1)
		for _, x := range b {
			if x < v {
				want++
			}
		}
		if got := b.bin(v); got != want {
			t.Errorf("bin(%v) = %d, want %d", v, got, want)
		}
	}
	if got := b.bin(math.NaN()); got != 0 {
		t.Errorf("bin(NaN) = %d, want 0", got)
	}
}

// TestFastPredictMatchesTrees checks the packed oblivious predictor against
// walking each tree on the raw values, with missing values and values equal
// to thresholds.
func TestFastPredictMatchesTrees(t *testing.T) {
	d, y := synthetic(3000, 8, 2)
	for i := 0; i < len(d.X); i += 7 {
		d.X[i] = math.NaN()
	}
	cfg := DefaultConfig()
	cfg.Trees = 40
	m, err := Fit(context.Background(), d, y, nil, nil, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Put some values exactly on thresholds.
	for i, tr := range m.Trees[:20] {
		d.X[i*d.Cols+int(tr.Feature[0])] = tr.Threshold[0]
	}
	// Both lane widths: 8-bit lanes apply to this model (few thresholds,
	// depth 6); the 16-bit path is forced by turning them off.
	if !m.fast().narrow {
		t.Fatal("expected the narrow (8-bit) predictor for this model")
	}
	narrow, err := m.Margins(d, 2)
	if err != nil {
		t.Fatal(err)
	}
	m.fast().narrow = false
	got, err := m.Margins(d, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i] != narrow[i] {
			t.Fatalf("row %d: 16-bit lanes %v, 8-bit lanes %v", i, got[i], narrow[i])
		}
	}
	for i := 0; i < d.Rows; i++ {
		want := m.Base[0]
		for _, tr := range m.Trees {
			k := 0
			for l := range tr.Feature {
				k *= 2
				if d.X[i*d.Cols+int(tr.Feature[l])] > tr.Threshold[l] {
					k++
				}
			}
			want += tr.Leaf[k]
		}
		if math.Abs(got[i]-want) > 1e-12 {
			t.Fatalf("row %d: margin %v, tree walk %v", i, got[i], want)
		}
	}
}

func BenchmarkFitSmall(b *testing.B) {
	d, y := synthetic(455, 30, 1)
	cfg := DefaultConfig()
	cfg.Threads = 1
	for i := 0; i < b.N; i++ {
		if _, err := Fit(context.Background(), d, y, nil, nil, cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}
