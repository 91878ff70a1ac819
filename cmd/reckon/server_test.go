package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTokensAndServer (issue 16): a token is printed once and listed
// without its secret; reckon server answers it on its team's runs, refuses
// another team's (403) and no token (401), stops on SIGTERM with exit 0;
// a revoked token gets 401.
func TestTokensAndServer(t *testing.T) {
	home := t.TempDir()
	out := mustReckonHome(t, home, "--json", "tokens", "create", "--user", "ana", "--team", "oncology", "--role", "viewer", "--expires", "30d")
	var tok struct{ ID, Secret string }
	if err := json.Unmarshal([]byte(out), &tok); err != nil || !strings.HasPrefix(tok.Secret, "rk_") {
		t.Fatalf("%v %s", err, out)
	}
	if ls := mustReckonHome(t, home, "tokens", "ls"); !strings.Contains(ls, tok.ID) || strings.Contains(ls, tok.Secret) {
		t.Errorf("tokens ls:\n%s", ls)
	}
	for _, bad := range [][]string{{"--user", "x", "--team", "t", "--role", "root"}, {"--team", "t", "--role", "viewer"}, {"--user", "x", "--team", "t", "--role", "viewer", "--expires", "soon"}} {
		if _, errs, code := reckonHome(t, home, append([]string{"tokens", "create"}, bad...)...); code != 1 || errs == "" {
			t.Errorf("tokens create %v: exit %d", bad, code)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var log bytes.Buffer
	srv := reckonProcess(t, &log, "--home", home, "server", "--addr", addr)
	get := func(path, secret string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		for range 100 {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				time.Sleep(50 * time.Millisecond) // still starting
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		t.Fatalf("the server never answered:\n%s", log.String())
		return 0, ""
	}
	for _, c := range []struct {
		path, secret string
		want         int
	}{
		{"/api/v1/whoami", tok.Secret, 200},
		{"/api/v1/runs", tok.Secret, 200},
		{"/api/v1/runs?team=reentry", tok.Secret, 403},
		{"/api/v1/runs", "", 401},
	} {
		if code, body := get(c.path, c.secret); code != c.want {
			t.Errorf("%s: %d, want %d\n%s", c.path, code, c.want, body)
		}
	}
	mustReckonHome(t, home, "tokens", "revoke", tok.ID)
	if code, _ := get("/api/v1/whoami", tok.Secret); code != 401 {
		t.Errorf("a revoked token: %d", code)
	}
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, log.String())
	}
	if strings.Contains(log.String(), tok.Secret) {
		t.Error("the token is in the server's log")
	}
}

// TestCLIThroughServer (issue 16): with --server and $RECKON_TOKEN, runs
// ls, runs show and models ls print what they print from the store; a
// token of another team sees none of the team's runs, and a bad token is
// an error that says so.
func TestCLIThroughServer(t *testing.T) {
	home := t.TempDir()
	pipe := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(pipe, []byte(smallTumor), 0o644)
	mustReckonHome(t, home, "run", "-f", pipe)
	token := func(team, role string) string {
		var tok struct{ Secret string }
		json.Unmarshal([]byte(mustReckonHome(t, home, "--json", "tokens", "create", "--user", "u", "--team", team, "--role", role)), &tok)
		return tok.Secret
	}
	admin, other := token("oncology", "admin"), token("reentry", "viewer")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	var log bytes.Buffer
	jobDir := t.TempDir()
	srv := reckonProcess(t, &log, "--home", home, "server", "--addr", strings.TrimPrefix(addr, "http://"), "--job-dir", jobDir)
	defer func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() }()
	for range 100 { // until it answers
		if resp, err := http.Get(addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	elsewhere := t.TempDir() // no store here: everything must come from the server
	t.Setenv("RECKON_TOKEN", admin)
	for _, args := range [][]string{{"runs", "ls"}, {"runs", "ls", "--sort", "metric:roc_auc:desc", "--limit", "2"}, {"models", "ls"}, {"models", "history", "tumor"}, {"--json", "models", "history", "tumor"}} {
		want := mustReckonHome(t, home, args...)
		got := mustReckonHome(t, elsewhere, append([]string{"--server", addr}, args...)...)
		if got != want {
			t.Errorf("%v through the server:\n%s\nfrom the store:\n%s", args, got, want)
		}
	}
	id := strings.Fields(strings.Split(mustReckonHome(t, home, "runs", "ls", "--limit", "1"), "\n")[1])[0]
	if got, want := mustReckonHome(t, elsewhere, "--server", addr, "runs", "show", id), mustReckonHome(t, home, "runs", "show", id); got != want {
		t.Errorf("runs show through the server:\n%s\nfrom the store:\n%s", got, want)
	}
	// A promotion through the server: the audit log names the token's user.
	if out := mustReckonHome(t, elsewhere, "--server", addr, "models", "promote", "tumor:1", "--alias", "stable", "--reason", "through the API"); !strings.Contains(out, "tumor@stable -> tumor:1 (u: through the API)") {
		t.Errorf("promote through the server: %s", out)
	}
	if h := mustReckonHome(t, home, "models", "history", "tumor"); !strings.Contains(h, "stable") || !strings.Contains(h, "through the API") {
		t.Errorf("history after promoting through the server:\n%s", h)
	}
	if _, errs, code := reckonHome(t, elsewhere, "--server", addr, "verify"); code != 1 || !strings.Contains(errs, "does not go through --server") {
		t.Errorf("a command that does not go through the server: exit %d %s", code, errs)
	}
	cliThroughServerModels(t, home, elsewhere, addr)
	cliThroughServerJobs(t, home, elsewhere, addr, jobDir)
	t.Setenv("RECKON_TOKEN", other)
	if out := mustReckonHome(t, elsewhere, "--server", addr, "runs", "ls"); strings.Contains(out, id) {
		t.Errorf("another team's token sees the runs:\n%s", out)
	}
	if _, errs, code := reckonHome(t, elsewhere, "--server", addr, "runs", "show", id); code != 1 || !strings.Contains(errs, "may not read") {
		t.Errorf("another team's run: exit %d %s", code, errs)
	}
	t.Setenv("RECKON_TOKEN", "rk_nope")
	if _, errs, code := reckonHome(t, elsewhere, "--server", addr, "runs", "ls"); code != 1 || !strings.Contains(errs, "unknown token") {
		t.Errorf("a bad token: exit %d %s", code, errs)
	}
	t.Setenv("RECKON_TOKEN", "")
	if _, errs, code := reckonHome(t, elsewhere, "--server", addr, "runs", "ls"); code != 1 || !strings.Contains(errs, "RECKON_TOKEN") {
		t.Errorf("no token: exit %d %s", code, errs)
	}
}

// cliThroughServerModels: models show (and its model file), predict,
// eval and monitor with a registered model, and monitor ls, through the
// server, answer what they answer from the store.
func cliThroughServerModels(t *testing.T, home, elsewhere, addr string) {
	for _, args := range [][]string{{"models", "show", "tumor@champion"}, {"--json", "models", "show", "tumor:1"}} {
		if got, want := mustReckonHome(t, elsewhere, append([]string{"--server", addr}, args...)...), mustReckonHome(t, home, args...); got != want {
			t.Errorf("%v through the server:\n%s\nfrom the store:\n%s", args, got, want)
		}
	}
	dir := t.TempDir()
	mustReckonHome(t, home, "models", "show", "tumor:1", "--out", filepath.Join(dir, "local.rkm"))
	mustReckonHome(t, elsewhere, "--server", addr, "models", "show", "tumor:1", "--out", filepath.Join(dir, "remote.rkm"))
	if a, b := readFile(t, filepath.Join(dir, "local.rkm")), readFile(t, filepath.Join(dir, "remote.rkm")); a != b || a == "" {
		t.Error("models show --out through the server wrote another file than from the store")
	}
	csv, _ := filepath.Abs("../../examples/tumor/breast_cancer_wisconsin_clean.csv")
	local, remote := filepath.Join(dir, "local"), filepath.Join(dir, "remote")
	mustReckonHome(t, home, "predict", "--model", "tumor@champion", "--input", csv, "--out", local)
	if out := mustReckonHome(t, elsewhere, "--server", addr, "predict", "--model", "tumor@champion", "--input", csv, "--out", remote); !strings.Contains(out, "tumor:1: 569 read, 569 predicted, 0 failed") {
		t.Errorf("predict through the server:\n%s", out)
	}
	for _, name := range []string{"predictions-*.csv"} {
		l, _ := filepath.Glob(filepath.Join(local, name))
		r, _ := filepath.Glob(filepath.Join(remote, name))
		if len(l) != 1 || len(r) != 1 || readFile(t, l[0]) != readFile(t, r[0]) {
			t.Errorf("%s through the server differs from the store's: %v %v", name, l, r)
		}
	}
	if out := mustReckonHome(t, elsewhere, "--server", addr, "eval", "--model", "tumor:1", "--data", csv, "--plots", "-"); !strings.Contains(out, "ROC AUC") {
		t.Errorf("eval through the server:\n%s", out)
	}
	if _, errs, code := reckonHome(t, elsewhere, "--server", addr, "monitor", "--model", "tumor@champion", "--input", csv); code != 0 || !strings.Contains(errs, "recorded against tumor:1") {
		t.Errorf("monitor --model through the server: exit %d %s", code, errs)
	}
	want := mustReckonHome(t, home, "monitor", "ls", "tumor")
	if got := mustReckonHome(t, elsewhere, "--server", addr, "monitor", "ls", "tumor"); got != want || strings.Count(want, "\n") != 4 {
		t.Errorf("monitor ls through the server (want predict's and monitor's checks):\n%s\nfrom the store:\n%s", got, want)
	}
}

// cliThroughServerJobs: jobs submitted through the server run in its job
// directory; jobs ls, show, why, logs and queues print what they print
// from the store; cancel names the token's user.
func cliThroughServerJobs(t *testing.T, home, elsewhere, addr, jobDir string) {
	out := mustReckonHome(t, elsewhere, "--server", addr, "--json", "jobs", "submit", "--team", "oncology", "--", "data", "gen", "reentry", "--count", "2", "--out-dir", "tracks")
	var j struct{ ID, User string }
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.User != "u" {
		t.Fatalf("submit through the server (want the token's user): %v %s", err, out)
	}
	pipe := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(pipe, []byte(smallTumor), 0o644)
	out = mustReckonHome(t, elsewhere, "--server", addr, "--json", "jobs", "submit", "-f", pipe)
	var pj struct {
		ID   string
		Args []string
	}
	if err := json.Unmarshal([]byte(out), &pj); err != nil || len(pj.Args) < 3 || filepath.Dir(pj.Args[2]) != jobDir {
		t.Fatalf("a pipeline through the server (want it kept in the job directory): %v %s", err, out)
	}
	if _, errs, code := reckonHome(t, elsewhere, "--server", addr, "jobs", "submit", "--team", "oncology", "--", "tokens", "create", "--role", "admin"); code != 1 || !strings.Contains(errs, "args[0]") {
		t.Errorf("a tokens job through the server: exit %d %s", code, errs)
	}
	if out := mustReckonHome(t, elsewhere, "--server", addr, "jobs", "cancel", pj.ID, "--reason", "not now"); !strings.Contains(out, pj.ID+" cancelled") {
		t.Errorf("cancel through the server: %s", out)
	}
	for _, args := range [][]string{{"jobs", "ls"}, {"--json", "jobs", "ls", "--status", "cancelled"}, {"jobs", "show", j.ID}, {"jobs", "show", pj.ID}, {"jobs", "why", j.ID}, {"--json", "jobs", "why", j.ID}, {"queues"}, {"--json", "queues"}} {
		if got, want := mustReckonHome(t, elsewhere, append([]string{"--server", addr}, args...)...), mustReckonHome(t, home, args...); got != want {
			t.Errorf("%v through the server:\n%s\nfrom the store:\n%s", args, got, want)
		}
	}
	if show := mustReckonHome(t, home, "jobs", "show", pj.ID); !strings.Contains(show, "cancelled by u: not now") {
		t.Errorf("the cancelled job's record does not name the token's user:\n%s", show)
	}
	var log bytes.Buffer
	waitIdle(t, reckonProcess(t, &log, "--home", home, "scheduler", "--exit-when-idle", "--interval", "100ms"), &log, time.Minute)
	if _, err := os.Stat(filepath.Join(jobDir, "tracks")); err != nil {
		t.Errorf("the job did not run in the server's job directory: %v", err)
	}
	got, want := mustReckonHome(t, elsewhere, "--server", addr, "jobs", "logs", j.ID), mustReckonHome(t, home, "jobs", "logs", j.ID)
	if got != want || !strings.Contains(want, "track") {
		t.Errorf("jobs logs through the server:\n%s\nfrom the store:\n%s", got, want)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Error(err)
	}
	return string(b)
}
