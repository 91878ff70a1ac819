package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Regression summarises errors e_i = prediction_i - truth_i.
type Regression struct {
	N         int        `json:"n"`
	RMSE      float64    `json:"rmse"`
	MAE       float64    `json:"mae"`
	Bias      float64    `json:"bias"` // mean error: positive means late / too high
	MaxAbs    float64    `json:"max_abs_error"`
	RMSECI95  [2]float64 `json:"rmse_ci95"` // percentile bootstrap over the items
	Bootstrap int        `json:"bootstrap_resamples"`
}

// RMSE is sqrt(mean(e^2)).
func RMSE(errs []float64) float64 {
	var s float64
	for _, e := range errs {
		s += e * e
	}
	return math.Sqrt(s / float64(len(errs)))
}

// Regress computes the summary of errs with a 95% percentile-bootstrap
// interval for the RMSE from resamples draws (items resampled with
// replacement, seeded), so a small validation set's RMSE comes with how
// much it could move.
func Regress(errs []float64, resamples int, seed uint64) (Regression, error) {
	n := len(errs)
	if n == 0 {
		return Regression{}, fmt.Errorf("metrics: no errors to summarise")
	}
	r := Regression{N: n, Bootstrap: resamples, RMSE: RMSE(errs)}
	for _, e := range errs {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return Regression{}, fmt.Errorf("metrics: non-finite error %g", e)
		}
		r.MAE += math.Abs(e)
		r.Bias += e
		r.MaxAbs = math.Max(r.MaxAbs, math.Abs(e))
	}
	r.MAE /= float64(n)
	r.Bias /= float64(n)
	if resamples > 0 {
		rng := rand.New(rand.NewPCG(seed, 0xb007))
		stats := make([]float64, resamples)
		for b := range stats {
			var s float64
			for range n {
				e := errs[rng.IntN(n)]
				s += e * e
			}
			stats[b] = math.Sqrt(s / float64(n))
		}
		slices.Sort(stats)
		r.RMSECI95 = [2]float64{Quantile(stats, 0.025), Quantile(stats, 0.975)}
	}
	return r, nil
}

// Quantile of sorted values with linear interpolation between order
// statistics (numpy's default "linear" method).
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// MeanSD returns the mean and the sample standard deviation (n−1; 0 for
// fewer than two values), in two passes for accuracy.
func MeanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)-1))
}

// RegressionScores are a regression's figures under scikit-learn's names
// and definitions: rmse, mae, r2 (1 − SS_res/SS_tot; 1 for a perfect fit
// of a constant target, else 0 there, sklearn's force_finite), mape (mean
// |y − ŷ| / max(|y|, machine epsilon), a fraction, not percent) and
// max_error.
func RegressionScores(truth, pred []float64) (map[string]float64, error) {
	if len(truth) == 0 || len(truth) != len(pred) {
		return nil, fmt.Errorf("metrics: %d truths for %d predictions", len(truth), len(pred))
	}
	n := float64(len(truth))
	var mean float64
	for i, y := range truth {
		if math.IsNaN(y) || math.IsInf(y, 0) || math.IsNaN(pred[i]) || math.IsInf(pred[i], 0) {
			return nil, fmt.Errorf("metrics: row %d: non-finite truth %g or prediction %g", i, y, pred[i])
		}
		mean += y
	}
	mean /= n
	var ss, st, ae, ape, mx float64
	const eps = 2.220446049250313e-16 // numpy.finfo(float64).eps
	for i, y := range truth {
		d := y - pred[i]
		ss += d * d
		st += (y - mean) * (y - mean)
		ae += math.Abs(d)
		ape += math.Abs(d) / math.Max(math.Abs(y), eps)
		mx = math.Max(mx, math.Abs(d))
	}
	r2 := 1 - ss/st
	if st == 0 {
		r2 = 0
		if ss == 0 {
			r2 = 1
		}
	}
	return map[string]float64{"rmse": math.Sqrt(ss / n), "mae": ae / n, "r2": r2, "mape": ape / n, "max_error": mx}, nil
}

// RegressionNames are the names RegressionScores reports, sorted.
var RegressionNames = []string{"mae", "mape", "max_error", "r2", "rmse"}
