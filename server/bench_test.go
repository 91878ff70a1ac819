package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/sqlite"
	"github.com/reckon-ml/reckon/store/storetest"
)

// BenchmarkRunsPage is the runs page's API over 100,000 runs of a team
// (storetest.FillRuns, as the store's listing benchmark fills them),
// sorted by a metric, filtered by team, pages 1, 10, 1,000 and 1,800 (by
// the keyset cursor a client walking there would hold): server time per
// request, and its 95th percentile.
//
//	RECKON_BENCH_DB=/tmp/runs.db go test -run X -bench RunsPage -benchtime 200x ./server
//
// RECKON_BENCH_RUNS changes the count; RECKON_BENCH_DB keeps the filled
// file between invocations (filling takes minutes).
func BenchmarkRunsPage(b *testing.B) {
	n, path := storetest.BenchRuns(b)
	ctx := context.Background()
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
			if (page-1)*50 >= n {
				b.Skipf("%d runs have no page %d", n, page)
			}
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

// BenchmarkRunChart is a run with 100,000 points of one metric: its
// series through the API (down to 2,000 points) and its page with the
// chart drawn from them, server time.
//
//	go test -run X -bench RunChart -benchtime 50x ./server
func BenchmarkRunChart(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	var pts []store.Point
	for i := range 100000 {
		pts = append(pts, store.Point{Key: "loss", Step: int64(i), Value: 1 / float64(i+1)})
	}
	if err := f.srv.c.Store.LogMetrics(ctx, f.own, pts); err != nil {
		b.Fatal(err)
	}
	br := &browser{f: f}
	br.req("POST", "/ui/login", url.Values{"token": {f.tokens[auth.Viewer]}}, "")
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.srv.c.Store.Metric(ctx, f.own, "loss"); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct{ name, path string }{
		{"api", "/api/v1/runs/" + f.own + "/metrics/loss?max_points=2000"},
		{"page", "/ui/runs/" + f.own},
	} {
		b.Run(c.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				t0 := time.Now()
				var code int
				var body string
				if c.name == "api" {
					var m map[string]any
					code, m = f.do("GET", c.path, f.tokens[auth.Viewer])
					body = fmt.Sprint(m["key"])
				} else {
					code, body, _ = br.get(c.path)
				}
				took = append(took, time.Since(t0))
				if code != 200 || !strings.Contains(body, "loss") {
					b.Fatalf("%d %.200s", code, body)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}
