// Package compare picks a champion among models scored on the same folds,
// under an explicit policy, and says whether the differences behind the
// choice are real: paired per-fold differences with a bootstrap interval,
// and McNemar's test on the rows every model predicted once.
//
// The package is pure: it takes fold results and returns a decision; it
// trains nothing and reads nothing.
package compare

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/metrics"
)

// Fold is one model's result on one fold's test rows.
type Fold struct {
	Scores map[string]float64
	Rows   []int     // test row indices, shared across candidates
	Truth  []bool    // row is of the positive class (binary problems)
	Proba  []float64 // P(positive) per row; nil for multiclass
	// Correct says whether the model's decision on each row was right.
	Correct []bool
}

// Candidate is one model's results on every fold, folds in the same order
// for every candidate.
type Candidate struct {
	Name  string
	Folds []Fold
}

// LowerIsBetter reports the metrics where smaller wins: a classifier's
// losses and a regression's errors.
func LowerIsBetter(metric string) bool {
	switch metric {
	case "log_loss", "brier", "rmse", "mae", "mape", "max_error":
		return true
	}
	return false
}

// reported keeps the metrics every candidate reports on every fold.
func reported(cands []Candidate, ms ...string) []string {
	return slices.DeleteFunc(ms, func(m string) bool {
		for _, c := range cands {
			for _, f := range c.Folds {
				if _, ok := f.Scores[m]; !ok {
					return true
				}
			}
		}
		return false
	})
}

// Pair is the evidence for one difference between two candidates.
type Pair struct {
	Better string `json:"better"`
	Worse  string `json:"worse"`
	Metric string `json:"metric"`
	// Diff is mean(Better) − mean(Worse) over folds (sign flipped for
	// losses, so positive means Better is better), with a 95% bootstrap
	// interval of the paired per-fold differences.
	Diff        float64    `json:"diff"`
	CI          [2]float64 `json:"ci95"`
	Significant bool       `json:"significant"`
	// McNemar's test on the shared holdout: rows only Better got right, rows
	// only Worse got right, and the two-sided p-value.
	OnlyBetter int     `json:"only_better_correct"`
	OnlyWorse  int     `json:"only_worse_correct"`
	McNemarP   float64 `json:"mcnemar_p"`
	// NoMcNemar: the candidates make no right-or-wrong decisions (a
	// regression), so McNemar's test does not apply and its fields are 0.
	NoMcNemar bool `json:"no_mcnemar,omitempty"`
}

// Decision is a policy's verdict.
type Decision struct {
	Policy  string   `json:"policy"`
	Winner  string   `json:"winner"`
	Ranking []string `json:"ranking"`
	// Wins counts, per candidate, the metrics it is best at (wins policy);
	// Best lists the winners of each metric (several when tied).
	Wins map[string]int      `json:"wins,omitempty"`
	Best map[string][]string `json:"best,omitempty"`
	// Means are each candidate's mean score per metric.
	Means map[string]map[string]float64 `json:"means"`
	// Thresholds are the constraint policy's decision thresholds per
	// candidate (mean over folds) and what they give.
	Thresholds map[string]Threshold `json:"thresholds,omitempty"`
	Pairs      []Pair               `json:"pairs"`
	Reason     string               `json:"reason"`
}

// Threshold is a candidate's operating point under a recall constraint.
type Threshold struct {
	Threshold float64 `json:"threshold"`
	Recall    float64 `json:"recall"`
	Precision float64 `json:"precision"`
	Feasible  bool    `json:"feasible"`
}

// Policy decides among candidates.
type Policy interface {
	Name() string
	Decide(cands []Candidate) (*Decision, error)
	// Uses lists the metrics the policy reads, so that a misspelt one is
	// refused before anything is trained.
	Uses() []string
}

func check(cands []Candidate) error {
	if len(cands) < 2 {
		return errors.New("compare: need at least two candidates")
	}
	n := len(cands[0].Folds)
	if n == 0 {
		return errors.New("compare: no folds")
	}
	for _, c := range cands {
		if len(c.Folds) != n {
			return fmt.Errorf("compare: %s has %d folds, %s has %d: candidates must share folds", c.Name, len(c.Folds), cands[0].Name, n)
		}
		for i, f := range c.Folds {
			if !slices.Equal(f.Rows, cands[0].Folds[i].Rows) {
				return fmt.Errorf("compare: fold %d's test rows differ between %s and %s", i+1, c.Name, cands[0].Name)
			}
		}
	}
	return nil
}

