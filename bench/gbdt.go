package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"time"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/gbdt"
	"github.com/reckon-ml/reckon/metrics"
)

// GBDTConfig mirrors gbdt_anchor.py train's flags.
type GBDTConfig struct {
	Label   string
	Threads int
	Trees   int
	Depth   int
	LR      float64
	Bins    int
	Reps    int
	Growth  gbdt.Growth
	L2      float64
}

// DefaultGBDTConfig is gbdt_anchor.py train's defaults with reckon's
// oblivious trees.
func DefaultGBDTConfig() GBDTConfig {
	return GBDTConfig{Label: "y", Threads: 1, Trees: 200, Depth: 6, LR: 0.1, Bins: 256, Reps: 3,
		Growth: gbdt.Oblivious, L2: gbdt.DefaultConfig().L2}
}

// GBDTResult has gbdt_anchor.py's JSON keys.
type GBDTResult struct {
	Model           string    `json:"model"`
	Threads         int       `json:"threads"`
	Rows            int       `json:"rows"`
	TrainRows       int       `json:"train_rows"`
	Trees           int       `json:"trees"`
	Depth           int       `json:"depth"`
	LR              float64   `json:"lr"`
	Bins            int       `json:"bins"`
	BinsUsed        int       `json:"bins_used"`
	Growth          string    `json:"growth"`
	L2              float64   `json:"l2"`
	MedianFitS      float64   `json:"median_fit_s"`
	FitS            []float64 `json:"fit_s"`
	PredictRowsPerS float64   `json:"predict_rows_per_s"`
	HoldoutAUC      float64   `json:"holdout_auc"`
	LoadCSVS        float64   `json:"load_csv_s"`
	Load1           float64   `json:"load1"`
}

// ReadGBDTCSV loads f0..fN,label as a dense matrix and 0/1 targets.
func ReadGBDTCSV(path, label string) (*gbdt.Data, []float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	t, _, err := dataset.ReadCSV(path, f, dataset.ReadOptions{Types: map[string]dataset.Type{label: dataset.Float}})
	if err != nil {
		return nil, nil, err
	}
	yc := t.Column(label)
	if yc == nil {
		return nil, nil, fmt.Errorf("%s: no label column %q (columns: %v)", path, label, t.Names())
	}
	n := t.Rows()
	d := &gbdt.Data{Rows: n, Cols: len(t.Columns) - 1}
	d.X = make([]float64, n*d.Cols)
	j := 0
	for ci := range t.Columns {
		c := &t.Columns[ci]
		if c == yc {
			continue
		}
		if c.Type == dataset.Categorical {
			return nil, nil, fmt.Errorf("%s: column %q is not numeric", path, c.Name)
		}
		for i := 0; i < n; i++ {
			if c.IsMissing(i) {
				d.X[i*d.Cols+j] = math.NaN()
			} else {
				d.X[i*d.Cols+j] = c.Float(i)
			}
		}
		j++
	}
	y := make([]float64, n)
	for i := range y {
		y[i] = yc.Float(i)
		if y[i] != 0 && y[i] != 1 {
			return nil, nil, fmt.Errorf("%s:%d: label %q is %v, want 0 or 1", path, t.Lines[i], label, y[i])
		}
	}
	return d, y, nil
}

// TrainGBDT runs gbdt_anchor.py train's protocol: first 80% of rows train,
// last 20% holdout, one untimed warm-up fit, then Reps timed fits and
// predictions over all rows.
func TrainGBDT(ctx context.Context, path string, c GBDTConfig, progress func(rep int, fitS float64)) (*GBDTResult, error) {
	t0 := time.Now()
	d, y, err := ReadGBDTCSV(path, c.Label)
	if err != nil {
		return nil, err
	}
	res := &GBDTResult{Model: "reckon_gbdt_" + string(c.Growth), Threads: c.Threads, Rows: d.Rows, Trees: c.Trees,
		Depth: c.Depth, LR: c.LR, Bins: c.Bins, BinsUsed: min(c.Bins, gbdt.MaxBins), Growth: string(c.Growth), L2: c.L2,
		LoadCSVS: time.Since(t0).Seconds()}
	ntr := int(float64(d.Rows) * 0.8)
	res.TrainRows = ntr
	train := &gbdt.Data{X: d.X[:ntr*d.Cols], Rows: ntr, Cols: d.Cols}
	cfg := gbdt.DefaultConfig()
	cfg.Trees, cfg.Depth, cfg.LearningRate, cfg.Bins = c.Trees, c.Depth, c.LR, res.BinsUsed
	// All rows for every tree, as XGBoost's defaults do.
	cfg.Threads, cfg.Growth, cfg.L2, cfg.Subsample, cfg.ColSample = c.Threads, c.Growth, c.L2, 1, 1
	if _, err := gbdt.Fit(ctx, train, y[:ntr], nil, nil, cfg, nil); err != nil {
		return nil, err
	}
	var preds []float64
	var p []float64
	for rep := 0; rep < c.Reps; rep++ {
		t0 := time.Now()
		m, err := gbdt.Fit(ctx, train, y[:ntr], nil, nil, cfg, nil)
		if err != nil {
			return nil, err
		}
		res.FitS = append(res.FitS, time.Since(t0).Seconds())
		t0 = time.Now()
		p, err = m.Proba(d, c.Threads)
		if err != nil {
			return nil, err
		}
		preds = append(preds, time.Since(t0).Seconds())
		if progress != nil {
			progress(rep+1, res.FitS[rep])
		}
	}
	res.MedianFitS = median(res.FitS)
	res.PredictRowsPerS = math.Round(float64(d.Rows) / median(preds))
	pos := make([]bool, d.Rows-ntr)
	score := make([]float64, d.Rows-ntr)
	for i := ntr; i < d.Rows; i++ {
		pos[i-ntr] = y[i] == 1
		score[i-ntr] = p[2*i+1]
	}
	if res.HoldoutAUC, err = metrics.ROCAUC(pos, score); err != nil {
		return nil, err
	}
	res.Load1 = load1()
	return res, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
