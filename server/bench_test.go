package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/sqlite"
	"github.com/reckon-ml/reckon/store/storetest"
)

// BenchmarkRunsPage is the runs page's API over 100,000 runs of a team
// (storetest.FillRuns, as the store's listing benchmark fills them),
// sorted by a metric, filtered by team, first page and tenth: server time
// per request, and its 95th percentile.
//
//	RECKON_BENCH_DB=/tmp/runs.db go test -run X -bench RunsPage -benchtime 200x ./server
//
// RECKON_BENCH_RUNS changes the count; RECKON_BENCH_DB keeps the filled
// file between invocations (filling takes minutes).
func BenchmarkRunsPage(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("RECKON_BENCH_RUNS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	path := os.Getenv("RECKON_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "reckon.db")
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := storetest.FillRuns(ctx, db, "bench", n); err != nil {
		b.Fatal(err)
	}
	secret, hash, _ := auth.NewSecret()
	if _, err := db.CreateToken(ctx, auth.Token{User: "bench", Team: "bench", Role: auth.Viewer, Hash: hash}); err != nil {
		b.Fatal(err)
	}
	srv := New(Config{Store: db, Tokens: db, Jobs: db})
	for _, page := range []int{1, 10, 1000, 1800} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			// The page's cursor, as a client walking there would hold it.
			cursor := ""
			if page > 1 {
				q := store.Query{Team: "bench", SortMetric: "rmse_s", Limit: 1, Offset: (page-1)*50 - 1}
				prev, err := db.ListRuns(ctx, q)
				if err != nil || len(prev) != 1 {
					b.Fatal(err)
				}
				cursor = "&cursor=" + encodeCursor(store.CursorOf(q, prev[0]))
			}
			var took []time.Duration
			for b.Loop() {
				req := httptest.NewRequest("GET", "/api/v1/runs?team=bench&sort=metric:rmse_s&limit=50"+cursor, nil)
				req.Header.Set("Authorization", "Bearer "+secret)
				w := httptest.NewRecorder()
				t0 := time.Now()
				srv.ServeHTTP(w, req)
				took = append(took, time.Since(t0))
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
