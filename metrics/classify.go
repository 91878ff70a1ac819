package metrics

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ClassScores are one class's figures in a classification report.
type ClassScores struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	// Specificity is the true-negative rate of the class taken as positive.
	Specificity float64 `json:"specificity"`
	Support     int     `json:"support"`
}

// Averages are the macro (unweighted) or support-weighted means of the
// per-class precision, recall and F1, as scikit-learn reports them.
type Averages struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Report is scikit-learn's classification_report (zero_division=0) plus the
// confusion matrix and per-class specificity.
type Report struct {
	Classes  []ClassScores `json:"classes"`
	Accuracy float64       `json:"accuracy"`
	Macro    Averages      `json:"macro_avg"`
	Weighted Averages      `json:"weighted_avg"`
	// Confusion[i][j] counts rows of true class i predicted as class j.
	Confusion [][]int `json:"confusion"`
}

// Class returns the scores of the class with this label, or nil.
func (r *Report) Class(label string) *ClassScores {
	for i := range r.Classes {
		if r.Classes[i].Label == label {
			return &r.Classes[i]
		}
	}
	return nil
}

// Classify builds the report for class indices into labels. A class that is
// never predicted has precision 0; one that never occurs has recall 0 (the
// zero_division=0 convention), so the report is defined for every input.
func Classify(labels []string, truth, pred []int) (*Report, error) {
	if len(truth) != len(pred) {
		return nil, fmt.Errorf("metrics: %d true labels but %d predictions", len(truth), len(pred))
	}
	if len(truth) == 0 {
		return nil, errors.New("metrics: no predictions to score")
	}
	k := len(labels)
	cm := make([][]int, k)
	for i := range cm {
		cm[i] = make([]int, k)
	}
	correct := 0
	for i := range truth {
		t, p := truth[i], pred[i]
		if t < 0 || t >= k || p < 0 || p >= k {
			return nil, fmt.Errorf("metrics: row %d: class index out of range [0,%d)", i, k)
		}
		cm[t][p]++
		if t == p {
			correct++
		}
	}
	n := len(truth)
	r := &Report{Confusion: cm, Accuracy: float64(correct) / float64(n)}
	for c := 0; c < k; c++ {
		tp := cm[c][c]
		support, predicted := 0, 0
		for j := 0; j < k; j++ {
			support += cm[c][j]
			predicted += cm[j][c]
		}
		fp, fn := predicted-tp, support-tp
		tn := n - tp - fp - fn
		s := ClassScores{Label: labels[c], Support: support,
			Precision: ratio(tp, predicted), Recall: ratio(tp, support), Specificity: ratio(tn, tn+fp)}
		// scikit-learn's F-score: 2PR/(P+R), 0 when both are 0.
		if d := s.Precision + s.Recall; d != 0 {
			s.F1 = 2 * s.Precision * s.Recall / d
		}
		r.Classes = append(r.Classes, s)
	}
	r.Macro.Support, r.Weighted.Support = n, n
	for _, s := range r.Classes {
		r.Macro.Precision += s.Precision
		r.Macro.Recall += s.Recall
		r.Macro.F1 += s.F1
		w := float64(s.Support)
		r.Weighted.Precision += w * s.Precision
		r.Weighted.Recall += w * s.Recall
		r.Weighted.F1 += w * s.F1
	}
	r.Macro.Precision /= float64(k)
	r.Macro.Recall /= float64(k)
	r.Macro.F1 /= float64(k)
	r.Weighted.Precision /= float64(n)
	r.Weighted.Recall /= float64(n)
	r.Weighted.F1 /= float64(n)
	return r, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Curve is a ROC or precision-recall curve: X[i], Y[i] at Threshold[i].
type Curve struct {
	X         []float64 `json:"x"`
	Y         []float64 `json:"y"`
	Threshold []float64 `json:"threshold"`
}

// ErrOneClass is returned by the ranking metrics when the truth holds only
// one class, where they are undefined.
var ErrOneClass = errors.New("metrics: only one class is present in the true labels; ROC AUC and average precision are undefined")

// counts at each distinct score, highest score first: the cumulative true
// and false positives when everything at or above it is called positive.
type cumCounts struct {
	thr    []float64
	tp, fp []float64
	P, N   float64
}

func cumulate(pos []bool, score []float64) (*cumCounts, error) {
	if len(pos) != len(score) {
		return nil, fmt.Errorf("metrics: %d labels but %d scores", len(pos), len(score))
	}
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
		if math.IsNaN(score[i]) {
			return nil, fmt.Errorf("metrics: score %d is NaN", i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	c := &cumCounts{}
	var tp, fp float64
	for j, i := range idx {
		if pos[i] {
			tp++
		} else {
			fp++
		}
		if j+1 < len(idx) && score[idx[j+1]] == score[i] {
			continue
		}
		c.thr = append(c.thr, score[i])
		c.tp = append(c.tp, tp)
		c.fp = append(c.fp, fp)
	}
	c.P, c.N = tp, fp
	if c.P == 0 || c.N == 0 {
		return c, ErrOneClass
	}
	return c, nil
}

// ROC is the receiver operating characteristic: X is the false-positive
// rate, Y the true-positive rate, starting at (0, 0) with threshold +Inf.
func ROC(pos []bool, score []float64) (Curve, error) {
	c, err := cumulate(pos, score)
	if err != nil {
		return Curve{}, err
	}
	cv := Curve{X: []float64{0}, Y: []float64{0}, Threshold: []float64{math.Inf(1)}}
	for i := range c.thr {
		cv.X = append(cv.X, c.fp[i]/c.N)
		cv.Y = append(cv.Y, c.tp[i]/c.P)
		cv.Threshold = append(cv.Threshold, c.thr[i])
	}
	return cv, nil
}

// ROCAUC is the area under the ROC curve by the trapezoid rule over distinct
// thresholds, which counts tied scores as half right (scikit-learn's
// roc_auc_score).
func ROCAUC(pos []bool, score []float64) (float64, error) {
	cv, err := ROC(pos, score)
	if err != nil {
		return math.NaN(), err
	}
	var a float64
	for i := 1; i < len(cv.X); i++ {
		a += (cv.X[i] - cv.X[i-1]) * (cv.Y[i] + cv.Y[i-1]) / 2
	}
	return a, nil
}

// PR is the precision-recall curve, X recall and Y precision, one point per
// distinct threshold from the highest score down.
func PR(pos []bool, score []float64) (Curve, error) {
	c, err := cumulate(pos, score)
	if err != nil {
		return Curve{}, err
	}
	var cv Curve
	for i := range c.thr {
		cv.X = append(cv.X, c.tp[i]/c.P)
		cv.Y = append(cv.Y, c.tp[i]/(c.tp[i]+c.fp[i]))
		cv.Threshold = append(cv.Threshold, c.thr[i])
	}
	return cv, nil
}

// AveragePrecision is Σ (R_n − R_{n−1}) P_n over distinct thresholds, the
// step-wise area scikit-learn's average_precision_score computes (no
// interpolation).
func AveragePrecision(pos []bool, score []float64) (float64, error) {
	cv, err := PR(pos, score)
	if err != nil {
		return math.NaN(), err
	}
	var ap, prev float64
	for i := range cv.X {
		ap += (cv.X[i] - prev) * cv.Y[i]
		prev = cv.X[i]
	}
	return ap, nil
}

// logLossEps is scikit-learn 1.2's clipping of probabilities in log_loss.
const logLossEps = 1e-15

// LogLoss is the mean binary cross-entropy of probabilities p of the
// positive class, clipped to [1e-15, 1−1e-15] as scikit-learn does.
func LogLoss(pos []bool, p []float64) float64 {
	var s float64
	for i := range p {
		q := math.Min(math.Max(p[i], logLossEps), 1-logLossEps)
		if pos[i] {
			s -= math.Log(q)
		} else {
			s -= math.Log(1 - q)
		}
	}
	return s / float64(len(p))
}

// Brier is the mean squared difference between p and the 0/1 truth.
func Brier(pos []bool, p []float64) float64 {
	var s float64
	for i := range p {
		d := p[i]
		if pos[i] {
			d = 1 - p[i]
		}
		s += d * d
	}
	return s / float64(len(p))
}

// ThresholdForRecall returns the highest score threshold t such that calling
// every score >= t positive reaches recall >= r on these rows, and the
// recall and precision it gives. The highest such threshold is the one with
// the fewest false positives.
func ThresholdForRecall(pos []bool, score []float64, r float64) (t, recall, precision float64, err error) {
	if r <= 0 || r > 1 {
		return 0, 0, 0, fmt.Errorf("metrics: recall target %v is not in (0, 1]", r)
	}
	c, err := cumulate(pos, score)
	if err != nil && c == nil {
		return 0, 0, 0, err
	}
	if c.P == 0 {
		return 0, 0, 0, errors.New("metrics: no positive rows to reach a recall target on")
	}
	for i := range c.thr {
		if rec := c.tp[i] / c.P; rec >= r {
			return c.thr[i], rec, c.tp[i] / (c.tp[i] + c.fp[i]), nil
		}
	}
	// Unreachable: the lowest threshold calls everything positive.
	return c.thr[len(c.thr)-1], 1, c.P / (c.P + c.N), nil
}
