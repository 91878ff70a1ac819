package gbdt

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func fit(t *testing.T, d *Data, y []float64, valid *Data, yv []float64, cfg Config) *Model {
	t.Helper()
	m, err := Fit(context.Background(), d, y, valid, yv, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStumpIsBestSplit checks a depth-1 tree against a brute-force search:
// every threshold between distinct values, scored by the second-order gain
// at the base score, and the leaf values by their Newton steps.
func TestStumpIsBestSplit(t *testing.T) {
	d, y := synthetic(200, 5, 5) // fewer distinct values than bins: every threshold is a candidate
	cfg := DefaultConfig()
	cfg.Trees, cfg.Depth, cfg.LearningRate, cfg.L2, cfg.Subsample, cfg.ColSample = 1, 1, 1, 2, 1, 1
	for _, growth := range []Growth{Oblivious, Depthwise} {
		cfg.Growth = growth
		m := fit(t, d, y, nil, nil, cfg)
		p := 1 / (1 + math.Exp(-m.Base[0]))
		bestGain, bestF, bestThr := 0.0, -1, 0.0
		var bestL, bestR float64
		for f := 0; f < d.Cols; f++ {
			for i := 0; i < d.Rows; i++ {
				thr := d.X[i*d.Cols+f]
				var GL, HL, GR, HR float64
				for r := 0; r < d.Rows; r++ {
					g, h := p-y[r], p*(1-p)
					if d.X[r*d.Cols+f] <= thr {
						GL, HL = GL+g, HL+h
					} else {
						GR, HR = GR+g, HR+h
					}
				}
				gain := GL*GL/(HL+2) + GR*GR/(HR+2) - (GL+GR)*(GL+GR)/(HL+HR+2)
				if gain > bestGain+1e-9 {
					bestGain, bestF, bestThr = gain, f, thr
					bestL, bestR = -GL/(HL+2), -GR/(HR+2)
				}
			}
		}
		tr := m.Trees[0]
		if int(tr.Feature[0]) != bestF {
			t.Fatalf("%s: split on feature %d, brute force %d", growth, tr.Feature[0], bestF)
		}
		// The fitted threshold lies between bestThr and the next value up.
		next := math.Inf(1)
		for r := 0; r < d.Rows; r++ {
			if v := d.X[r*d.Cols+bestF]; v > bestThr && v < next {
				next = v
			}
		}
		if !(tr.Threshold[0] >= bestThr && tr.Threshold[0] < next) {
			t.Errorf("%s: threshold %v, want in [%v, %v)", growth, tr.Threshold[0], bestThr, next)
		}
		if math.Abs(tr.Leaf[0]-bestL) > 1e-6 || math.Abs(tr.Leaf[1]-bestR) > 1e-6 {
			t.Errorf("%s: leaves %v, want %v %v", growth, tr.Leaf, bestL, bestR)
		}
	}
}

func auc(score, y []float64) float64 {
	var good, pairs float64
	for i := range y {
		for j := range y {
			if y[i] == 1 && y[j] == 0 {
				pairs++
				if score[i] > score[j] {
					good++
				} else if score[i] == score[j] {
					good += 0.5
				}
			}
		}
	}
	return good / pairs
}

func TestLearnsAndGeneralises(t *testing.T) {
	d, y := synthetic(4000, 10, 7)
	te, yte := synthetic(1000, 10, 8)
	for _, growth := range []Growth{Oblivious, Depthwise} {
		cfg := DefaultConfig()
		cfg.Trees, cfg.Growth = 100, growth
		m := fit(t, d, y, nil, nil, cfg)
		if m.TrainLoss[len(m.TrainLoss)-1] > 0.35 {
			t.Errorf("%s: final training loss %v", growth, m.TrainLoss[len(m.TrainLoss)-1])
		}
		z, err := m.Margins(te, 1)
		if err != nil {
			t.Fatal(err)
		}
		if a := auc(z, yte); a < 0.9 {
			t.Errorf("%s: held-out AUC %.3f < 0.9", growth, a)
		}
		var top int
		for f := range m.Importance {
			if m.Importance[f] > m.Importance[top] {
				top = f
			}
		}
		if top > 4 {
			t.Errorf("%s: most important feature %d is noise (importance %v)", growth, top, m.Importance)
		}
	}
}

func TestDeterministicAcrossThreads(t *testing.T) {
	d, y := synthetic(5000, 9, 3)
	cfg := DefaultConfig()
	cfg.Trees, cfg.Subsample, cfg.ColSample, cfg.Seed = 20, 0.7, 0.6, 11
	cfg.Threads = 1
	a := fit(t, d, y, nil, nil, cfg)
	cfg.Threads = 3
	b := fit(t, d, y, nil, nil, cfg)
	if !reflect.DeepEqual(a.Trees, b.Trees) {
		t.Fatal("1 and 3 threads grew different trees")
	}
	cfg.Seed = 12
	c := fit(t, d, y, nil, nil, cfg)
	if reflect.DeepEqual(a.Trees, c.Trees) {
		t.Fatal("another seed grew the same trees despite subsampling")
	}
}

// TestLargeFitPaths grows trees on enough rows that the histograms, the
// partitions and the leaf sums take their multi-threaded paths, and the
// leaves of the rows come from the partition (all rows) or from routing
// (subsampled). Every thread count must grow the same trees, and the
// training loss Fit reports must be the loss of the model's own
// predictions, which a row sent to the wrong leaf would break.
func TestLargeFitPaths(t *testing.T) {
	d, y := synthetic(70_000, 9, 4)
	for _, c := range []struct {
		growth    Growth
		subsample float64
	}{{Oblivious, 1}, {Oblivious, 0.7}, {Depthwise, 1}, {Depthwise, 0.7}} {
		cfg := DefaultConfig()
		cfg.Trees, cfg.Growth, cfg.Subsample, cfg.ColSample = 4, c.growth, c.subsample, 1
		var first *Model
		for _, threads := range []int{1, 3} {
			cfg.Threads = threads
			m := fit(t, d, y, nil, nil, cfg)
			mg, err := m.Margins(d, 1)
			if err != nil {
				t.Fatal(err)
			}
			got, want := m.TrainLoss[len(m.TrainLoss)-1], lossOf(cfg, y, mg, 1)
			if math.Abs(got-want) > 1e-12 {
				t.Fatalf("%s, subsample %v, %d threads: training loss %v, loss of the model's predictions %v", c.growth, c.subsample, threads, got, want)
			}
			if first == nil {
				first = m
			} else if !reflect.DeepEqual(first.Trees, m.Trees) {
				t.Fatalf("%s, subsample %v: 1 and %d threads grew different trees", c.growth, c.subsample, threads)
			}
		}
	}
}

func TestEarlyStoppingKeepsBestPrefix(t *testing.T) {
	d, y := synthetic(600, 6, 1)
	v, yv := synthetic(600, 6, 2)
	cfg := DefaultConfig()
	cfg.Trees, cfg.LearningRate, cfg.EarlyStop = 400, 0.5, 10
	m := fit(t, d, y, v, yv, cfg)
	if len(m.ValidLoss) == 400 {
		t.Fatal("never stopped")
	}
	best := 0
	for i, l := range m.ValidLoss {
		if l < m.ValidLoss[best] {
			best = i
		}
	}
	if m.BestTrees != best+1 || len(m.Trees) != best+1 {
		t.Fatalf("kept %d trees (best_trees %d), best validation loss after %d", len(m.Trees), m.BestTrees, best+1)
	}
	if len(m.ValidLoss) != best+1+cfg.EarlyStop {
		t.Errorf("ran %d rounds, want best %d + patience %d", len(m.ValidLoss), best+1, cfg.EarlyStop)
	}
}

func TestMulticlassAndRMSE(t *testing.T) {
	d, _ := synthetic(3000, 5, 4)
	yc := make([]float64, d.Rows)
	yr := make([]float64, d.Rows)
	for i := 0; i < d.Rows; i++ {
		x := d.X[i*d.Cols : (i+1)*d.Cols]
		switch {
		case x[0] < -0.5:
			yc[i] = 0
		case x[1] > 0:
			yc[i] = 1
		default:
			yc[i] = 2
		}
		yr[i] = 2*x[0] + x[1]*x[1]
	}
	cfg := DefaultConfig()
	cfg.Loss, cfg.Classes, cfg.Trees = Multiclass, 3, 60
	m := fit(t, d, yc, nil, nil, cfg)
	p, err := m.Proba(d, 1)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i := 0; i < d.Rows; i++ {
		row := p[i*3 : i*3+3]
		if s := row[0] + row[1] + row[2]; math.Abs(s-1) > 1e-12 {
			t.Fatalf("row %d: probabilities sum to %v", i, s)
		}
		arg := 0
		for k := range row {
			if row[k] > row[arg] {
				arg = k
			}
		}
		if float64(arg) == yc[i] {
			correct++
		}
	}
	if acc := float64(correct) / float64(d.Rows); acc < 0.97 {
		t.Errorf("multiclass training accuracy %.3f", acc)
	}
	cfg = DefaultConfig()
	cfg.Loss, cfg.Trees = RMSE, 200
	r := fit(t, d, yr, nil, nil, cfg)
	if l := r.TrainLoss[len(r.TrainLoss)-1]; l > 0.15 {
		t.Errorf("rmse training loss %v", l)
	}
}

// TestOrderedTargetStatistics: a row's encoding uses only the rows before
// it in the permutation, so an ID-like category (one row each) carries no
// label information, and the trees must not split on it.
func TestOrderedTargetStatistics(t *testing.T) {
	n := 2000
	d := &Data{Rows: n, Cols: 2, X: make([]float64, 2*n), Categorical: []bool{true, true}}
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		grp := float64(i % 4)
		d.X[2*i] = float64(i) // unique per row: would leak the label if its own row counted
		d.X[2*i+1] = grp
		if grp >= 2 {
			y[i] = 1
		}
		if i%10 == 0 {
			y[i] = 1 - y[i]
		}
	}
	cfg := DefaultConfig()
	cfg.Trees = 30
	m := fit(t, d, y, nil, nil, cfg)
	if m.Importance[0] > 0.05 {
		t.Errorf("the per-row id column got importance %v: its own label leaked", m.Importance[0])
	}
	if m.Importance[1] < 0.9 {
		t.Errorf("the informative category got importance %v", m.Importance[1])
	}
	// Prediction uses all training rows' statistics; an unseen category
	// gets the prior.
	z, err := m.Margins(&Data{Rows: 2, Cols: 2, X: []float64{1e9, 3, 1e9, 0}, Categorical: d.Categorical}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !(z[0] > 0 && z[1] < 0) {
		t.Errorf("margins for categories 3 and 0: %v", z)
	}
}

func TestRejectsBadInput(t *testing.T) {
	d, y := synthetic(50, 5, 1)
	bad := append([]float64(nil), y...)
	bad[3] = 2
	// Each refusal names what is wrong (the row, the setting), not any error.
	if _, err := Fit(context.Background(), d, bad, nil, nil, DefaultConfig(), nil); err == nil || !strings.Contains(err.Error(), "row 3 is 2") {
		t.Errorf("logloss with a target of 2: %v", err)
	}
	cfg := DefaultConfig()
	cfg.Depth = 0
	if _, err := Fit(context.Background(), d, y, nil, nil, cfg, nil); err == nil || !strings.Contains(err.Error(), "depth must be in [1, 12], got 0") {
		t.Errorf("depth 0: %v", err)
	}
	if _, err := Fit(context.Background(), d, y[:10], nil, nil, DefaultConfig(), nil); err == nil || !strings.Contains(err.Error(), "10 targets for 50 rows") {
		t.Errorf("short targets: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, d, y, nil, nil, DefaultConfig(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v, want context.Canceled", err)
	}
}

// TestTrainingMarginsMatchPrediction: the margins Fit accumulates (leaves
// assigned from the partition or by routing binned rows) give the same
// loss as predicting the training rows from raw values.
func TestTrainingMarginsMatchPrediction(t *testing.T) {
	d, y := synthetic(3000, 6, 9)
	for _, sub := range []float64{1, 0.7} {
		for _, growth := range []Growth{Oblivious, Depthwise} {
			cfg := DefaultConfig()
			cfg.Trees, cfg.Subsample, cfg.Growth = 25, sub, growth
			m := fit(t, d, y, nil, nil, cfg)
			z, err := m.Margins(d, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := lossOf(cfg, y, z, 1), m.TrainLoss[len(m.TrainLoss)-1]; math.Abs(got-want) > 1e-12 {
				t.Errorf("%s subsample %v: predicted training loss %v, Fit's %v", growth, sub, got, want)
			}
		}
	}
}

// TestClassWeightsRaiseRecall: weighting the rare class up moves its
// predicted probabilities up, so recall at 0.5 rises.
func TestClassWeightsRaiseRecall(t *testing.T) {
	d, y := synthetic(3000, 6, 12)
	// Make class 1 rare: drop most positives by relabelling.
	for i := range y {
		if y[i] == 1 && i%3 != 0 {
			y[i] = 0
		}
	}
	recall := func(m *Model) float64 {
		z, _ := m.Margins(d, 1)
		var tp, p float64
		for i, v := range y {
			if v == 1 {
				p++
				if z[i] > 0 {
					tp++
				}
			}
		}
		return tp / p
	}
	cfg := DefaultConfig()
	cfg.Trees = 40
	plain := fit(t, d, y, nil, nil, cfg)
	cfg.ClassWeights = []float64{1, 5}
	weighted := fit(t, d, y, nil, nil, cfg)
	if r0, r1 := recall(plain), recall(weighted); !(r1 > r0+0.05) {
		t.Errorf("recall %.3f unweighted, %.3f with weight 5 on the rare class", r0, r1)
	}
	cfg.ClassWeights = []float64{1}
	if _, err := Fit(context.Background(), d, y, nil, nil, cfg, nil); err == nil {
		t.Error("one class weight for two classes accepted")
	}
}

// TestRefusesTooWide: a table whose histograms would not fit the budget is
// refused before any is allocated (issue 12: 100,000 columns grew past
// 4 GB), with the reason and what to do.
func TestRefusesTooWide(t *testing.T) {
	d, y := synthetic(20, 100000, 1)
	_, err := Fit(context.Background(), d, y, nil, nil, DefaultConfig(), nil)
	if err == nil || !strings.Contains(err.Error(), "100000 columns at depth 6") || !strings.Contains(err.Error(), "GiB") {
		t.Errorf("100,000 columns: %v", err)
	}
	// The budget admits the reference workloads many times over.
	if need := HistogramBytes(30, 6, 8); need > MaxHistogramBytes/100 {
		t.Errorf("30 columns would need %d bytes", need)
	}
}

// TestHuberResistsOutliers: with 5% of the targets thrown far off, the
// Huber loss fits the clean function more closely than squared error; it
// starts from the median and its threshold is the 90th percentile of the
// absolute residuals (checked against a sort).
func TestHuberResistsOutliers(t *testing.T) {
	d, _ := synthetic(3000, 5, 8)
	clean := make([]float64, d.Rows)
	y := make([]float64, d.Rows)
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < d.Rows; i++ {
		x := d.X[i*d.Cols : (i+1)*d.Cols]
		clean[i] = 2*x[0] + x[1]*x[1]
		y[i] = clean[i] + 0.1*r.NormFloat64()
		if r.Float64() < 0.05 {
			y[i] += 40 + 20*r.Float64()
		}
	}
	errTo := func(loss Loss) float64 {
		cfg := DefaultConfig()
		cfg.Loss, cfg.Trees = loss, 200
		m := fit(t, d, y, nil, nil, cfg)
		p, err := m.Proba(d, 1)
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i, v := range p {
			s += (v - clean[i]) * (v - clean[i])
		}
		return math.Sqrt(s / float64(len(p)))
	}
	sq, hu := errTo(RMSE), errTo(Huber)
	t.Logf("RMSE to the clean function: squared error %.3f, Huber %.3f", sq, hu)
	if !(hu < sq/2) {
		t.Errorf("Huber %.3f is not well below squared error's %.3f on outliers", hu, sq)
	}
	cfg := DefaultConfig()
	cfg.Loss = Huber
	if b := baseScore(cfg, []float64{5, 1, 100, 2, 3}); b[0] != 3 {
		t.Errorf("Huber base score %v, want the median 3", b)
	}
	margin := make([]float64, len(y))
	res := make([]float64, len(y))
	for i, v := range y {
		res[i] = math.Abs(v)
	}
	slices.Sort(res)
	if got, want := huberDelta(y, margin, make([]float64, len(y))), res[int(math.Floor(0.9*float64(len(y)-1)))]; got != want {
		t.Errorf("Huber threshold %g, want %g", got, want)
	}
}
