// Package localexec runs scheduler jobs as processes of the reckon binary
// on this machine (a sched.Executor).
//
// Each attempt gets a directory, DIR/JOB/ATTEMPT, made with one mkdir: an
// attempt whose directory exists was started, so none starts twice. In it a
// small supervisor (reckon exec-attempt, a process of its own session)
// runs the job's reckon command with its output in log, and writes
// exit.json when it ends. The supervisor holds an exclusive flock on lock,
// inherited by the command, for as long as either lives. So a scheduler
// that was killed and restarted, or any other process, knows without pids
// or heartbeats whether an attempt runs (the lock is held), ended (exit.json
// says how) or was lost (neither: the machine rebooted, or the supervisor
// was killed along with the command).
package localexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/reckon-ml/reckon/sched"
)

// Config configures the executor.
type Config struct {
	// Dir holds the attempts' directories.
	Dir string
	// Binary is the reckon executable (default: this process's own).
	Binary string
	// Env are extra KEY=VALUE pairs for every attempt (tests use it to
	// make their binary act as reckon).
	Env []string
	// Grace is how long a cancelled attempt has between SIGTERM and
	// SIGKILL (default 30 s).
	Grace time.Duration
}

// Executor is the local executor.
type Executor struct{ c Config }

var _ sched.Executor = (*Executor)(nil)

// New returns an executor over c.Dir, which may hold attempts a previous
// executor started.
func New(c Config) (*Executor, error) {
	if c.Dir == "" {
		return nil, errors.New("localexec: no directory for the attempts")
	}
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("localexec: finding the reckon binary: %w", err)
		}
		c.Binary = exe
	}
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, err
	}
	return &Executor{c}, nil
}

// Dir is an attempt's directory.
func (e *Executor) Dir(job string, attempt int) string {
	return filepath.Join(e.c.Dir, job, strconv.Itoa(attempt))
}

// Command is the reckon subcommand that supervises an attempt.
const Command = "exec-attempt"

// Start makes the attempt's directory (ErrStarted if it exists), takes its
// lock and starts the supervisor with the lock inherited, in a session of
// its own so that a Ctrl-C to the scheduler does not reach it.
func (e *Executor) Start(ctx context.Context, l sched.Launch) error {
	if l.Job == "" || strings.ContainsAny(l.Job, `/\.`) || l.Attempt < 1 {
		return fmt.Errorf("localexec: bad attempt %q/%d", l.Job, l.Attempt)
	}
	dir := e.Dir(l.Job, l.Attempt)
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s attempt %d: %w", l.Job, l.Attempt, sched.ErrStarted)
		}
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("localexec: locking %s: %w", dir, err)
	}
	log, err := os.OpenFile(filepath.Join(dir, "log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer log.Close()
	args := append([]string{Command, "--dir", dir, "--grace", e.c.Grace.String(), "--"}, l.Args...)
	cmd := exec.Command(e.c.Binary, args...)
	cmd.Env = append(os.Environ(), e.c.Env...)
	cmd.Env = append(cmd.Env, l.Env...)
	cmd.Env = append(cmd.Env, "RECKON_JOB="+l.Job, "RECKON_ATTEMPT="+strconv.Itoa(l.Attempt),
		// Hide the GPUs the attempt does not hold (all of them for a
		// CPU job), and keep Go's threads within its CPUs.
		"CUDA_VISIBLE_DEVICES="+l.Devices)
	if l.CPU > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(int(math.Ceil(l.CPU))))
	}
	cmd.Dir = l.Dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.ExtraFiles = []*os.File{lock} // fd 3 in the supervisor
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localexec: starting %s: %w", l.Job, err)
	}
	go cmd.Wait() // reap it while this process lives; the lock says the rest
	return nil
}

// exit is exit.json.
type exit struct {
	Exit      int    `json:"exit"`
	Signal    string `json:"signal,omitempty"`
	Cancelled bool   `json:"cancelled,omitempty"`
	Message   string `json:"message,omitempty"`
}

