// Package exectest is the conformance suite every sched.Executor passes
// (restic's pattern, as for the stores): start, observe, exit status, logs,
// cancel with escalation, never starting an attempt twice, and a scheduler
// restarted in the middle finding what the previous one started.
package exectest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/sched"
)

// Programs are the reckon arguments of the commands the suite runs; each
// executor's test supplies them (a test binary acting as reckon, or the
// real image's helper).
type Programs struct {
	// Echo prints text and exits 0.
	Echo func(text string) []string
	// Exit exits with code.
	Exit func(code int) []string
	// Sleep runs for d, ending early (exit status != 0) on SIGTERM.
	Sleep func(d time.Duration) []string
	// Stubborn ignores SIGTERM and runs for d.
	Stubborn func(d time.Duration) []string
	// PrintEnv prints the value of an environment variable.
	PrintEnv func(key string) []string
}

// Factory returns a new executor over the same state each time it is
// called: a second call is a restarted scheduler's executor. Its grace
// period between SIGTERM and SIGKILL must be at most 2 s.
type Factory func(t *testing.T) sched.Executor

// Run runs the suite. Every subtest gets fresh job names.
func Run(t *testing.T, newExec Factory, p Programs) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e sched.Executor, newExec Factory, p Programs)
	}{
		{"ExitZeroAndLogs", exitZeroAndLogs},
		{"ExitStatus", exitStatus},
		{"NeverStartsTwice", neverStartsTwice},
		{"Cancel", cancel},
		{"CancelEscalatesToKill", cancelEscalates},
		{"RestartInTheMiddle", restart},
		{"Devices", devices},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newExec(t), newExec, p)
		})
	}
}

// Wait polls until the attempt is no longer running (or within).
func Wait(t *testing.T, e sched.Executor, job string, attempt int, within time.Duration) sched.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := e.Status(context.Background(), job, attempt)
		if err != nil {
			t.Fatalf("status of %s/%d: %v", job, attempt, err)
		}
		if st.Phase != sched.PhaseRunning {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%d still running after %s", job, attempt, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func start(t *testing.T, e sched.Executor, job string, args []string) {
	t.Helper()
	if err := e.Start(context.Background(), sched.Launch{Job: job, Attempt: 1, Team: "t", Args: args, CPU: 1}); err != nil {
		t.Fatalf("start %s: %v", job, err)
	}
}

