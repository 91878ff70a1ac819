package localexec_test

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/localexec"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/sched/exectest"
)

// TestMain makes the test binary both the supervisor (reckon exec-attempt)
// and the job it runs (exectest's helpers).
func TestMain(m *testing.M) {
	localexec.SupervisorMain()
	exectest.ChildMain()
	os.Exit(m.Run())
}

var programs = exectest.Helpers

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	exectest.Run(t, func(t *testing.T) sched.Executor {
		e, err := localexec.New(localexec.Config{Dir: dir, Binary: os.Args[0], Env: []string{exectest.EnvChild + "=1"}, Grace: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}, programs)
}

// TestLostAttempt: an attempt whose processes were all killed (here the
// supervisor and the job, as a reboot would) is lost, not running and not
// exited.
func TestLostAttempt(t *testing.T) {
	e, err := localexec.New(localexec.Config{Dir: t.TempDir(), Binary: os.Args[0], Env: []string{exectest.EnvChild + "=1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context(), sched.Launch{Job: "j1", Attempt: 1, Args: programs.Sleep(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var b []byte
	for b == nil {
		time.Sleep(10 * time.Millisecond)
		b, _ = os.ReadFile(e.Dir("j1", 1) + "/pid")
	}
	pid, _ := strconv.Atoi(string(b[:len(b)-1]))
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	st := exectest.Wait(t, e, "j1", 1, 10*time.Second)
	if st.Phase != sched.PhaseLost {
		t.Errorf("status %+v, want lost", st)
	}
}
