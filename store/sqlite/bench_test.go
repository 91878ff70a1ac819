package sqlite

import (
	"context"
	"testing"

	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/storetest"
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
	n, path := storetest.BenchRuns(b)
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := storetest.FillRuns(ctx, s, "bench", n); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		runs, err := s.ListRuns(ctx, store.Query{SortMetric: "rmse_s", Limit: 50})
		if err != nil || len(runs) != 50 || runs[0].Last["rmse_s"] > runs[49].Last["rmse_s"] {
			b.Fatalf("%d runs, %v", len(runs), err)
		}
	}
}