func foldValues(c Candidate, metric string) ([]float64, error) {
	v := make([]float64, len(c.Folds))
	for i, f := range c.Folds {
		x, ok := f.Scores[metric]
		if !ok {
			return nil, fmt.Errorf("compare: %s has no %q on fold %d (have: %s)", c.Name, metric, i+1, strings.Join(slices.Sorted(maps.Keys(f.Scores)), ", "))
		}
		v[i] = x
	}
	return v, nil
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func means(cands []Candidate) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for _, c := range cands {
		out[c.Name] = map[string]float64{}
		for _, m := range slices.Sorted(maps.Keys(c.Folds[0].Scores)) {
			if v, err := foldValues(c, m); err == nil {
				out[c.Name][m] = mean(v)
			}
		}
	}
	return out
}

// tieTol treats means closer than this as tied: fold means of rates over
// a few hundred rows agree to far fewer digits than float64 keeps.
const tieTol = 1e-9

// Wins counts, for each metric, which candidate has the best mean (the
// original tumor work's method); ties give every tied candidate the win.
// The most wins takes it; equal counts go to the better TieBreak metric.
type Wins struct {
	Metrics  []string // nil: every metric all candidates report
	TieBreak string   // "" : roc_auc
}

func (Wins) Name() string { return "wins" }

func (p Wins) Uses() []string {
	out := slices.Clone(p.Metrics)
	if p.TieBreak != "" {
		out = append(out, p.TieBreak)
	}
	return out
}

func (p Wins) Decide(cands []Candidate) (*Decision, error) {
	if err := check(cands); err != nil {
		return nil, err
	}
	ms := p.Metrics
	if ms == nil {
		ms = slices.Sorted(maps.Keys(cands[0].Folds[0].Scores))
		ms = slices.DeleteFunc(ms, func(m string) bool {
			for _, c := range cands {
				if _, ok := c.Folds[0].Scores[m]; !ok {
					return true
				}
			}
			return false
		})
	}
	tb := p.TieBreak
	if tb == "" {
		tb = "roc_auc"
	}
	d := &Decision{Policy: "wins", Wins: map[string]int{}, Best: map[string][]string{}, Means: means(cands)}
	for _, m := range ms {
		best := math.Inf(-1)
		vals := map[string]float64{}
		for _, c := range cands {
			v, err := foldValues(c, m)
			if err != nil {
				return nil, err
			}
			x := mean(v)
			if LowerIsBetter(m) {
				x = -x
			}
			vals[c.Name] = x
			best = math.Max(best, x)
		}
		for _, c := range cands {
			if vals[c.Name] >= best-tieTol {
				d.Best[m] = append(d.Best[m], c.Name)
				d.Wins[c.Name]++
			}
		}
	}
	d.Ranking = rank(cands, func(a, b string) int {
		if d.Wins[a] != d.Wins[b] {
			return d.Wins[b] - d.Wins[a]
		}
		return better(d.Means[a][tb], d.Means[b][tb], tb)
	})
	d.Winner = d.Ranking[0]
	ties := 0
	for _, w := range d.Best {
		if len(w) > 1 {
			ties++
		}
	}
	var err error
	d.Pairs, err = pairs(cands, d.Winner, reported(cands, tb, "accuracy"))
	if err != nil {
		return nil, err
	}
	second := d.Ranking[1]
	d.Reason = fmt.Sprintf("%s wins %d of %d metrics (%s %d", d.Winner, d.Wins[d.Winner], len(ms), second, d.Wins[second])
	if ties > 0 {
		d.Reason += fmt.Sprintf("; %d tied", ties)
	}
	d.Reason += "). " + evidence(d.Pairs, second, tb)
	return d, nil
}

// better orders two means of metric: negative when a is better.
func better(a, b float64, metric string) int {
	if LowerIsBetter(metric) {
		a, b = -a, -b
	}
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

func rank(cands []Candidate, cmp func(a, b string) int) []string {
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = c.Name
	}
	slices.SortStableFunc(names, cmp)
	return names
}

// Primary ranks by one metric's mean, then by tie-breakers in order.
type Primary struct {
	Metric     string
	TieBreaker []string
}

func (Primary) Name() string { return "primary" }

func (p Primary) Uses() []string { return append([]string{p.Metric}, p.TieBreaker...) }