func logs(t *testing.T, e sched.Executor, job string) string {
	t.Helper()
	r, err := e.Logs(context.Background(), job, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exitZeroAndLogs(t *testing.T, e sched.Executor, _ Factory, p Programs) {
	start(t, e, "echo", p.Echo("hello from the job"))
	st := Wait(t, e, "echo", 1, time.Minute)
	if st.Phase != sched.PhaseExited || st.Exit != 0 || st.Cancelled {
		t.Errorf("status %+v, want exited 0", st)
	}
	if l := logs(t, e, "echo"); !strings.Contains(l, "hello from the job") {
		t.Errorf("logs %q lack the job's output", l)
	}
}

func exitStatus(t *testing.T, e sched.Executor, _ Factory, p Programs) {
	start(t, e, "exit3", p.Exit(3))
	if st := Wait(t, e, "exit3", 1, time.Minute); st.Phase != sched.PhaseExited || st.Exit != 3 {
		t.Errorf("status %+v, want exited 3", st)
	}
}

func neverStartsTwice(t *testing.T, e sched.Executor, newExec Factory, p Programs) {
	ctx := context.Background()
	if st, err := e.Status(ctx, "never", 1); err != nil || st.Phase != sched.PhaseUnknown {
		t.Errorf("status of an attempt never started: %+v, %v; want unknown", st, err)
	}
	start(t, e, "once", p.Echo("once"))
	for i, x := range []sched.Executor{e, newExec(t)} {
		err := x.Start(ctx, sched.Launch{Job: "once", Attempt: 1, Args: p.Echo("twice")})
		if !errors.Is(err, sched.ErrStarted) {
			t.Errorf("executor %d: second start: %v, want ErrStarted", i, err)
		}
	}
	Wait(t, e, "once", 1, time.Minute)
	if l := logs(t, e, "once"); strings.Contains(l, "twice") {
		t.Errorf("the attempt ran twice: %q", l)
	}
	// The next attempt is a start of its own.
	if err := e.Start(ctx, sched.Launch{Job: "once", Attempt: 2, Args: p.Echo("second attempt")}); err != nil {
		t.Errorf("attempt 2: %v", err)
	}
	Wait(t, e, "once", 2, time.Minute)
}

func cancel(t *testing.T, e sched.Executor, _ Factory, p Programs) {
	start(t, e, "sleep", p.Sleep(time.Minute))
	waitRunning(t, e, "sleep")
	began := time.Now()
	if err := e.Cancel(context.Background(), "sleep", 1); err != nil {
		t.Fatal(err)
	}
	st := Wait(t, e, "sleep", 1, 30*time.Second)
	if st.Phase != sched.PhaseExited || !st.Cancelled || st.Exit == 0 {
		t.Errorf("status %+v, want exited non-zero, cancelled", st)
	}
	t.Logf("stopped %s after SIGTERM", time.Since(began).Round(time.Millisecond))
	if err := e.Cancel(context.Background(), "sleep", 1); err != nil {
		t.Errorf("cancel after the end: %v", err)
	}
}

func cancelEscalates(t *testing.T, e sched.Executor, _ Factory, p Programs) {
	start(t, e, "stubborn", p.Stubborn(time.Minute))
	waitRunning(t, e, "stubborn")
	time.Sleep(300 * time.Millisecond) // let it install its handler
	if err := e.Cancel(context.Background(), "stubborn", 1); err != nil {
		t.Fatal(err)
	}
	st := Wait(t, e, "stubborn", 1, 30*time.Second)
	if st.Phase != sched.PhaseExited || !st.Cancelled || st.Exit == 0 {
		t.Errorf("status %+v, want killed after the grace period", st)
	}
}

func restart(t *testing.T, e sched.Executor, newExec Factory, p Programs) {
	start(t, e, "long", p.Sleep(time.Minute))
	start(t, e, "short", p.Echo("done while nobody watched"))
	waitRunning(t, e, "long")
	// A restarted scheduler's executor sees both and can stop the one
	// still running.
	e2 := newExec(t)
	if st := Wait(t, e2, "short", 1, time.Minute); st.Phase != sched.PhaseExited || st.Exit != 0 {
		t.Errorf("short, seen after the restart: %+v", st)
	}
	if st, err := e2.Status(context.Background(), "long", 1); err != nil || st.Phase != sched.PhaseRunning {
		t.Fatalf("long, seen after the restart: %+v, %v; want running", st, err)
	}
	if err := e2.Cancel(context.Background(), "long", 1); err != nil {
		t.Fatal(err)
	}
	if st := Wait(t, e2, "long", 1, 30*time.Second); !st.Cancelled {
		t.Errorf("long after cancel: %+v", st)
	}
}

func devices(t *testing.T, e sched.Executor, _ Factory, p Programs) {
	if p.PrintEnv == nil {
		t.Skip("no PrintEnv program")
	}
	ctx := context.Background()
	err := e.Start(ctx, sched.Launch{Job: "gpu", Attempt: 1, Args: p.PrintEnv("CUDA_VISIBLE_DEVICES"), Devices: "2,3"})
	if err != nil {
		t.Fatal(err)
	}
	Wait(t, e, "gpu", 1, time.Minute)
	if l := logs(t, e, "gpu"); !strings.Contains(l, "CUDA_VISIBLE_DEVICES=2,3") {
		t.Errorf("log %q: want CUDA_VISIBLE_DEVICES=2,3", l)
	}
}

func waitRunning(t *testing.T, e sched.Executor, job string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := e.Status(context.Background(), job, 1)
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase == sched.PhaseRunning {
			return
		}
		if st.Phase != sched.PhaseUnknown || time.Now().After(deadline) {
			t.Fatalf("%s: %+v, want running", job, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// EnvChild makes a test binary, started as a job, one of Helpers'
// programs (see ChildMain).
const EnvChild = "RECKON_EXECTEST_CHILD"

// Helpers are Programs for a test binary whose TestMain calls ChildMain:
// "echo TEXT", "exit N", "sleep D", "stubborn D", "env KEY".
var Helpers = Programs{
	Echo:     func(s string) []string { return []string{"echo", s} },
	Exit:     func(n int) []string { return []string{"exit", strconv.Itoa(n)} },
	Sleep:    func(d time.Duration) []string { return []string{"sleep", d.String()} },
	Stubborn: func(d time.Duration) []string { return []string{"stubborn", d.String()} },
	PrintEnv: func(k string) []string { return []string{"env", k} },
}

// ChildMain runs one of Helpers' programs and exits, when the environment
// has EnvChild=1; call it first in TestMain.
func ChildMain() {
	if os.Getenv(EnvChild) != "1" || len(os.Args) != 3 {
		return
	}
	what, arg := os.Args[1], os.Args[2]
	code := 0
	switch what {
	case "echo":
		fmt.Println(arg)
	case "exit":
		code, _ = strconv.Atoi(arg)
	case "sleep", "stubborn":
		d, _ := time.ParseDuration(arg)
		sig := make(chan os.Signal, 1)
		if what == "stubborn" {
			signal.Ignore(syscall.SIGTERM)
		} else {
			signal.Notify(sig, syscall.SIGTERM)
		}
		select {
		case <-sig:
			fmt.Println("SIGTERM: stopping")
			code = 130
		case <-time.After(d):
		}
	case "env":
		fmt.Printf("%s=%s\n", arg, os.Getenv(arg))
	default:
		fmt.Fprintln(os.Stderr, "exectest: unknown helper", what)
		code = 2
	}
	os.Exit(code)
}
