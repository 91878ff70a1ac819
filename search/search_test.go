package search

import (
	"context"
	"math"
	"reflect"
	"testing"
)

var space = Space{
	{Name: "lr", Kind: LogUniform, Min: 1e-3, Max: 1},
	{Name: "depth", Kind: IntRange, Min: 2, Max: 8},
	{Name: "frac", Kind: Uniform, Min: 0.5, Max: 1},
	{Name: "growth", Kind: Choice, Choices: []string{"a", "b"}},
}

func TestSampleInRangeAndSeeded(t *testing.T) {
	if err := space.Validate(); err != nil {
		t.Fatal(err)
	}
	a, b := space.Sample(200, 3), space.Sample(200, 3)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different points")
	}
	var logs float64
	for _, p := range a {
		lr, d, f, g := p["lr"].(float64), p["depth"].(int), p["frac"].(float64), p["growth"].(string)
		if lr < 1e-3 || lr > 1 || d < 2 || d > 8 || f < 0.5 || f > 1 || (g != "a" && g != "b") {
			t.Fatalf("out of range: %v", p)
		}
		logs += math.Log10(lr)
	}
	// Log-uniform on [1e-3, 1]: mean log10 is -1.5.
	if m := logs / 200; math.Abs(m+1.5) > 0.15 {
		t.Errorf("mean log10(lr) = %.2f, want about -1.5", m)
	}
	if err := (Space{{Name: "x", Kind: LogUniform, Min: 0, Max: 1}}).Validate(); err == nil {
		t.Error("log-uniform from 0 accepted")
	}
}

// score peaks at lr = 0.1, depth 5; more budget removes noise that favours
// nothing in particular.
func score(_ context.Context, p Point, budget int) (float64, error) {
	lr, d := p["lr"].(float64), float64(p["depth"].(int))
	return -math.Abs(math.Log10(lr)+1) - 0.1*math.Abs(d-5) - 0.5/float64(budget), nil
}

func TestRandomRanksByScore(t *testing.T) {
	pts := space.Sample(20, 1)
	res, err := Random(context.Background(), pts, 5, score, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(res); i++ {
		if res[i].Score > res[i-1].Score || res[i].Rank != i+1 {
			t.Fatal("not ranked by score")
		}
	}
}

func TestHalvingBudgets(t *testing.T) {
	pts := space.Sample(27, 2)
	var calls []int
	eval := func(ctx context.Context, p Point, b int) (float64, error) {
		calls = append(calls, b)
		return score(ctx, p, b)
	}
	res, err := Halving(context.Background(), pts, 1, 9, 3, eval, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 27 on budget 1, 9 on 3, 3 on 9.
	count := map[int]int{}
	for _, b := range calls {
		count[b]++
	}
	if !reflect.DeepEqual(count, map[int]int{1: 27, 3: 9, 9: 3}) {
		t.Fatalf("evaluations per budget %v", count)
	}
	if len(res) != 27 || res[0].Budget != 9 || res[0].Rung != 2 {
		t.Fatalf("winner %+v of %d", res[0], len(res))
	}
	// The winner is the best of the full-budget rung, and the best point
	// overall by the noiseless score.
	best, _ := Random(context.Background(), pts, 9, score, nil)
	if !reflect.DeepEqual(best[0].Point, res[0].Point) {
		t.Errorf("halving picked %v, the best point is %v", res[0].Point, best[0].Point)
	}
}
