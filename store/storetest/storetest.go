// Package storetest is the conformance suite every store back end passes
// (restic's pattern): one set of behaviours, run against SQLite and
// PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/store"
)

// Open returns a fresh, empty store for one subtest that reads the time
// from clock (its Now method).
type Open func(t *testing.T, clock *Clock) store.Store

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Run runs the suite.
func Run(t *testing.T, open Open) {
	var clock *Clock
	withClock := func(fn func(*testing.T, store.Store, *Clock)) func(*testing.T, store.Store) {
		return func(t *testing.T, s store.Store) { fn(t, s, clock) }
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"CreateAndGet", createAndGet},
		{"ParamsAreImmutable", paramsImmutable},
		{"MetricsInStepOrder", metricsInOrder},
		{"FinishOnce", finishOnce},
		{"ListFilterSort", listFilterSort},
		{"StaleHeartbeatInterrupts", withClock(staleHeartbeat)},
		{"ConcurrentWriters", concurrentWriters},
		{"InputsParentArtifacts", inputsArtifacts},
		{"DatasetVersions", withClock(datasetVersions)},
		{"RegistryVersionsAndAliases", registry},
		{"RegisterOnlySucceededRuns", registerSucceededOnly},
		{"ConcurrentRegistrations", concurrentRegistrations},
		{"RegisterIsIdempotent", registerIdempotent},
		{"ConcurrentSameBytes", concurrentSameBytes},
		{"RegisterIfStale", registerIfStale},
		{"StepCache", stepCache},
		{"CancelledContext", cancelledContext},
		{"JobsSubmitAndList", withClock(submitAndList)},
		{"JobStateMachine", withClock(jobStateMachine)},
		{"JobUsage", withClock(jobUsage)},
		{"Leases", withClock(leases)},
		{"ConcurrentJobs", concurrentJobs},
		{"Tokens", withClock(tokensKept)},
		{"MetricSample", metricSample},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock = NewClock(time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC))
			s := open(t, clock)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

func createAndGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	r, err := s.CreateRun(ctx, store.Run{Name: "train", Team: "tumor", User: "ada", CodeVersion: "v1", Seed: 1<<63 + 7,
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
	if got.Name != "train" || got.Team != "tumor" || got.User != "ada" || got.Seed != 1<<63+7 || got.Params["lr"] != "0.1" || got.Tags["model"] != "gbdt" {
		t.Errorf("got %+v", got)
	}
	if _, err := s.GetRun(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
}

func paramsImmutable(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := mustRun(t, s, store.Run{Name: "p"})
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
	got := mustGet(t, s, r.ID)
	if got.Params["depth"] != "6" || got.Params["trees"] != "300" {
		t.Errorf("params %v", got.Params)
	}
}

func metricsInOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := mustRun(t, s, store.Run{Name: "m"})
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
	got := mustGet(t, s, r.ID)
	if got.Last["loss"] != 0.4 || got.Last["auc"] != 0.97 {
		t.Errorf("last metrics %v", got.Last)
	}
	if err := s.LogMetrics(ctx, "nope", []store.Point{{Key: "x"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("metrics of a missing run: %v", err)
	}
}

func finishOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := mustRun(t, s, store.Run{Name: "f"})
	if err := s.Finish(ctx, r.ID, store.Succeeded); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, r.ID, store.Failed); !errors.Is(err, store.ErrFinished) {
		t.Errorf("second finish: %v", err)
	}
	got := mustGet(t, s, r.ID)
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
			check(t, s.LogMetrics(ctx, r.ID, []store.Point{{Key: "rmse_s", Step: 1, Value: float64(10 - i)}}))
		}
		if i == 1 {
			check(t, s.Finish(ctx, r.ID, store.Failed))
		}
	}
	runs, err := s.ListRuns(ctx, store.Query{SortMetric: "rmse_s", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 3 || runs[0].Name != "3" || runs[1].Name != "2" || runs[2].Name != "1" {
		t.Errorf("sorted by rmse: %v", names(runs))
	}
	runs, err = s.ListRuns(ctx, store.Query{SortMetric: "rmse_s", Desc: true})
	check(t, err)
	if len(runs) != 5 || runs[0].Name != "0" || runs[4].Name != "4" {
		t.Errorf("descending, missing metric last: %v", names(runs))
	}
	// Pages of two, by offset, are the whole order, across the runs that
	// lack the metric too.
	for _, desc := range []bool{false, true} {
		all, err := s.ListRuns(ctx, store.Query{SortMetric: "rmse_s", Desc: desc})
		check(t, err)
		var paged []store.Run
		for off := 0; off < 7; off += 2 {
			page, err := s.ListRuns(ctx, store.Query{SortMetric: "rmse_s", Desc: desc, Limit: 2, Offset: off})
			check(t, err)
			paged = append(paged, page...)
		}
		if fmt.Sprint(names(paged)) != fmt.Sprint(names(all)) {
			t.Errorf("pages %v, whole %v", names(paged), names(all))
		}
		// The same by keyset: each page after the last run of the one
		// before, sorted or newest first.
		for _, metric := range []string{"rmse_s", ""} {
			q := store.Query{SortMetric: metric, Desc: desc}
			all, err := s.ListRuns(ctx, q)
			check(t, err)
			var keyed []store.Run
			for range 10 {
				q.Limit = 2
				page, err := s.ListRuns(ctx, q)
				check(t, err)
				if len(page) == 0 {
					break
				}
				keyed = append(keyed, page...)
				q.After = store.CursorOf(q, page[len(page)-1])
			}
			if fmt.Sprint(names(keyed)) != fmt.Sprint(names(all)) {
				t.Errorf("keyset pages (sort %q, desc %v) %v, whole %v", metric, desc, names(keyed), names(all))
			}
		}
		page, err := s.ListRuns(ctx, store.Query{Offset: 3})
		check(t, err)
		if len(page) != 2 {
			t.Errorf("offset 3 without a limit: %v", names(page))
		}
	}
	runs, err = s.ListRuns(ctx, store.Query{Team: "b", Status: store.Running})
	check(t, err)
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

func staleHeartbeat(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	old := mustRun(t, s, store.Run{Name: "old"})
	clock.Advance(time.Minute)
	cut := clock.Now()
	clock.Advance(time.Minute)
	alive := mustRun(t, s, store.Run{Name: "alive"})
	done := mustRun(t, s, store.Run{Name: "done"})
	check(t, s.Finish(ctx, done.ID, store.Succeeded))
	ids, err := s.MarkStale(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != old.ID {
		t.Fatalf("marked %v, want only %s", ids, old.ID)
	}
	for id, want := range map[string]store.Status{old.ID: store.Interrupted, alive.ID: store.Running, done.ID: store.Succeeded} {
		if r := mustGet(t, s, id); r.Status != want {
			t.Errorf("%s: %s, want %s", r.Name, r.Status, want)
		}
	}
	clock.Advance(time.Minute)
	if err := s.Heartbeat(ctx, alive.ID); err != nil {
		t.Error(err)
	}
	if r := mustGet(t, s, alive.ID); !r.Heartbeat.Equal(clock.Now()) || !r.Started.Equal(cut.Add(time.Minute)) {
		t.Errorf("times %v, %v: want the store's clock (%v)", r.Started, r.Heartbeat, clock.Now())
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
	checkPoints(t, s, ids, writers*points)
}

func inputsArtifacts(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := mustRun(t, s, store.Run{Name: "pipeline"})
	r, err := s.CreateRun(ctx, store.Run{Name: "step", Parent: p.ID, Inputs: map[string]string{"data": "sha256:ab"}})
	if err != nil {
		t.Fatal(err)
	}
	a := store.Artifact{Name: "model", Key: "sha256/ab/abcd", SHA256: "abcd", Size: 42}
	if err := s.LogArtifact(ctx, r.ID, a); err != nil {
		t.Fatal(err)
	}
	a.Name, a.Key = "checkpoint", "sha256/cd/cdef"
	check(t, s.LogArtifact(ctx, r.ID, a))
	a.Key = "sha256/ef/ef01" // a newer checkpoint replaces the reference
	check(t, s.LogArtifact(ctx, r.ID, a))
	got := mustGet(t, s, r.ID)
	if got.Parent != p.ID || got.Inputs["data"] != "sha256:ab" {
		t.Errorf("run %+v", got)
	}
	arts, err := s.Artifacts(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].Name != "checkpoint" || arts[0].Key != "sha256/ef/ef01" || arts[1].Size != 42 {
		t.Errorf("artifacts %+v", arts)
	}
	if err := s.LogArtifact(ctx, "nope", a); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("artifact of a missing run: %v", err)
	}
}

func datasetVersions(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	d1, err := s.PutDataset(ctx, store.Dataset{Name: "tumor", Hash: "sha256:1", Source: "a.csv", Rows: 569, Schema: `{"target":"diagnosis"}`})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.PutDataset(ctx, store.Dataset{Name: "tumor", Hash: "sha256:1", Source: "copy.csv"})
	check(t, err)
	if again.Source != "a.csv" || again.Rows != 569 || !again.Created.Equal(d1.Created) {
		t.Errorf("same content again: %+v", again)
	}
	clock.Advance(time.Second)
	_, err = s.PutDataset(ctx, store.Dataset{Name: "tumor", Hash: "sha256:2", Source: "b.csv"})
	check(t, err)
	vs, err := s.DatasetVersions(ctx, "tumor")
	if err != nil || len(vs) != 2 || vs[0].Hash != "sha256:1" || vs[1].Hash != "sha256:2" {
		t.Errorf("versions %+v %v", vs, err)
	}
}

func succeededRun(t *testing.T, s store.Store, name string) string {
	ctx := context.Background()
	r, err := s.CreateRun(ctx, store.Run{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, r.ID, store.Succeeded); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func registry(t *testing.T, s store.Store) {
	ctx := context.Background()
	run := succeededRun(t, s, "train")
	r1, err := s.Register(ctx, store.Version{Model: "tumor", RunID: run, Kind: "logistic", DataHash: "sha256:1",
		Artifact: store.Artifact{Key: "k1", SHA256: "s1", Size: 10}, Metrics: map[string]float64{"roc_auc": 0.995}}, "champion", "ada", "first model")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Register(ctx, store.Version{Model: "tumor", RunID: run, Kind: "gbdt", Artifact: store.Artifact{Key: "k2", SHA256: "s2"}, Note: "not better"}, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if r1.Version.Version != 1 || r2.Version.Version != 2 || !r1.New || !r2.New || !r1.Moved || r2.Moved {
		t.Fatalf("registrations %+v, %+v", r1, r2)
	}
	champ, err := s.Resolve(ctx, "tumor", "champion")
	if err != nil || champ.Version != 1 || champ.Metrics["roc_auc"] != 0.995 || champ.Artifact.Key != "k1" || champ.RunID != run {
		t.Fatalf("champion %+v %v", champ, err)
	}
	if err := s.MoveAlias(ctx, "tumor", "champion", 2, "bob", "gbdt wins on recall"); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveAlias(ctx, "tumor", "challenger", 1, "bob", "keep watching"); err != nil {
		t.Fatal(err)
	}
	if err := s.MoveAlias(ctx, "tumor", "champion", 7, "bob", "no such version"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alias to a missing version: %v", err)
	}
	if err := s.MoveAlias(ctx, "nope", "champion", 1, "bob", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alias of a missing model: %v", err)
	}
	if err := s.MoveAlias(ctx, "tumor", "champion", 2, "bob", "again"); !errors.Is(err, store.ErrAliasUnchanged) {
		t.Errorf("a move to the alias's own version: %v, want ErrAliasUnchanged", err)
	}
	m, err := s.GetModel(ctx, "tumor")
	if err != nil || m.Latest != 2 || m.Aliases["champion"] != 2 || m.Aliases["challenger"] != 1 {
		t.Errorf("model %+v %v", m, err)
	}
	h, err := s.History(ctx, "tumor")
	if err != nil || len(h) != 3 {
		t.Fatalf("history %+v %v", h, err)
	}
	if h[0].To != 1 || h[0].From != 0 || h[0].Who != "ada" || h[0].Why != "first model" ||
		h[1].From != 1 || h[1].To != 2 || h[1].Why != "gbdt wins on recall" || h[2].Alias != "challenger" {
		t.Errorf("history %+v", h)
	}
	vs, err := s.Versions(ctx, "tumor")
	check(t, err)
	if len(vs) != 2 || vs[1].Note != "not better" || vs[1].Kind != "gbdt" {
		t.Errorf("versions %+v", vs)
	}
	ms, err := s.ListModels(ctx)
	check(t, err)
	if len(ms) != 1 || ms[0].Name != "tumor" {
		t.Errorf("models %+v", ms)
	}
	if _, err := s.GetVersion(ctx, "tumor", 3); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing version: %v", err)
	}
	if _, err := s.Resolve(ctx, "tumor", "staging"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing alias: %v", err)
	}
}

// registerSucceededOnly: the artifact of an unfinished or failed run is
// never registered, and a refused registration moves no alias.
func registerSucceededOnly(t *testing.T, s store.Store) {
	ctx := context.Background()
	running := mustRun(t, s, store.Run{Name: "running"})
	failed := mustRun(t, s, store.Run{Name: "failed"})
	check(t, s.Finish(ctx, failed.ID, store.Failed))
	for _, id := range []string{running.ID, failed.ID} {
		if _, err := s.Register(ctx, store.Version{Model: "m", RunID: id, Artifact: store.Artifact{SHA256: "s"}}, "champion", "x", "y"); !errors.Is(err, store.ErrNotSucceeded) {
			t.Errorf("registering run %s: %v", id, err)
		}
	}
	if _, err := s.GetModel(ctx, "m"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused registration left model m behind: %v", err)
	}
	if h, err := s.History(ctx, "m"); err != nil || len(h) != 0 {
		t.Errorf("a refused registration left history %+v (%v)", h, err)
	}
}

func concurrentRegistrations(t *testing.T, s store.Store) {
	ctx := context.Background()
	run := succeededRun(t, s, "train")
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Register(ctx, store.Version{Model: "race", RunID: run, Kind: fmt.Sprint(i), Artifact: store.Artifact{SHA256: fmt.Sprint("s", i)}}, "champion", "w", fmt.Sprint(i))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	vs, err := s.Versions(ctx, "race")
	check(t, err)
	h, err := s.History(ctx, "race")
	check(t, err)
	if len(vs) != n || len(h) != n {
		t.Fatalf("%d versions, %d alias moves; want %d each", len(vs), len(h), n)
	}
	for i, v := range vs {
		if v.Version != i+1 {
			t.Errorf("version %d numbered %d", i, v.Version)
		}
	}
	// The audit is a chain: each move starts where the previous ended.
	for i := 1; i < n; i++ {
		if h[i].From != h[i-1].To {
			t.Errorf("move %d from v%d, previous ended at v%d", i, h[i].From, h[i-1].To)
		}
	}
}

// registerIdempotent: the same bytes registered again are the same
// version, and an alias already on it is not moved (nor audited) again.
func registerIdempotent(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := succeededRun(t, s, "a"), succeededRun(t, s, "b")
	if _, err := s.Register(ctx, store.Version{Model: "m", RunID: a}, "", "", ""); err == nil {
		t.Error("a version without a sha256 was registered")
	}
	first, err := s.Register(ctx, store.Version{Model: "m", RunID: a, Kind: "gbdt", Artifact: store.Artifact{Key: "k", SHA256: "same"}}, "champion", "ada", "first")
	check(t, err)
	again, err := s.Register(ctx, store.Version{Model: "m", RunID: b, Kind: "gbdt", Artifact: store.Artifact{Key: "k", SHA256: "same"}, Note: "b"}, "champion", "bob", "again")
	check(t, err)
	if again.New || again.Moved || again.Version.Version != first.Version.Version || again.Version.RunID != a || again.Version.Note != "" {
		t.Errorf("second registration of the same bytes: %+v, want version %d of run %s untouched", again, first.Version.Version, a)
	}
	other, err := s.Register(ctx, store.Version{Model: "m", RunID: b, Artifact: store.Artifact{SHA256: "other"}}, "champion", "bob", "better")
	check(t, err)
	// The first bytes again, asking for the alias back: the alias moves
	// to the existing version; no new version.
	back, err := s.Register(ctx, store.Version{Model: "m", RunID: b, Artifact: store.Artifact{SHA256: "same"}}, "champion", "bob", "back")
	check(t, err)
	if back.New || !back.Moved || back.Version.Version != 1 || other.Version.Version != 2 {
		t.Errorf("re-registering v1's bytes with the alias: %+v (other %+v)", back, other)
	}
	// Other models may hold the same bytes.
	n, err := s.Register(ctx, store.Version{Model: "n", RunID: a, Artifact: store.Artifact{SHA256: "same"}}, "", "", "")
	check(t, err)
	if !n.New || n.Version.Version != 1 {
		t.Errorf("model n: %+v", n)
	}
	vs, err := s.Versions(ctx, "m")
	check(t, err)
	h, err := s.History(ctx, "m")
	check(t, err)
	if len(vs) != 2 || len(h) != 3 {
		t.Errorf("%d versions, %d audit rows; want 2 and 3 (-> 1, 1 -> 2, 2 -> 1)", len(vs), len(h))
	}
}

// concurrentSameBytes: callers racing to register one artifact (runs of
// one pipeline reaching registration together) make one version and one
// audit row.
func concurrentSameBytes(t *testing.T, s store.Store) {
	ctx := context.Background()
	const n = 8
	runs := make([]string, n)
	for i := range runs {
		runs[i] = succeededRun(t, s, fmt.Sprint("run", i))
	}
	var wg sync.WaitGroup
	regs := make([]store.Registration, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			regs[i], errs[i] = s.Register(ctx, store.Version{Model: "same", RunID: runs[i], Artifact: store.Artifact{SHA256: "bytes"}}, "champion", "w", fmt.Sprint(i))
		}()
	}
	wg.Wait()
	created, moved := 0, 0
	for i := range n {
		if errs[i] != nil {
			t.Error(errs[i])
		}
		if regs[i].New {
			created++
		}
		if regs[i].Moved {
			moved++
		}
	}
	CheckRegisteredOnce(t, s, "same")
	if created != 1 || moved != 1 {
		t.Errorf("%d callers created a version and %d moved the alias; want 1 each", created, moved)
	}
}

// CheckRegisteredOnce checks that each sha256 of model is one version and
// that its audit log holds no move of an alias to where it already was.
func CheckRegisteredOnce(t *testing.T, s store.Store, model string) {
	t.Helper()
	ctx := context.Background()
	vs, err := s.Versions(ctx, model)
	check(t, err)
	seen := map[string]int{}
	for _, v := range vs {
		if w, ok := seen[v.Artifact.SHA256]; ok {
			t.Errorf("%s: bytes %s registered as versions %d and %d", model, v.Artifact.SHA256, w, v.Version)
		}
		seen[v.Artifact.SHA256] = v.Version
	}
	h, err := s.History(ctx, model)
	check(t, err)
	at := map[string]int{}
	for _, m := range h {
		if m.From == m.To || m.From != at[m.Alias] {
			t.Errorf("%s: audit move of %s from %d to %d while it was at %d", model, m.Alias, m.From, m.To, at[m.Alias])
		}
		at[m.Alias] = m.To
	}
}

func stepCache(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.GetCache(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	running := mustRun(t, s, store.Run{Name: "step"})
	if err := s.PutCache(ctx, store.CacheEntry{Key: "k", Step: "train", RunID: running.ID, Output: "{}"}); !errors.Is(err, store.ErrNotSucceeded) {
		t.Errorf("caching an unfinished step: %v", err)
	}
	check(t, s.Finish(ctx, running.ID, store.Succeeded))
	if err := s.PutCache(ctx, store.CacheEntry{Key: "k", Step: "train", RunID: running.ID, Output: `{"model":"x"}`}); err != nil {
		t.Fatal(err)
	}
	e, err := s.GetCache(ctx, "k")
	if err != nil || e.Output != `{"model":"x"}` || e.RunID != running.ID || e.Step != "train" {
		t.Errorf("cache entry %+v %v", e, err)
	}
}

// cancelledContext: every call on a cancelled context fails with
// context.Canceled and writes nothing.
func cancelledContext(t *testing.T, s store.Store) {
	live := context.Background()
	run := succeededRun(t, s, "train")
	open := mustRun(t, s, store.Run{Name: "open"})
	ctx, cancel := context.WithCancel(live)
	cancel()
	calls := map[string]func() error{
		"CreateRun":  func() error { _, err := s.CreateRun(ctx, store.Run{Name: "late"}); return err },
		"GetRun":     func() error { _, err := s.GetRun(ctx, run); return err },
		"ListRuns":   func() error { _, err := s.ListRuns(ctx, store.Query{}); return err },
		"LogMetrics": func() error { return s.LogMetrics(ctx, open.ID, []store.Point{{Key: "loss", Value: 1}}) },
		"LogParams":  func() error { return s.LogParams(ctx, open.ID, map[string]string{"lr": "1"}) },
		"SetTags":    func() error { return s.SetTags(ctx, open.ID, map[string]string{"x": "y"}) },
		"Finish":     func() error { return s.Finish(ctx, open.ID, store.Succeeded) },
		"PutDataset": func() error { _, err := s.PutDataset(ctx, store.Dataset{Name: "d", Hash: "sha256:9"}); return err },
		"Register": func() error {
			_, err := s.Register(ctx, store.Version{Model: "m", RunID: run, Artifact: store.Artifact{SHA256: "s"}}, "champion", "x", "y")
			return err
		},
		"PutCache": func() error { return s.PutCache(ctx, store.CacheEntry{Key: "k", Step: "s", RunID: run, Output: "{}"}) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s on a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	// Nothing of it arrived.
	runs, err := s.ListRuns(live, store.Query{})
	check(t, err)
	if len(runs) != 2 {
		t.Errorf("%d runs, want the 2 made before the cancel", len(runs))
	}
	if r := mustGet(t, s, open.ID); r.Status != store.Running || len(r.Last) != 0 || len(r.Params) != 0 || len(r.Tags) != 0 {
		t.Errorf("the open run changed: %+v", r)
	}
	if _, err := s.GetModel(live, "m"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("model m: %v", err)
	}
	if vs, err := s.DatasetVersions(live, "d"); err != nil || len(vs) != 0 {
		t.Errorf("dataset d: %v %v", vs, err)
	}
	if _, err := s.GetCache(live, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cache k: %v", err)
	}
}

// Opener opens a back end by its address, for writer processes.
type Opener func(ctx context.Context, where string) (store.Store, error)

const (
	envWhere  = "RECKON_STORETEST_WHERE"
	envRun    = "RECKON_STORETEST_RUN"
	envPoints = "RECKON_STORETEST_POINTS"
	envModel  = "RECKON_STORETEST_REGISTER" // register in this model instead of logging points
)

// WriterMain makes a test binary one writer of ConcurrentProcesses when
// the environment says so; call it first in TestMain. It exits the process.
func WriterMain(open Opener) {
	where := os.Getenv(envWhere)
	if where == "" {
		return
	}
	points, _ := strconv.Atoi(os.Getenv(envPoints))
	ctx := context.Background()
	s, err := open(ctx, where)
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(3)
	}
	if n, err := strconv.Atoi(os.Getenv(envSubmit)); err == nil {
		submitMain(s, n)
	}
	if m := os.Getenv(envModel); m != "" {
		reg, err := s.Register(ctx, store.Version{Model: m, RunID: os.Getenv(envRun), Artifact: store.Artifact{SHA256: "bytes of " + m}}, "champion", "process", "race")
		if err != nil {
			fmt.Fprintln(os.Stderr, "register:", err)
			os.Exit(4)
		}
		fmt.Printf("new=%v moved=%v\n", reg.New, reg.Moved)
		os.Exit(0)
	}
	const batch = 100 // more, smaller transactions than the goroutine test: more contention
	id := os.Getenv(envRun)
	for b := 0; b < points; b += batch {
		pts := make([]store.Point, min(batch, points-b))
		for i := range pts {
			pts[i] = store.Point{Key: "loss", Step: int64(b + i), Value: float64(b + i)}
		}
		if err := s.LogMetrics(ctx, id, pts); err != nil {
			fmt.Fprintln(os.Stderr, "writer:", err)
			os.Exit(4)
		}
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(5)
	}
	os.Exit(0)
}

// ConcurrentProcesses runs writers separate processes (this test binary
// again, through WriterMain), each logging points to a run of its own in
// the store at where, and checks that every point arrived and no process
// failed. With -short, 1,000 points each.
func ConcurrentProcesses(t *testing.T, open Opener, where string, writers, points int) {
	if testing.Short() {
		points = 1000
	}
	ctx := context.Background()
	s, err := open(ctx, where)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := make([]string, writers)
	envs := make([][]string, writers)
	for w := range writers {
		r, err := s.CreateRun(ctx, store.Run{Name: fmt.Sprint("process", w)})
		if err != nil {
			t.Fatal(err)
		}
		ids[w] = r.ID
		envs[w] = []string{envWhere + "=" + where, envRun + "=" + r.ID, envPoints + "=" + strconv.Itoa(points)}
	}
	runProcesses(t, "writer", envs)
	checkPoints(t, s, ids, writers*points)
}

// ConcurrentRegisterProcesses races procs processes (this test binary,
// through WriterMain) to register the same bytes with the champion alias,
// rounds times, each round in a model of its own, and checks each round
// made one version and one audit row.
func ConcurrentRegisterProcesses(t *testing.T, open Opener, where string, rounds, procs int) {
	ctx := context.Background()
	s, err := open(ctx, where)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := range rounds {
		model := fmt.Sprint("round", round)
		envs := make([][]string, procs)
		for p := range procs {
			run := succeededRun(t, s, fmt.Sprint(model, "-", p))
			envs[p] = []string{envWhere + "=" + where, envRun + "=" + run, envModel + "=" + model}
		}
		created := 0
		for _, out := range runProcesses(t, model+": process", envs) {
			if strings.Contains(out, "new=true moved=true") {
				created++
			}
		}
		CheckRegisteredOnce(t, s, model)
		vs, err := s.Versions(ctx, model)
		check(t, err)
		h, err := s.History(ctx, model)
		check(t, err)
		if len(vs) != 1 || len(h) != 1 || created != 1 {
			t.Errorf("%s: %d versions, %d audit rows, %d processes created one; want 1 each", model, len(vs), len(h), created)
		}
	}
}

// runProcesses runs this test binary once per environment, all at once
// (each acting through WriterMain), and returns their outputs; a process
// that fails is an error naming what (and its output).
func runProcesses(t *testing.T, what string, envs [][]string) []string {
	t.Helper()
	cmds := make([]*exec.Cmd, len(envs))
	outs := make([]*lockedBuffer, len(envs))
	for i, env := range envs {
		cmds[i] = exec.Command(os.Args[0], "-test.run=^$")
		cmds[i].Env = append(os.Environ(), env...)
		outs[i] = &lockedBuffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	res := make([]string, len(envs))
	for i, c := range cmds {
		err := c.Wait()
		res[i] = outs[i].String()
		if err != nil {
			t.Errorf("%s %d: %v: %s", what, i, err, res[i])
		}
	}
	return res
}

// checkPoints counts the "loss" points of the runs against want.
func checkPoints(t *testing.T, s store.Store, ids []string, want int) {
	t.Helper()
	total := 0
	for _, id := range ids {
		pts, err := s.Metric(context.Background(), id, "loss")
		if err != nil {
			t.Fatal(err)
		}
		total += len(pts)
	}
	if total != want {
		t.Errorf("%d points stored, want %d", total, want)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// check fails the test at once on a setup call's error: a suite that
// carried on would judge the back end on state it never reached.
func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustRun(t *testing.T, s store.Store, r store.Run) store.Run {
	t.Helper()
	r, err := s.CreateRun(context.Background(), r)
	check(t, err)
	return r
}

func mustGet(t *testing.T, s store.Store, id string) store.Run {
	t.Helper()
	r, err := s.GetRun(context.Background(), id)
	check(t, err)
	return r
}

// registerIfStale: a conditional registration whose expected alias target
// is out of date registers the bytes and leaves the alias (no flip back to
// a decision made against an older champion); one whose expectation holds
// moves it.
func registerIfStale(t *testing.T, s store.Store) {
	ctx := context.Background()
	run := succeededRun(t, s, "train")
	a, err := s.RegisterIf(ctx, store.Version{Model: "m", RunID: run, Artifact: store.Artifact{SHA256: "a"}}, "champion", 0, "x", "first")
	check(t, err)
	if !a.Moved || a.Stale {
		t.Fatalf("first conditional registration: %+v", a)
	}
	// Another run decided against "no champion" too, with other bytes.
	b, err := s.RegisterIf(ctx, store.Version{Model: "m", RunID: run, Artifact: store.Artifact{SHA256: "b"}}, "champion", 0, "y", "also first")
	check(t, err)
	if b.Moved || !b.Stale || b.AliasAt != 1 || !b.New || !strings.Contains(b.Version.Note, "moved to m:1") {
		t.Errorf("stale registration: %+v", b)
	}
	// Racing with the same bytes as the winner: nothing to do, not stale.
	c, err := s.RegisterIf(ctx, store.Version{Model: "m", RunID: run, Artifact: store.Artifact{SHA256: "a"}}, "champion", 0, "z", "same bytes")
	check(t, err)
	if c.Moved || c.Stale || c.New || c.Version.Version != 1 {
		t.Errorf("same bytes as the champion: %+v", c)
	}
	// A decision made against the current champion moves the alias.
	d, err := s.RegisterIf(ctx, store.Version{Model: "m", RunID: run, Artifact: store.Artifact{SHA256: "b"}}, "champion", 1, "y", "beats m:1")
	check(t, err)
	if !d.Moved || d.Stale || d.Version.Version != 2 {
		t.Errorf("up to date: %+v", d)
	}
	if h, _ := s.History(ctx, "m"); len(h) != 2 {
		t.Errorf("audit %+v, want 0->1, 1->2", h)
	}
}