// Status reads exit.json, else tries the lock.
func (e *Executor) Status(ctx context.Context, job string, attempt int) (sched.Status, error) {
	dir := e.Dir(job, attempt)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return sched.Status{Phase: sched.PhaseUnknown}, nil
	}
	if st, ok, err := readExit(dir); ok || err != nil {
		return st, err
	}
	held, err := locked(dir)
	if err != nil {
		return sched.Status{}, err
	}
	if held {
		return sched.Status{Phase: sched.PhaseRunning}, nil
	}
	// The lock was free: read exit.json again, in case the supervisor
	// wrote it and exited between the two looks.
	if st, ok, err := readExit(dir); ok || err != nil {
		return st, err
	}
	return sched.Status{Phase: sched.PhaseLost, Exit: -1, Message: "the attempt's processes are gone without an exit status (killed with the supervisor, or the machine restarted)"}, nil
}

func readExit(dir string) (sched.Status, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, "exit.json"))
	if errors.Is(err, os.ErrNotExist) {
		return sched.Status{}, false, nil
	}
	if err != nil {
		return sched.Status{}, false, err
	}
	var x exit
	if err := json.Unmarshal(b, &x); err != nil {
		return sched.Status{}, false, fmt.Errorf("%s: %w", filepath.Join(dir, "exit.json"), err)
	}
	return sched.Status{Phase: sched.PhaseExited, Exit: x.Exit, Message: x.Message, Cancelled: x.Cancelled}, true, nil
}

// locked reports whether a process holds the attempt's lock.
func locked(dir string) (bool, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, nil
}

// Cancel sends SIGTERM to the attempt's supervisor, which sends SIGKILL
// after the grace period, so the escalation happens even if this process
// dies meanwhile.
func (e *Executor) Cancel(ctx context.Context, job string, attempt int) error {
	dir := e.Dir(job, attempt)
	held, err := locked(dir)
	if err != nil || !held {
		return err // not running: nothing to stop
	}
	// The supervisor writes its pid once it handles SIGTERM; until then a
	// SIGTERM would kill it before it could record the exit.
	var b []byte
	for wait := time.Duration(0); ; wait += 10 * time.Millisecond {
		if b, err = os.ReadFile(filepath.Join(dir, "pid")); err == nil || !errors.Is(err, os.ErrNotExist) || wait > 10*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err != nil {
		return fmt.Errorf("localexec: %s attempt %d runs but its supervisor has not said its pid: %w", job, attempt, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("localexec: %s: bad pid %q", filepath.Join(dir, "pid"), b)
	}
	// The supervisor passes SIGTERM on and escalates. While the lock is
	// held its process group exists, so the id is not reused by an
	// unrelated process: if the supervisor alone is gone, its command is
	// still in the group.
	err = syscall.Kill(pid, syscall.SIGTERM)
	if errors.Is(err, syscall.ESRCH) {
		err = syscall.Kill(-pid, syscall.SIGTERM)
	}
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("localexec: stopping %s: %w", job, err)
	}
	return nil
}

// Logs opens the attempt's log.
func (e *Executor) Logs(ctx context.Context, job string, attempt int) (io.ReadCloser, error) {
	f, err := os.Open(filepath.Join(e.Dir(job, attempt), "log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s attempt %d has no log here (not started on this machine): %w", job, attempt, err)
	}
	return f, err
}

// Follow copies the attempt's log to w; with follow, it keeps copying
// what is appended every poll until the attempt stops running or ctx ends.
func Follow(ctx context.Context, e *Executor, job string, attempt int, w io.Writer, follow bool, poll time.Duration) error {
	r, err := e.Logs(ctx, job, attempt)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		if _, err := io.Copy(w, r); err != nil {
			return err
		}
		if !follow {
			return nil
		}
		st, err := e.Status(ctx, job, attempt)
		if err != nil {
			return err
		}
		if st.Phase != sched.PhaseRunning {
			_, err := io.Copy(w, r) // what it wrote before it exited
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}