func (p Primary) Decide(cands []Candidate) (*Decision, error) {
	if err := check(cands); err != nil {
		return nil, err
	}
	d := &Decision{Policy: "primary", Means: means(cands)}
	keys := append([]string{p.Metric}, p.TieBreaker...)
	for _, k := range keys {
		for _, c := range cands {
			if _, err := foldValues(c, k); err != nil {
				return nil, err
			}
		}
	}
	d.Ranking = rank(cands, func(a, b string) int {
		for _, k := range keys {
			if math.Abs(d.Means[a][k]-d.Means[b][k]) > tieTol {
				return better(d.Means[a][k], d.Means[b][k], k)
			}
		}
		return 0
	})
	d.Winner = d.Ranking[0]
	var err error
	d.Pairs, err = pairs(cands, d.Winner, []string{p.Metric})
	if err != nil {
		return nil, err
	}
	second := d.Ranking[1]
	d.Reason = fmt.Sprintf("%s has the best mean %s (%.4f against %s's %.4f). %s", d.Winner, p.Metric,
		d.Means[d.Winner][p.Metric], second, d.Means[second][p.Metric], evidence(d.Pairs, second, p.Metric))
	return d, nil
}

// Constraint keeps the candidates whose Metric reaches Min and picks the
// best Maximize among them. When Metric is a recall, each candidate's
// decision threshold is first chosen to reach it: for every fold, the
// highest threshold reaching Min on the pooled predictions of the other
// folds of the same repeat (never on the fold itself), then scored on the
// fold.
type Constraint struct {
	Metric   string  // e.g. "recall[malignant]"
	Min      float64 // e.g. 0.97
	Maximize string  // e.g. "precision[malignant]"
}

func (Constraint) Name() string { return "constraint" }

func (p Constraint) Uses() []string { return []string{p.Metric, p.Maximize} }

// ParseConstraint reads "recall[malignant]>=0.97".
func ParseConstraint(s string) (metric string, min float64, err error) {
	i := strings.Index(s, ">=")
	if i < 0 {
		return "", 0, fmt.Errorf("constraint %q: want METRIC>=VALUE, e.g. recall[malignant]>=0.97", s)
	}
	metric = strings.TrimSpace(s[:i])
	min, err = strconv.ParseFloat(strings.TrimSpace(s[i+2:]), 64)
	if err != nil || metric == "" {
		return "", 0, fmt.Errorf("constraint %q: want METRIC>=VALUE, e.g. recall[malignant]>=0.97", s)
	}
	return metric, min, nil
}

func (p Constraint) Decide(cands []Candidate) (*Decision, error) {
	if err := check(cands); err != nil {
		return nil, err
	}
	d := &Decision{Policy: "constraint", Means: means(cands)}
	tuned := strings.HasPrefix(p.Metric, "recall[") && cands[0].Folds[0].Proba != nil
	if tuned {
		var err error
		cands, d.Thresholds, err = p.tune(cands)
		if err != nil {
			return nil, err
		}
		d.Means = means(cands)
	}
	feasible := func(name string) bool { return d.Means[name][p.Metric] >= p.Min-tieTol }
	for _, k := range []string{p.Metric, p.Maximize} {
		for _, c := range cands {
			if _, err := foldValues(c, k); err != nil {
				return nil, err
			}
		}
	}
	d.Ranking = rank(cands, func(a, b string) int {
		fa, fb := feasible(a), feasible(b)
		switch {
		case fa && !fb:
			return -1
		case fb && !fa:
			return 1
		case !fa: // neither: closest to the constraint first
			return better(d.Means[a][p.Metric], d.Means[b][p.Metric], p.Metric)
		}
		return better(d.Means[a][p.Maximize], d.Means[b][p.Maximize], p.Maximize)
	})
	d.Winner = d.Ranking[0]
	var err error
	d.Pairs, err = pairs(cands, d.Winner, []string{p.Maximize, p.Metric})
	if err != nil {
		return nil, err
	}
	w, second := d.Winner, d.Ranking[1]
	at := ""
	if tuned {
		at = fmt.Sprintf(" at threshold %.3f", d.Thresholds[w].Threshold)
	}
	if !feasible(w) {
		d.Reason = fmt.Sprintf("no model reaches %s >= %g; %s comes closest (%.4f%s). ", p.Metric, p.Min, w, d.Means[w][p.Metric], at)
	} else {
		n := 0
		for _, c := range cands {
			if feasible(c.Name) {
				n++
			}
		}
		d.Reason = fmt.Sprintf("%d of %d models reach %s >= %g; %s has the best %s among them (%.4f%s, %s %.4f). ", n, len(cands), p.Metric, p.Min,
			w, p.Maximize, d.Means[w][p.Maximize], at, second, d.Means[second][p.Maximize])
	}
	d.Reason += evidence(d.Pairs, second, p.Maximize)
	return d, nil
}

