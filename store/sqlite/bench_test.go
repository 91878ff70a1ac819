package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/reckon-ml/reckon/store"
)

// BenchmarkListRunsSortedByMetric is issue 5's listing target:
// `runs ls --limit 50 --sort metric:rmse_s` over 100,000 runs (each with
// params, tags and two metrics; one run in ten lacks rmse_s), on SQLite.
//
//	go test -run X -bench ListRuns -benchtime 20x ./store/sqlite
//
// RECKON_BENCH_RUNS changes the count; RECKON_BENCH_DB keeps the filled
// file between invocations (filling takes a while).
func BenchmarkListRunsSortedByMetric(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("RECKON_BENCH_RUNS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	path := os.Getenv("RECKON_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "reckon.db")
	}
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	have, err := s.ListRuns(ctx, store.Query{Limit: 0, Team: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for i := len(have); i < n; i++ {
		r, err := s.CreateRun(ctx, store.Run{Name: fmt.Sprint("train/", i%7), Team: "bench", User: "u",
			Params: map[string]string{"lr": fmt.Sprint(i % 13), "depth": fmt.Sprint(i % 5)}, Tags: map[string]string{"step": "train"}})
		if err != nil {
			b.Fatal(err)
		}
		pts := []store.Point{{Key: "loss", Step: 1, Value: float64(i%1000) / 7}}
		if i%10 != 0 {
			pts = append(pts, store.Point{Key: "rmse_s", Step: 1, Value: float64((i*7919)%100000) / 1000})
		}
		if err := s.LogMetrics(ctx, r.ID, pts); err != nil {
			b.Fatal(err)
		}
		s.Finish(ctx, r.ID, store.Succeeded)
	}
	b.ResetTimer()
	for b.Loop() {
		runs, err := s.ListRuns(ctx, store.Query{SortMetric: "rmse_s", Limit: 50})
		if err != nil || len(runs) != 50 || runs[0].Last["rmse_s"] > runs[49].Last["rmse_s"] {
			b.Fatalf("%d runs, %v", len(runs), err)
		}
	}
}
