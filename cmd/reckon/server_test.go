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
	srv := reckonProcess(t, &log, "--home", home, "server", "--addr", strings.TrimPrefix(addr, "http://"))
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
	if _, errs, code := reckonHome(t, elsewhere, "--server", addr, "models", "show", "tumor"); code != 1 || !strings.Contains(errs, "does not go through --server yet") {
		t.Errorf("a command that does not go through the server: exit %d %s", code, errs)
	}
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
