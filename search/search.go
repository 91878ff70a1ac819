// Package search tunes hyperparameters: random search and successive
// halving over a declared space, each candidate scored by a caller-supplied
// evaluation (cross-validation in reckon). It is seeded and knows nothing
// about models.
package search

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Kind is how a parameter is drawn.
type Kind string

// Parameter kinds.
const (
	Uniform    Kind = "uniform"     // float in [Min, Max]
	LogUniform Kind = "log-uniform" // float, log-uniform in [Min, Max]
	IntRange   Kind = "int"         // integer in [Min, Max]
	Choice     Kind = "choice"      // one of Choices
)

// Param declares one searched hyperparameter.
type Param struct {
	Name     string   `json:"name"`
	Kind     Kind     `json:"kind"`
	Min      float64  `json:"min,omitempty"`
	Max      float64  `json:"max,omitempty"`
	Choices  []string `json:"choices,omitempty"`
	Describe string   `json:"-"`
}

// Space is the declared search space.
type Space []Param

// Point is one drawn configuration: values are float64, int or string.
type Point map[string]any

// String prints a point as name=value pairs in name order.
func (p Point) String() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		switch v := p[k].(type) {
		case float64:
			parts[i] = k + "=" + strconv.FormatFloat(v, 'g', 4, 64)
		default:
			parts[i] = fmt.Sprintf("%s=%v", k, v)
		}
	}
	return strings.Join(parts, " ")
}

// Validate checks the declarations.
func (s Space) Validate() error {
	for _, p := range s {
		switch p.Kind {
		case Uniform, IntRange:
			if !(p.Min <= p.Max) {
				return fmt.Errorf("search: %s: min %v > max %v", p.Name, p.Min, p.Max)
			}
		case LogUniform:
			if !(p.Min > 0 && p.Min <= p.Max) {
				return fmt.Errorf("search: %s: log-uniform needs 0 < min <= max, got [%v, %v]", p.Name, p.Min, p.Max)
			}
		case Choice:
			if len(p.Choices) == 0 {
				return fmt.Errorf("search: %s: no choices", p.Name)
			}
		default:
			return fmt.Errorf("search: %s: unknown kind %q", p.Name, p.Kind)
		}
	}
	return nil
}

// Sample draws n points, seeded.
func (s Space) Sample(n int, seed uint64) []Point {
	r := rand.New(rand.NewPCG(seed, 0x5ea4c4))
	out := make([]Point, n)
	for i := range out {
		p := Point{}
		for _, d := range s {
			switch d.Kind {
			case Uniform:
				p[d.Name] = d.Min + r.Float64()*(d.Max-d.Min)
			case LogUniform:
				p[d.Name] = math.Exp(math.Log(d.Min) + r.Float64()*(math.Log(d.Max)-math.Log(d.Min)))
			case IntRange:
				p[d.Name] = int(d.Min) + r.IntN(int(d.Max)-int(d.Min)+1)
			case Choice:
				p[d.Name] = d.Choices[r.IntN(len(d.Choices))]
			}
		}
		out[i] = p
	}
	return out
}

// Eval scores a point using the first `budget` units of evaluation (folds
// in reckon); higher is better.
type Eval func(ctx context.Context, p Point, budget int) (float64, error)

// Result is one point's outcome.
type Result struct {
	Rank   int     `json:"rank"`
	Point  Point   `json:"params"`
	Score  float64 `json:"score"`
	Budget int     `json:"budget"` // units it was last scored on
	// Rung is how far it got in successive halving (0 for random search).
	Rung int `json:"rung"`
}

// Progress is called after each evaluation.
type Progress func(done, total int, r Result)

// Random scores every point on the full budget.
func Random(ctx context.Context, pts []Point, budget int, eval Eval, progress Progress) ([]Result, error) {
	res := make([]Result, 0, len(pts))
	for i, p := range pts {
		s, err := eval(ctx, p, budget)
		if err != nil {
			return nil, fmt.Errorf("search: %s: %w", p, err)
		}
		res = append(res, Result{Point: p, Score: s, Budget: budget})
		if progress != nil {
			progress(i+1, len(pts), res[i])
		}
	}
	return ranked(res), nil
}

// Halving is successive halving: every point is scored on minBudget units,
// the best 1/eta go on with eta times the budget, until one rung uses the
// full budget. Scores of points dropped early stay in the table with the
// budget they were scored on.
func Halving(ctx context.Context, pts []Point, minBudget, maxBudget, eta int, eval Eval, progress Progress) ([]Result, error) {
	if eta < 2 || minBudget < 1 || maxBudget < minBudget {
		return nil, fmt.Errorf("search: halving needs eta >= 2 and 1 <= min budget <= max budget (got %d, %d, %d)", eta, minBudget, maxBudget)
	}
	alive := make([]Result, len(pts))
	for i, p := range pts {
		alive[i] = Result{Point: p}
	}
	var done []Result
	total, count := 0, 0
	for n, b := len(pts), minBudget; ; n, b = max(1, n/eta), min(maxBudget, b*eta) {
		total += n
		if b == maxBudget || n == 1 {
			break
		}
	}
	budget := minBudget
	for rung := 0; ; rung++ {
		for i := range alive {
			s, err := eval(ctx, alive[i].Point, budget)
			if err != nil {
				return nil, fmt.Errorf("search: %s: %w", alive[i].Point, err)
			}
			alive[i].Score, alive[i].Budget, alive[i].Rung = s, budget, rung
			count++
			if progress != nil {
				progress(count, total, alive[i])
			}
		}
		alive = ranked(alive)
		if budget == maxBudget || len(alive) == 1 {
			break
		}
		keep := max(1, len(alive)/eta)
		done = append(done, alive[keep:]...)
		alive = alive[:keep]
		budget = min(maxBudget, budget*eta)
	}
	// Survivors first, then by rung reached, then score.
	all := append(alive, done...)
	slices.SortStableFunc(all, func(a, b Result) int {
		if a.Rung != b.Rung {
			return b.Rung - a.Rung
		}
		return byScore(a, b)
	})
	for i := range all {
		all[i].Rank = i + 1
	}
	return all, nil
}

// byScore orders higher scores first.
func byScore(a, b Result) int {
	switch {
	case a.Score > b.Score:
		return -1
	case a.Score < b.Score:
		return 1
	}
	return 0
}

func ranked(r []Result) []Result {
	slices.SortStableFunc(r, byScore)
	for i := range r {
		r[i].Rank = i + 1
	}
	return r
}
