package localexec_test

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/localexec"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/sched/exectest"
)

const envChild = "LOCALEXEC_TEST_CHILD"

// TestMain makes the test binary both the supervisor (reckon exec-attempt)
// and the job it runs: "echo TEXT", "exit N", "sleep D", "stubborn D",
// "env KEY".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == localexec.Command {
		os.Exit(localexec.Main(os.Args[2:]))
	}
	if os.Getenv(envChild) == "1" && len(os.Args) == 3 {
		os.Exit(child(os.Args[1], os.Args[2]))
	}
	os.Exit(m.Run())
}

func child(what, arg string) int {
	switch what {
	case "echo":
		fmt.Println(arg)
	case "exit":
		n, _ := strconv.Atoi(arg)
		return n
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
			return 130
		case <-time.After(d):
		}
	case "env":
		fmt.Printf("%s=%s\n", arg, os.Getenv(arg))
	}
	return 0
}

var programs = exectest.Programs{
	Echo:     func(s string) []string { return []string{"echo", s} },
	Exit:     func(n int) []string { return []string{"exit", strconv.Itoa(n)} },
	Sleep:    func(d time.Duration) []string { return []string{"sleep", d.String()} },
	Stubborn: func(d time.Duration) []string { return []string{"stubborn", d.String()} },
	PrintEnv: func(k string) []string { return []string{"env", k} },
}

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	exectest.Run(t, func(t *testing.T) sched.Executor {
		e, err := localexec.New(localexec.Config{Dir: dir, Binary: os.Args[0], Env: []string{envChild + "=1"}, Grace: time.Second})
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
	e, err := localexec.New(localexec.Config{Dir: t.TempDir(), Binary: os.Args[0], Env: []string{envChild + "=1"}})
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
