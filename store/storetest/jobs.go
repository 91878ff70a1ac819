package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/store"
)

// jobs is the job store of s: every back end must be one.
func jobs(t *testing.T, s store.Store) sched.Store {
	t.Helper()
	js, ok := s.(sched.Store)
	if !ok {
		t.Fatalf("%T does not keep jobs (sched.Store)", s)
	}
	return js
}

func spec(team string, gpus int) sched.Spec {
	return sched.Spec{Team: team, User: "ana", Name: "tumor", Kind: sched.KindPipeline, Args: []string{"run", "-f", "p.yaml"}, Dir: "/home/ana/tumor",
		Flavor: "h100", Request: sched.Resources{CPU: 4, MemoryGB: 16, GPUs: gpus}, Priority: 100, MaxAttempts: 2, Expected: time.Hour}
}

func submitAndList(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	js := jobs(t, s)
	var ids []string
	for i, team := range []string{"tumor", "reentry", "tumor"} {
		r, err := js.SubmitJob(ctx, spec(team, i+1))
		check(t, err)
		if r.State != sched.Queued || !r.Submitted.Equal(clock.Now()) {
			t.Errorf("submitted %+v", r)
		}
		ids = append(ids, r.ID)
		clock.Advance(time.Second)
	}
	if !slices.Equal(ids, []string{"j1", "j2", "j3"}) {
		t.Errorf("ids %v, want j1 j2 j3", ids)
	}
	got, err := js.GetJob(ctx, "j2")
	check(t, err)
	want := spec("reentry", 2)
	if got.Team != want.Team || !slices.Equal(got.Args, want.Args) || got.Request != want.Request || got.Dir != want.Dir || got.Expected != want.Expected ||
		got.MaxAttempts != 2 || got.Priority != 100 || got.Kind != sched.KindPipeline || got.Flavor != "h100" || got.User != "ana" {
		t.Errorf("GetJob = %+v, want the spec %+v", got, want)
	}
	if _, err := js.GetJob(ctx, "j9"); !errors.Is(err, sched.ErrJobNotFound) {
		t.Errorf("GetJob(j9): %v, want ErrJobNotFound", err)
	}
	list := func(q sched.JobQuery) []string {
		rs, err := js.ListJobs(ctx, q)
		check(t, err)
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := list(sched.JobQuery{Team: "tumor"}); !slices.Equal(got, []string{"j1", "j3"}) {
		t.Errorf("team tumor: %v", got)
	}
	if got := list(sched.JobQuery{Limit: 2}); !slices.Equal(got, []string{"j2", "j3"}) {
		t.Errorf("limit 2: %v, want the newest two oldest first", got)
	}
	_, err = js.AdmitJob(ctx, "j1", false, "0")
	check(t, err)
	if got := list(sched.JobQuery{States: []sched.State{sched.Admitted, sched.Running}}); !slices.Equal(got, []string{"j1"}) {
		t.Errorf("admitted or running: %v", got)
	}
	if _, err := js.SubmitJob(ctx, sched.Spec{Team: "bad team"}); err == nil {
		t.Error("a team name with a space was accepted")
	}
}

func jobStateMachine(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	js := jobs(t, s)
	r, err := js.SubmitJob(ctx, spec("tumor", 8))
	check(t, err)
	a, err := js.AdmitJob(ctx, r.ID, true, "0,1,2,3,4,5,6,7")
	check(t, err)
	if a.State != sched.Admitted || a.Attempt != 1 || !a.Borrowed || a.Devices != "0,1,2,3,4,5,6,7" || a.Admitted.IsZero() {
		t.Errorf("admitted: %+v", a)
	}
	if _, err := js.AdmitJob(ctx, r.ID, false, ""); !errors.Is(err, sched.ErrConflict) {
		t.Errorf("second admission: %v, want ErrConflict", err)
	}
	if err := js.StartJob(ctx, r.ID, 2); !errors.Is(err, sched.ErrConflict) {
		t.Errorf("start of attempt 2: %v, want ErrConflict", err)
	}
	check(t, js.StartJob(ctx, r.ID, 1))
	check(t, js.SetWaiting(ctx, r.ID, 1, true))
	if w, _ := js.GetJob(ctx, r.ID); !w.Waiting || w.PolicyJob().Request != (sched.Resources{}) {
		t.Errorf("waiting for children: %+v, policy request %+v; want none counted", w, w.PolicyJob().Request)
	}
	if err := js.SetWaiting(ctx, r.ID, 2, true); !errors.Is(err, sched.ErrConflict) {
		t.Errorf("waiting at attempt 2: %v, want ErrConflict", err)
	}
	clock.Advance(30 * time.Minute)
	if err := js.PreemptJob(ctx, r.ID, 2, "x"); !errors.Is(err, sched.ErrConflict) {
		t.Errorf("preempting attempt 2: %v, want ErrConflict", err)
	}
	check(t, js.PreemptJob(ctx, r.ID, 1, "preempted for team reentry"))
	if p, err := js.GetJob(ctx, r.ID); err != nil || !p.Preempting || p.State != sched.Running {
		t.Errorf("preempting: %+v, %v", p, err)
	}
	// Preempted: back in the queue, the attempt kept, not a failure.
	q, err := js.EndAttempt(ctx, r.ID, 1, sched.End{Outcome: sched.OutcomePreempted, Exit: -1, Message: "preempted for team reentry"})
	check(t, err)
	if q.State != sched.Queued || q.Attempt != 1 || q.Failures != 0 || q.Borrowed || q.Preempting || q.Waiting || q.Devices != "" || !q.Ended.IsZero() {
		t.Errorf("after preemption: %+v", q)
	}
	if _, err := js.EndAttempt(ctx, r.ID, 1, sched.End{Outcome: sched.OutcomeSucceeded}); !errors.Is(err, sched.ErrConflict) {
		t.Errorf("attempt 1 ended twice: %v, want ErrConflict", err)
	}
	// A failure with an attempt left goes back to the queue; the next
	// failure ends it.
	_, err = js.AdmitJob(ctx, r.ID, false, "")
	check(t, err)
	q, err = js.EndAttempt(ctx, r.ID, 2, sched.End{Outcome: sched.OutcomeFailed, Exit: 3})
	check(t, err)
	if q.State != sched.Queued || q.Failures != 1 || q.ExitCode != 3 {
		t.Errorf("after the first failure: %+v", q)
	}
	_, err = js.AdmitJob(ctx, r.ID, false, "")
	check(t, err)
	q, err = js.EndAttempt(ctx, r.ID, 3, sched.End{Outcome: sched.OutcomeLost, Exit: -1, Message: "process gone"})
	check(t, err)
	if q.State != sched.Failed || q.Failures != 2 || q.Ended.IsZero() || q.Message != "process gone" {
		t.Errorf("after the second failure: %+v", q)
	}
	at, err := js.Attempts(ctx, r.ID)
	check(t, err)
	if len(at) != 3 || at[0].Outcome != sched.OutcomePreempted || at[0].GPUs != 8 || at[0].Ended.Sub(at[0].Started) != 30*time.Minute ||
		at[2].Outcome != sched.OutcomeLost {
		t.Errorf("attempts: %+v", at)
	}
	if _, err := js.CancelJob(ctx, r.ID, "x"); !errors.Is(err, sched.ErrJobFinished) {
		t.Errorf("cancel of a failed job: %v, want ErrJobFinished", err)
	}

	// Cancelling a queued job ends it; cancelling a running one asks for
	// it to stop, and its attempt then ends it cancelled.
	c1, err := js.SubmitJob(ctx, spec("tumor", 1))
	check(t, err)
	c1, err = js.CancelJob(ctx, c1.ID, "cancelled by ana")
	check(t, err)
	if c1.State != sched.Cancelled || c1.Ended.IsZero() {
		t.Errorf("cancelled queued job: %+v", c1)
	}
	if _, err := js.AdmitJob(ctx, c1.ID, false, ""); !errors.Is(err, sched.ErrConflict) {
		t.Errorf("admission of a cancelled job: %v", err)
	}
	c2, err := js.SubmitJob(ctx, spec("tumor", 1))
	check(t, err)
	_, err = js.AdmitJob(ctx, c2.ID, false, "")
	check(t, err)
	check(t, js.StartJob(ctx, c2.ID, 1))
	c2, err = js.CancelJob(ctx, c2.ID, "cancelled by ana")
	check(t, err)
	if c2.State != sched.Running || !c2.CancelRequested {
		t.Errorf("cancel of a running job: %+v", c2)
	}
	c2, err = js.EndAttempt(ctx, c2.ID, 1, sched.End{Outcome: sched.OutcomeFailed, Exit: -1, Message: "SIGTERM"})
	check(t, err)
	if c2.State != sched.Cancelled {
		t.Errorf("running job cancelled, then its attempt ended: %s, want cancelled", c2.State)
	}
	check(t, js.LinkRun(ctx, c2.ID, "run-b"))
	check(t, js.LinkRun(ctx, c2.ID, "run-a"))
	check(t, js.LinkRun(ctx, c2.ID, "run-a"))
	c2, err = js.GetJob(ctx, c2.ID)
	check(t, err)
	if !slices.Equal(c2.Runs, []string{"run-a", "run-b"}) {
		t.Errorf("runs %v", c2.Runs)
	}
	if err := js.LinkRun(ctx, "j99", "r"); !errors.Is(err, sched.ErrJobNotFound) {
		t.Errorf("link to an unknown job: %v", err)
	}
}

func jobUsage(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	js := jobs(t, s)
	start := clock.Now()
	for _, team := range []string{"tumor", "reentry"} {
		r, err := js.SubmitJob(ctx, spec(team, 4))
		check(t, err)
		_, err = js.AdmitJob(ctx, r.ID, false, "")
		check(t, err)
	}
	clock.Advance(2 * time.Hour)
	_, err := js.EndAttempt(ctx, "j1", 1, sched.End{Outcome: sched.OutcomeSucceeded})
	check(t, err)
	clock.Advance(time.Hour)
	at, err := js.AttemptsSince(ctx, start)
	check(t, err)
	u := sched.Usage(at, clock.Now(), time.Hour)
	// tumor: 8 GPU-hours ended an hour ago (one half-life): 4; reentry:
	// 12 GPU-hours so far, still running.
	if len(at) != 2 || u["tumor"] != 4 || u["reentry"] != 12 {
		t.Errorf("usage %v from %+v", u, at)
	}
	at, err = js.AttemptsSince(ctx, clock.Now())
	check(t, err)
	if len(at) != 1 || at[0].Job != "j2" {
		t.Errorf("attempts open or ended since now: %+v", at)
	}
}

func leases(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	js := jobs(t, s)
	got := func(holder string) bool {
		ok, err := js.AcquireLease(ctx, "scheduler", holder, time.Minute)
		check(t, err)
		return ok
	}
	if !got("a") || got("b") || !got("a") {
		t.Fatal("a takes and renews the lease, b is refused")
	}
	clock.Advance(59 * time.Second)
	if got("b") {
		t.Fatal("b took a lease renewed 59 s ago with a 1 min ttl")
	}
	clock.Advance(2 * time.Second)
	if !got("b") || got("a") {
		t.Fatal("b takes the expired lease and a is refused")
	}
	check(t, js.ReleaseLease(ctx, "scheduler", "a")) // not a's: no effect
	if got("a") {
		t.Fatal("a's release freed b's lease")
	}
	check(t, js.ReleaseLease(ctx, "scheduler", "b"))
	if !got("a") {
		t.Fatal("the released lease was not free")
	}
}

// concurrentJobs: goroutines submit at once and race to admit the same
// jobs; every submission gets its own id and each job is admitted once.
func concurrentJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	js := jobs(t, s)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	ids := make([][]string, workers)
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for range each {
				r, err := js.SubmitJob(ctx, spec(fmt.Sprint("team", w%4), 1))
				if err != nil {
					errs <- err
					return
				}
				ids[w] = append(ids[w], r.ID)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	CheckJobIDs(t, js, workers*each)
	var admitted sync.Map
	for range workers {
		wg.Go(func() {
			for n := 1; n <= workers*each; n++ {
				id := "j" + strconv.Itoa(n)
				if _, err := js.AdmitJob(ctx, id, false, ""); err == nil {
					if _, dup := admitted.LoadOrStore(id, true); dup {
						t.Errorf("%s admitted twice", id)
					}
				} else if !errors.Is(err, sched.ErrConflict) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for n := 1; n <= workers*each; n++ {
		at, err := js.Attempts(ctx, "j"+strconv.Itoa(n))
		check(t, err)
		if len(at) != 1 {
			t.Errorf("j%d: %d attempts, want 1", n, len(at))
		}
	}
}

// CheckJobIDs checks the store holds n jobs numbered j1..jn, each once.
func CheckJobIDs(t *testing.T, js sched.Store, n int) {
	t.Helper()
	all, err := js.ListJobs(context.Background(), sched.JobQuery{})
	check(t, err)
	if len(all) != n {
		t.Fatalf("%d jobs stored, want %d", len(all), n)
	}
	for i, r := range all {
		if r.ID != "j"+strconv.Itoa(i+1) {
			t.Fatalf("job %d is %s, want j%d (ids in submission order, none twice)", i, r.ID, i+1)
		}
	}
}

const envSubmit = "RECKON_STORETEST_SUBMIT" // submit this many jobs instead of logging points

// submitMain is WriterMain's submitter: it submits n jobs.
func submitMain(s store.Store, n int) {
	js, ok := s.(sched.Store)
	if !ok {
		fmt.Fprintln(os.Stderr, "submit: the store keeps no jobs")
		os.Exit(6)
	}
	for range n {
		if _, err := js.SubmitJob(context.Background(), spec("team", 1)); err != nil {
			fmt.Fprintln(os.Stderr, "submit:", err)
			os.Exit(4)
		}
	}
	os.Exit(0)
}

// ConcurrentSubmitProcesses runs procs processes (this test binary, through
// WriterMain) that each submit n jobs to the store at where at once, and
// checks every job got its own id.
func ConcurrentSubmitProcesses(t *testing.T, open Opener, where string, procs, n int) {
	ctx := context.Background()
	s, err := open(ctx, where)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	envs := make([][]string, procs)
	for p := range procs {
		envs[p] = []string{envWhere + "=" + where, envSubmit + "=" + strconv.Itoa(n)}
	}
	runProcesses(t, "submitter", envs)
	CheckJobIDs(t, jobs(t, s), procs*n)
}
