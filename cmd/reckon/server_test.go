package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
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