// repeats groups consecutive folds whose test rows together cover every
// row once (one repeat of k-fold cross-validation).
func repeats(folds []Fold) [][]int {
	all := map[int]bool{}
	for _, f := range folds {
		for _, r := range f.Rows {
			all[r] = true
		}
	}
	var out [][]int
	var cur []int
	seen := map[int]bool{}
	for i, f := range folds {
		cur = append(cur, i)
		for _, r := range f.Rows {
			seen[r] = true
		}
		if len(seen) == len(all) {
			out = append(out, cur)
			cur, seen = nil, map[int]bool{}
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func (p Constraint) tune(cands []Candidate) ([]Candidate, map[string]Threshold, error) {
	cls := strings.TrimSuffix(strings.TrimPrefix(p.Metric, "recall["), "]")
	precKey := "precision[" + cls + "]"
	out := make([]Candidate, len(cands))
	th := map[string]Threshold{}
	for ci, c := range cands {
		nc := Candidate{Name: c.Name, Folds: make([]Fold, len(c.Folds))}
		var t Threshold
		for _, group := range repeats(c.Folds) {
			for _, k := range group {
				var pos []bool
				var score []float64
				for _, j := range group {
					if j != k || len(group) == 1 {
						pos = append(pos, c.Folds[j].Truth...)
						score = append(score, c.Folds[j].Proba...)
					}
				}
				thr, _, _, err := metrics.ThresholdForRecall(pos, score, p.Min)
				if err != nil {
					return nil, nil, fmt.Errorf("compare: %s: %w", c.Name, err)
				}
				f := c.Folds[k]
				nf := Fold{Rows: f.Rows, Truth: f.Truth, Proba: f.Proba, Scores: map[string]float64{}, Correct: make([]bool, len(f.Rows))}
				for key, v := range f.Scores {
					nf.Scores[key] = v
				}
				var tp, fp, fn float64
				for i := range f.Rows {
					yes := f.Proba[i] >= thr
					nf.Correct[i] = yes == f.Truth[i]
					switch {
					case yes && f.Truth[i]:
						tp++
					case yes:
						fp++
					case f.Truth[i]:
						fn++
					}
				}
				nf.Scores[p.Metric] = ratio(tp, tp+fn)
				nf.Scores[precKey] = ratio(tp, tp+fp)
				nc.Folds[k] = nf
				t.Threshold += thr / float64(len(c.Folds))
			}
		}
		r, _ := foldValues(nc, p.Metric)
		pr, _ := foldValues(nc, precKey)
		t.Recall, t.Precision = mean(r), mean(pr)
		t.Feasible = t.Recall >= p.Min-tieTol
		th[c.Name] = t
		out[ci] = nc
	}
	return out, th, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// pairs compares the winner with every other candidate on each metric.
func pairs(cands []Candidate, winner string, ms []string) ([]Pair, error) {
	var w Candidate
	for _, c := range cands {
		if c.Name == winner {
			w = c
		}
	}
	var out []Pair
	for _, c := range cands {
		if c.Name == winner {
			continue
		}
		ob, ow, p := mcnemar(w, c)
		for _, m := range ms {
			a, err := foldValues(w, m)
			if err != nil {
				return nil, err
			}
			b, err := foldValues(c, m)
			if err != nil {
				return nil, err
			}
			diff := make([]float64, len(a))
			for i := range a {
				diff[i] = a[i] - b[i]
				if LowerIsBetter(m) {
					diff[i] = -diff[i]
				}
			}
			lo, hi := bootstrapCI(diff, 2000, 1)
			out = append(out, Pair{Better: winner, Worse: c.Name, Metric: m, Diff: mean(diff), CI: [2]float64{lo, hi},
				Significant: lo > 0 || hi < 0, OnlyBetter: ob, OnlyWorse: ow, McNemarP: p, NoMcNemar: w.Folds[0].Correct == nil})
		}
	}
	return out, nil
}

// bootstrapCI is the 95% percentile interval of the mean of v over
// resamples (seeded, so reports are reproducible). Folds of repeated
// cross-validation share training rows, so this interval is narrower than
// the truth; it still flags differences the folds do not support.
func bootstrapCI(v []float64, n int, seed uint64) (float64, float64) {
	r := rand.New(rand.NewPCG(seed, 0xb007))
	ms := make([]float64, n)
	for i := range ms {
		var s float64
		for range v {
			s += v[r.IntN(len(v))]
		}
		ms[i] = s / float64(len(v))
	}
	slices.Sort(ms)
	return metrics.Quantile(ms, 0.025), metrics.Quantile(ms, 0.975)
}

// mcnemar runs McNemar's test on the first repeat's rows (each row
// predicted once by each model): b rows only a got right, c only b.
// Exact two-sided binomial p-value.
func mcnemar(a, b Candidate) (int, int, float64) {
	var only1, only2 int
	for _, k := range repeats(a.Folds)[0] {
		fa, fb := a.Folds[k], b.Folds[k]
		for i := range fa.Correct {
			switch {
			case fa.Correct[i] && !fb.Correct[i]:
				only1++
			case fb.Correct[i] && !fa.Correct[i]:
				only2++
			}
		}
	}
	return only1, only2, binomTwoSided(only1, only2)
}

// binomTwoSided is the exact McNemar p-value: 2·P(X <= min(b, c)) for
// X ~ Binomial(b+c, 1/2), capped at 1.
func binomTwoSided(b, c int) float64 {
	n := b + c
	if n == 0 {
		return 1
	}
	k := min(b, c)
	var cdf float64
	for i := 0; i <= k; i++ {
		lg, _ := math.Lgamma(float64(n + 1))
		l1, _ := math.Lgamma(float64(i + 1))
		l2, _ := math.Lgamma(float64(n - i + 1))
		cdf += math.Exp(lg - l1 - l2 - float64(n)*math.Ln2)
	}
	return math.Min(1, 2*cdf)
}

// evidence is the one sentence on whether the winner's lead over the
// runner-up is real.
func evidence(ps []Pair, second, metric string) string {
	for _, p := range ps {
		if p.Worse != second || p.Metric != metric {
			continue
		}
		verdict := "is not significant"
		if p.Significant {
			verdict = "is significant"
		}
		mc := fmt.Sprintf("; McNemar on the shared holdout: %d vs %d rows only one model got right, p = %.2f.", p.OnlyBetter, p.OnlyWorse, p.McNemarP)
		if p.NoMcNemar {
			mc = "."
		}
		if p.Diff < 0 {
			return fmt.Sprintf("On %s itself %s is behind %s by %.4f (95%% CI %+.4f..%+.4f)%s",
				metric, p.Better, second, -p.Diff, p.CI[0], p.CI[1], mc)
		}
		return fmt.Sprintf("Its %s lead over %s (%+.4f, 95%% CI %+.4f..%+.4f) %s%s",
			metric, second, p.Diff, p.CI[0], p.CI[1], verdict, mc)
	}
	return ""
}

// Parse builds a policy from its CLI form.
func Parse(name, metric, constraint, maximize string) (Policy, error) {
	return ParseTask(name, metric, constraint, maximize, false)
}

// ParseTask is Parse for a classification or, with regression, for
// models of a numeric target: rmse is then the default metric and the
// tie-breaker, and the constraint policy, which tunes a classifier's
// threshold, is refused.
func ParseTask(name, metric, constraint, maximize string, regression bool) (Policy, error) {
	if regression {
		if metric == "" {
			metric = "rmse"
		}
		switch name {
		case "wins":
			return Wins{TieBreak: metric}, nil
		case "primary":
			return Primary{Metric: metric, TieBreaker: slices.DeleteFunc([]string{"rmse", "mae"}, func(m string) bool { return m == metric })}, nil
		case "constraint":
			return nil, errors.New("the constraint policy tunes a classifier's decision threshold; rank regression models with wins or primary (e.g. --policy primary --metric rmse)")
		}
		return nil, fmt.Errorf("unknown policy %q (wins, primary)", name)
	}
	switch name {
	case "wins":
		return Wins{TieBreak: metric}, nil
	case "primary":
		if metric == "" {
			metric = "roc_auc"
		}
		return Primary{Metric: metric, TieBreaker: []string{"accuracy", "log_loss"}}, nil
	case "constraint":
		m, v, err := ParseConstraint(constraint)
		if err != nil {
			return nil, err
		}
		if maximize == "" {
			return nil, errors.New("the constraint policy needs --maximize METRIC, e.g. precision[malignant]")
		}
		return Constraint{Metric: m, Min: v, Maximize: maximize}, nil
	}
	return nil, fmt.Errorf("unknown policy %q (wins, primary, constraint)", name)
}
