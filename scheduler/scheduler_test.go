package scheduler_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/localexec"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/sched/exectest"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/store/sqlite"
	"github.com/reckon-ml/reckon/store/sqlstore"
)

func TestMain(m *testing.M) {
	localexec.SupervisorMain()
	exectest.ChildMain()
	os.Exit(m.Run())
}

var h = exectest.Helpers

// env is a real SQLite store, blob directory and local executor.
type env struct {
	db   *sqlstore.DB
	exec *localexec.Executor
	b    *blobs.Bucket
	dir  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), filepath.Join(dir, "reckon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := blobs.Open(t.Context(), filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	e := &env{db: db, b: b, dir: dir}
	e.exec = e.executor(t)
	return e
}

func (e *env) executor(t *testing.T) *localexec.Executor {
	x, err := localexec.New(localexec.Config{Dir: filepath.Join(e.dir, "jobs"), Binary: os.Args[0], Env: []string{exectest.EnvChild + "=1"}, Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// queues: two teams, 2 CPUs each, one flavor with 2 GPUs each.
func queues() *sched.Queues {
	n := map[string]sched.Resources{"cpu": {CPU: 2}, "gpu": {GPUs: 2}}
	return &sched.Queues{File: "test", Flavors: []string{"cpu", "gpu"}, HalfLife: time.Hour,
		Teams: []sched.QueueTeam{{Name: "a", Nominal: n}, {Name: "b", Nominal: n}}}
}

func (e *env) scheduler(t *testing.T, holder string) *scheduler.Scheduler {
	s, err := scheduler.New(scheduler.Config{Jobs: e.db, Exec: e.exec, Queues: queues(), Holder: holder, Runs: e.db, Blobs: e.b,
		Devices: map[string][]string{"gpu": {"0", "1", "2", "3"}}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e *env) submit(t *testing.T, team string, cpu float64, args []string) string {
	t.Helper()
	r, err := e.db.SubmitJob(t.Context(), sched.Spec{Team: team, User: "u", Args: args, Flavor: "cpu", Request: sched.Resources{CPU: cpu}, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// untilIdle runs rounds until nothing is queued or running.
func untilIdle(t *testing.T, s *scheduler.Scheduler) []scheduler.Round {
	t.Helper()
	var rounds []scheduler.Round
	deadline := time.Now().Add(time.Minute)
	for {
		rd, err := s.Round(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		rounds = append(rounds, rd)
		if rd.Idle {
			return rounds
		}
		if time.Now().After(deadline) {
			t.Fatalf("not idle after a minute: %+v", rd)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) job(t *testing.T, id string) sched.Record {
	t.Helper()
	r, err := e.db.GetJob(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestJobsRunWithinCapacityAndEndOnce(t *testing.T) {
	e := newEnv(t)
	s := e.scheduler(t, "s1")
	// Team a: 4 CPUs of capacity in all, three 2-CPU jobs: two run, the
	// third waits with a reason.
	ids := []string{e.submit(t, "a", 2, h.Sleep(300*time.Millisecond)), e.submit(t, "a", 2, h.Echo("second")), e.submit(t, "a", 2, h.Exit(3))}
	rd, err := s.Round(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rd.Started, ids[:2]) {
		t.Fatalf("first round started %v, want %v", rd.Started, ids[:2])
	}
	r, ok := rd.Waiting[ids[2]]
	if !ok || r.Short() == "" || !strings.Contains(r.Text(), "CPUs") {
		t.Errorf("the third job's reason: %+v %q", r, r.Text())
	}
	_, why, _, err := scheduler.Why(t.Context(), e.db, queues(), ids[2], time.Now())
	if err != nil || !strings.Contains(why, "short by 2 CPUs") {
		t.Errorf("why: %q, %v", why, err)
	}
	untilIdle(t, s)
	want := []sched.State{sched.Succeeded, sched.Succeeded, sched.Failed}
	for i, id := range ids {
		j := e.job(t, id)
		at, err := e.db.Attempts(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != want[i] || len(at) != 1 || at[0].Log == "" {
			t.Errorf("%s: %s with %d attempts (log %q), want %s once with its log kept", id, j.State, len(at), at[0].Log, want[i])
		}
	}
	if j := e.job(t, ids[2]); j.ExitCode != 3 || j.Message != "exit status 3" {
		t.Errorf("failed job: exit %d, %q", j.ExitCode, j.Message)
	}
	at, _ := e.db.Attempts(t.Context(), ids[1])
	if b, err := e.b.Get(t.Context(), at[0].Log); err != nil || !strings.Contains(string(b), "second") {
		t.Errorf("kept log %q, %v", b, err)
	}
}

func TestCancelAndRetry(t *testing.T) {
	e := newEnv(t)
	s := e.scheduler(t, "s1")
	long := e.submit(t, "a", 1, h.Sleep(time.Minute))
	queued := e.submit(t, "a", 4, h.Echo("never"))
	retried, err := e.db.SubmitJob(t.Context(), sched.Spec{Team: "b", Args: h.Exit(1), Flavor: "cpu", Request: sched.Resources{CPU: 1}, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Round(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CancelJob(t.Context(), long, "cancelled by u"); err != nil {
		t.Fatal(err)
	}
	if j, err := e.db.CancelJob(t.Context(), queued, "cancelled by u"); err != nil || j.State != sched.Cancelled {
		t.Fatalf("cancel queued: %+v %v", j, err)
	}
	untilIdle(t, s)
	if j := e.job(t, long); j.State != sched.Cancelled || j.Attempt != 1 {
		t.Errorf("cancelled running job: %s after %d attempts", j.State, j.Attempt)
	}
	if j := e.job(t, retried.ID); j.State != sched.Failed || j.Attempt != 3 || j.Failures != 3 {
		t.Errorf("failing job with 3 attempts: %s, attempt %d, failures %d", j.State, j.Attempt, j.Failures)
	}
}

// TestPreemptedJobRequeues: team a borrows b's GPUs; when b submits, a's
// newest borrowed job is stopped and goes back to the queue, keeping its
// attempts, and runs again once there is room.
func TestPreemptedJobRequeues(t *testing.T) {
	e := newEnv(t)
	s := e.scheduler(t, "s1")
	gpu := func(team string, args []string) string {
		r, err := e.db.SubmitJob(t.Context(), sched.Spec{Team: team, Args: args, Flavor: "gpu", Request: sched.Resources{GPUs: 2}, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	a1, a2 := gpu("a", h.Sleep(400*time.Millisecond)), gpu("a", h.Sleep(time.Minute))
	rd, err := s.Round(t.Context())
	if err != nil || len(rd.Started) != 2 {
		t.Fatalf("round: %+v %v", rd, err)
	}
	if j := e.job(t, a2); !j.Borrowed || j.Devices == e.job(t, a1).Devices {
		t.Errorf("a2 %+v: want borrowed, on other GPUs than a1", j)
	}
	b1 := gpu("b", h.Echo("b's turn"))
	rd, err = s.Round(t.Context())
	if err != nil || !slices.Equal(rd.Preempted, []string{a2}) {
		t.Fatalf("round after b submitted: %+v %v; want a2 preempted", rd, err)
	}
	if len(rd.Started) != 0 || !slices.Equal(rd.Waiting[b1].Reclaiming, []string{a2}) {
		t.Errorf("b1 started %v before a2 stopped (waiting %+v)", rd.Started, rd.Waiting[b1])
	}
	_, why, _, err := scheduler.Why(t.Context(), e.db, queues(), b1, time.Now())
	if err != nil || !strings.Contains(why, "it starts as soon as "+a2+", preempted for it, have stopped") {
		t.Errorf("why b1: %q %v", why, err)
	}
	// b1 runs, a1 ends, and a2 runs again: its second attempt.
	deadline := time.Now().Add(time.Minute)
	for e.job(t, b1).State != sched.Succeeded || e.job(t, a2).Attempt < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("b1 %+v, a2 %+v", e.job(t, b1), e.job(t, a2))
		}
		if _, err := s.Round(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := e.db.CancelJob(t.Context(), a2, "test over"); err != nil {
		t.Fatal(err)
	}
	untilIdle(t, s)
	j := e.job(t, a2)
	at, _ := e.db.Attempts(t.Context(), a2)
	if len(at) != 2 || at[0].Outcome != sched.OutcomePreempted || at[1].Outcome != sched.OutcomeCancelled || j.Failures != 0 {
		t.Errorf("a2: %+v, attempts %+v; want preempted, then run again", j, at)
	}
}

func TestOneSchedulerHoldsTheLease(t *testing.T) {
	e := newEnv(t)
	s1, s2 := e.scheduler(t, "s1"), e.scheduler(t, "s2")
	if _, err := s1.Round(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Round(t.Context()); !errors.Is(err, scheduler.ErrLeaseHeld) {
		t.Fatalf("second scheduler: %v, want ErrLeaseHeld", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s1.Run(ctx, time.Millisecond, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Round(t.Context()); err != nil {
		t.Errorf("after s1 stopped and released the lease: %v", err)
	}
}

// TestRestartInTheMiddle: a scheduler admits and starts jobs, then is
// replaced (new process state: a new executor and scheduler over the same
// store and directory); every job ends once.
func TestRestartInTheMiddle(t *testing.T) {
	e := newEnv(t)
	s1 := e.scheduler(t, "s1")
	var ids []string
	for range 4 {
		ids = append(ids, e.submit(t, "a", 1, h.Sleep(500*time.Millisecond)))
	}
	if _, err := s1.Round(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The second scheduler's lease waits for the first's to expire; a
	// zero TTL stands for that here.
	e.exec = e.executor(t)
	s2, err := scheduler.New(scheduler.Config{Jobs: e.db, Exec: e.exec, Queues: queues(), Holder: "s1", Runs: e.db, Blobs: e.b})
	if err != nil {
		t.Fatal(err)
	}
	untilIdle(t, s2)
	for _, id := range ids {
		at, err := e.db.Attempts(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j := e.job(t, id); j.State != sched.Succeeded || len(at) != 1 {
			t.Errorf("%s: %s after %d attempts, want succeeded once", id, j.State, len(at))
		}
	}
}

// TestExpectedFromHistory: a job submitted without --expected takes the
// run time of the team's earlier jobs of the same name, so reservations
// and reasons have a start time to give.
func TestExpectedFromHistory(t *testing.T) {
	e := newEnv(t)
	s := e.scheduler(t, "s1")
	sub := scheduler.Submission{Team: "a", Args: h.Sleep(200 * time.Millisecond)}
	first, err := scheduler.Submit(t.Context(), e.db, queues(), sub)
	if err != nil {
		t.Fatal(err)
	}
	if first.Expected != 0 {
		t.Errorf("first job expected %s with no history", first.Expected)
	}
	untilIdle(t, s)
	second, err := scheduler.Submit(t.Context(), e.db, queues(), sub)
	if err != nil {
		t.Fatal(err)
	}
	if second.Expected < 200*time.Millisecond || second.Expected > 10*time.Second {
		t.Errorf("second job expected %s, want about the first's run time", second.Expected)
	}
	sub.CPU = 2 // another request: another history
	if third, err := scheduler.Submit(t.Context(), e.db, queues(), sub); err != nil || third.Expected != 0 {
		t.Errorf("third job (2 CPUs): expected %s, %v", third.Expected, err)
	}
}

// TestAdmitAllLeavesAdmissionToTheCluster: with AdmitAll (Kueue admits),
// a round hands every queued job to the executor, beyond the queues'
// quotas, those the policy would admit first.
func TestAdmitAllLeavesAdmissionToTheCluster(t *testing.T) {
	e := newEnv(t)
	s, err := scheduler.New(scheduler.Config{Jobs: e.db, Exec: e.exec, Queues: queues(), Holder: "s", AdmitAll: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{e.submit(t, "a", 2, h.Echo("1")), e.submit(t, "a", 2, h.Echo("2")), e.submit(t, "a", 2, h.Echo("3"))}
	rd, err := s.Round(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rd.Started, ids) || len(rd.Waiting) != 0 {
		t.Errorf("started %v (waiting %v), want all of %v: 6 CPUs asked of team a's 4", rd.Started, rd.Waiting, ids)
	}
	untilIdle(t, s)
}

// TestIndexedShardsHoldTheirRequestPerShard: under an executor that runs a
// sharded prediction as one Indexed Job, the job holds its request once
// per shard, so a 4-shard job of 2 CPUs waits where team a has 4.
func TestIndexedShardsHoldTheirRequestPerShard(t *testing.T) {
	e := newEnv(t)
	r, err := e.db.SubmitJob(t.Context(), sched.Spec{Team: "a", User: "u", Kind: sched.KindPredict, Shards: 4, Flavor: "cpu", Request: sched.Resources{CPU: 2}, MaxAttempts: 1,
		Args: []string{"predict", "--model", "m", "--data", "d", "--out-dir", "o", sched.ShardFlag, "4"}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(scheduler.Config{Jobs: e.db, Exec: e.exec, Queues: queues(), Holder: "s", IndexedShards: true})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := s.Round(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	w, held := rd.Waiting[r.ID]
	if len(rd.Started) != 0 || !held || w.Need.CPU != 8 {
		t.Errorf("started %v, waiting %+v: want it held, needing 8 CPUs", rd.Started, w)
	}
	if got := (sched.Record{Spec: sched.Spec{Shards: 4, Args: []string{"predict", sched.ShardFlag, "4", sched.IndexesFlag, "1,3"}}}).Pods(); got != 2 {
		t.Errorf("a retry of shards 1,3 runs %d pods, want 2", got)
	}
}

// TestWorkerToken: with Tokens, an attempt finds in RECKON_TOKEN a token
// of its team scoped to its job, named for its submitter, and revoked once
// the attempt has ended.
func TestWorkerToken(t *testing.T) {
	e := newEnv(t)
	s, err := scheduler.New(scheduler.Config{Jobs: e.db, Exec: e.exec, Queues: queues(), Holder: "h", Runs: e.db, Blobs: e.b, Tokens: e.db})
	if err != nil {
		t.Fatal(err)
	}
	id := e.submit(t, "b", 1, h.PrintEnv("RECKON_TOKEN"))
	untilIdle(t, s)
	at, err := e.db.Attempts(t.Context(), id)
	if err != nil || len(at) != 1 || at[0].Log == "" {
		t.Fatalf("attempts: %+v %v", at, err)
	}
	log, err := e.b.Get(t.Context(), at[0].Log)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimPrefix(strings.TrimSpace(string(log)), "RECKON_TOKEN=")
	if !strings.HasPrefix(secret, "rk_") {
		t.Fatalf("the attempt saw no token: %q", log)
	}
	tok, err := e.db.TokenByHash(t.Context(), auth.Hash(secret))
	if err != nil {
		t.Fatal(err)
	}
	p := tok.Principal()
	if p.Job != id || p.Team != "b" || p.Role != auth.Trainer || p.User != "u (job "+id+")" {
		t.Errorf("the worker's principal: %+v", p)
	}
	if !p.MayTouchJob(id, "") || p.MayTouchJob("j999", "") || !p.MayTouchJob("j999", id) {
		t.Error("a worker's token must touch its own job and its children only")
	}
	if _, err := auth.Check(t.Context(), e.db, secret, time.Now()); !errors.Is(err, auth.ErrRevoked) {
		t.Errorf("the token after its attempt ended: %v, want revoked", err)
	}
}
