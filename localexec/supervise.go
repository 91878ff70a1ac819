package localexec

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/reckon-ml/reckon/atomicfile"
)

// Main is reckon exec-attempt's command line: --dir DIR --grace D -- ARGS.
// The command it supervises is this binary with ARGS.
func Main(argv []string) int {
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	dir := fs.String("dir", "", "the attempt's directory")
	grace := fs.Duration("grace", 30*time.Second, "time between SIGTERM and SIGKILL")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "reckon exec-attempt: --dir is required (this command is run by the local executor)")
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reckon exec-attempt:", err)
		return 127
	}
	return Supervise(*dir, exe, fs.Args(), *grace)
}

// Supervise is reckon exec-attempt: it runs binary with args, its output
// going where the supervisor's own goes (the attempt's log), and writes
// dir/exit.json when the command ends. On SIGTERM or SIGINT it passes the
// signal on and sends SIGKILL after grace if the command is still running.
// The lock Start took arrives as fd 3 and stays open, inherited by the
// command, until both are gone. It returns the command's exit status.
func Supervise(dir, binary string, args []string, grace time.Duration) int {
	lock := os.NewFile(3, "lock")
	defer runtime.KeepAlive(lock)
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "reckon exec-attempt:", err)
		writeExit(dir, exit{Exit: 127, Message: err.Error()})
		return 127
	}
	if lock == nil {
		return fail(errors.New("no lock on fd 3 (run by the local executor only)"))
	}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// The pid file says SIGTERM is handled from now on (Cancel waits for it).
	if err := atomicfile.Write(filepath.Join(dir, "pid"), []byte(fmt.Sprintln(os.Getpid()))); err != nil {
		return fail(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{lock} // the command holds the lock too
	if err := cmd.Start(); err != nil {
		return fail(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	cancelled := false
	var kill <-chan time.Time
	for {
		select {
		case s := <-sigs:
			if !cancelled {
				cancelled = true
				fmt.Fprintf(os.Stderr, "reckon exec-attempt: %v: stopping the job (SIGKILL in %s if it has not stopped)\n", s, grace)
				cmd.Process.Signal(s)
				kill = time.After(grace)
			}
		case <-kill:
			fmt.Fprintf(os.Stderr, "reckon exec-attempt: still running %s after SIGTERM: SIGKILL\n", grace)
			cmd.Process.Kill()
		case err := <-done:
			x := exit{Cancelled: cancelled}
			var ee *exec.ExitError
			switch {
			case err == nil:
			case errors.As(err, &ee):
				x.Exit = ee.ExitCode()
				if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					x.Signal = ws.Signal().String()
					x.Message = "killed by " + x.Signal
				}
			default:
				x.Exit, x.Message = 127, err.Error()
			}
			if cancelled && x.Message == "" {
				x.Message = "stopped after SIGTERM"
			}
			if err := writeExit(dir, x); err != nil {
				fmt.Fprintln(os.Stderr, "reckon exec-attempt:", err)
			}
			return max(x.Exit, 0)
		}
	}
}

func writeExit(dir string, x exit) error {
	b, err := json.Marshal(x)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "exit.json"), append(b, '\n'))
}

// SupervisorMain makes a test binary its own supervisor when it is started
// as one (os.Args[1] is Command): it runs Main and exits. Call it first in
// TestMain, so that the binary can stand in for reckon.
func SupervisorMain() {
	if len(os.Args) > 1 && os.Args[1] == Command {
		os.Exit(Main(os.Args[2:]))
	}
}
