// Package storetest is the conformance suite every store back end passes
// (restic's pattern): one set of behaviours, run against SQLite now and
// PostgreSQL next.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/store"
)

// Open returns a fresh, empty store for one subtest.
type Open func(t *testing.T) store.Store

// Run runs the suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateAndGet", createAndGet},
		{"ParamsAreImmutable", paramsImmutable},
		{"MetricsInStepOrder", metricsInOrder},
		{"FinishOnce", finishOnce},
		{"ListFilterSort", listFilterSort},
		{"StaleHeartbeatInterrupts", staleHeartbeat},
		{"ConcurrentWriters", concurrentWriters},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

func createAndGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	r, err := s.CreateRun(ctx, store.Run{Name: "train", Team: "tumor", User: "ada", CodeVersion: "v1", Seed: 7,
		Params: map[string]string{"lr": "0.1"}, Tags: map[string]string{"model": "gbdt"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == "" || r.Status != store.Running {
		t.Fatalf("created %+v", r)
	}
	got, err := s.GetRun(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "train" || got.Team != "tumor" || got.User != "ada" || got.Seed != 7 || got.Params["lr"] != "0.1" || got.Tags["model"] != "gbdt" {
		t.Errorf("got %+v", got)
	}
	if _, err := s.GetRun(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
}

func paramsImmutable(t *testing.T, s store.Store) {
	ctx := context.Background()
	r, _ := s.CreateRun(ctx, store.Run{Name: "p"})
	if err := s.LogParams(ctx, r.ID, map[string]string{"depth": "6"}); err != nil {
		t.Fatal(err)
	}
	if err := s.LogParams(ctx, r.ID, map[string]string{"depth": "6", "trees": "300"}); err != nil {
		t.Fatalf("same value again: %v", err)
	}
	err := s.LogParams(ctx, r.ID, map[string]string{"depth": "8"})
	var pe *store.ParamError
	if !errors.As(err, &pe) || pe.Key != "depth" || pe.Old != "6" || !errors.Is(err, store.ErrParamChanged) {
		t.Fatalf("changing a parameter: %v", err)
	}
	got, _ := s.GetRun(ctx, r.ID)
	if got.Params["depth"] != "6" || got.Params["trees"] != "300" {
		t.Errorf("params %v", got.Params)
	}
}

func metricsInOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	r, _ := s.CreateRun(ctx, store.Run{Name: "m"})
	err := s.LogMetrics(ctx, r.ID, []store.Point{{Key: "loss", Step: 2, Value: 0.5}, {Key: "loss", Step: 1, Value: 0.9}, {Key: "auc", Step: 1, Value: 0.97}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LogMetrics(ctx, r.ID, []store.Point{{Key: "loss", Step: 3, Value: 0.4}}); err != nil {
		t.Fatal(err)
	}
	pts, err := s.Metric(ctx, r.ID, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 || pts[0].Step != 1 || pts[2].Value != 0.4 {
		t.Errorf("loss series %+v", pts)
	}
	got, _ := s.GetRun(ctx, r.ID)
	if got.Last["loss"] != 0.4 || got.Last["auc"] != 0.97 {
		t.Errorf("last metrics %v", got.Last)
	}
	if err := s.LogMetrics(ctx, "nope", []store.Point{{Key: "x"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("metrics of a missing run: %v", err)
	}
}

func finishOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	r, _ := s.CreateRun(ctx, store.Run{Name: "f"})
	if err := s.Finish(ctx, r.ID, store.Succeeded); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, r.ID, store.Failed); !errors.Is(err, store.ErrFinished) {
		t.Errorf("second finish: %v", err)
	}
	got, _ := s.GetRun(ctx, r.ID)
	if got.Status != store.Succeeded || got.Ended.IsZero() {
		t.Errorf("finished run %+v", got)
	}
}

func listFilterSort(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, team := range []string{"a", "b", "a", "a", "b"} {
		r, err := s.CreateRun(ctx, store.Run{Name: fmt.Sprint(i), Team: team})
		if err != nil {
			t.Fatal(err)
		}
		if i != 4 { // run 4 has no rmse
			s.LogMetrics(ctx, r.ID, []store.Point{{Key: "rmse_s", Step: 1, Value: float64(10 - i)}})
		}
		if i == 1 {
			s.Finish(ctx, r.ID, store.Failed)
		}
	}
	runs, err := s.ListRuns(ctx, store.Query{SortMetric: "rmse_s", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 || runs[0].Name != "3" || runs[1].Name != "2" || runs[2].Name != "1" {
		t.Errorf("sorted by rmse: %v", names(runs))
	}
	runs, _ = s.ListRuns(ctx, store.Query{SortMetric: "rmse_s", Desc: true})
	if len(runs) != 5 || runs[0].Name != "0" || runs[4].Name != "4" {
		t.Errorf("descending, missing metric last: %v", names(runs))
	}
	runs, _ = s.ListRuns(ctx, store.Query{Team: "b", Status: store.Running})
	if len(runs) != 1 || runs[0].Name != "4" {
		t.Errorf("team b running: %v", names(runs))
	}
}

func names(runs []store.Run) []string {
	var n []string
	for _, r := range runs {
		n = append(n, r.Name)
	}
	return n
}

func staleHeartbeat(t *testing.T, s store.Store) {
	ctx := context.Background()
	old, _ := s.CreateRun(ctx, store.Run{Name: "old"})
	time.Sleep(20 * time.Millisecond)
	cut := time.Now()
	time.Sleep(20 * time.Millisecond)
	alive, _ := s.CreateRun(ctx, store.Run{Name: "alive"})
	done, _ := s.CreateRun(ctx, store.Run{Name: "done"})
	s.Finish(ctx, done.ID, store.Succeeded)
	ids, err := s.MarkStale(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != old.ID {
		t.Fatalf("marked %v, want only %s", ids, old.ID)
	}
	for id, want := range map[string]store.Status{old.ID: store.Interrupted, alive.ID: store.Running, done.ID: store.Succeeded} {
		if r, _ := s.GetRun(ctx, id); r.Status != want {
			t.Errorf("%s: %s, want %s", r.Name, r.Status, want)
		}
	}
	if err := s.Heartbeat(ctx, alive.ID); err != nil {
		t.Error(err)
	}
}

// concurrentWriters: 16 writers log 10,000 points each (1,000 with
// -short, where the race detector makes it slow); every point must arrive
// and no writer may see an error (such as "database is locked").
func concurrentWriters(t *testing.T, s store.Store) {
	ConcurrentWriters(t, s, 16, 10000)
}

// ConcurrentWriters is the concurrency target on its own, for back ends to
// run at full size outside -short.
func ConcurrentWriters(t *testing.T, s store.Store, writers, points int) {
	const batch = 250
	if testing.Short() {
		points = 1000
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]string, writers)
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		r, err := s.CreateRun(ctx, store.Run{Name: fmt.Sprint("writer", w)})
		if err != nil {
			t.Fatal(err)
		}
		ids[w] = r.ID
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < points; b += batch {
				pts := make([]store.Point, batch)
				for i := range pts {
					pts[i] = store.Point{Key: "loss", Step: int64(b + i), Value: float64(b + i)}
				}
				if err := s.LogMetrics(ctx, r.ID, pts); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := 0
	for _, id := range ids {
		pts, err := s.Metric(ctx, id, "loss")
		if err != nil {
			t.Fatal(err)
		}
		total += len(pts)
	}
	if total != writers*points {
		t.Errorf("%d points stored, want %d", total, writers*points)
	}
}
