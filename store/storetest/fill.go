package storetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/reckon-ml/reckon/store"
)

// FillRuns adds runs of team until it has n, as the listing benchmarks
// want them: each with params, a tag and two metrics (one run in ten
// lacks rmse_s), succeeded.
func FillRuns(ctx context.Context, s store.Store, team string, n int) error {
	have, err := s.ListRuns(ctx, store.Query{Team: team})
	if err != nil {
		return err
	}
	for i := len(have); i < n; i++ {
		r, err := s.CreateRun(ctx, store.Run{Name: fmt.Sprint("train/", i%7), Team: team, User: "u",
			Params: map[string]string{"lr": fmt.Sprint(i % 13), "depth": fmt.Sprint(i % 5)}, Tags: map[string]string{"step": "train"}})
		if err != nil {
			return err
		}
		pts := []store.Point{{Key: "loss", Step: 1, Value: float64(i%1000) / 7}}
		if i%10 != 0 {
			pts = append(pts, store.Point{Key: "rmse_s", Step: 1, Value: float64((i*7919)%100000) / 1000})
		}
		if err := s.LogMetrics(ctx, r.ID, pts); err != nil {
			return err
		}
		if err := s.Finish(ctx, r.ID, store.Succeeded); err != nil {
			return err
		}
	}
	return nil
}

// BenchRuns is how many runs a listing benchmark fills ($RECKON_BENCH_RUNS,
// default 100,000) and in which SQLite file ($RECKON_BENCH_DB keeps it
// between invocations, since filling takes minutes; default a temporary
// one).
func BenchRuns(b testing.TB) (n int, path string) {
	n = 100000
	if v, err := strconv.Atoi(os.Getenv("RECKON_BENCH_RUNS")); err == nil && v > 0 {
		n = v
	}
	if path = os.Getenv("RECKON_BENCH_DB"); path == "" {
		path = filepath.Join(b.TempDir(), "reckon.db")
	}
	return n, path
}
