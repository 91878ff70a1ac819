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
