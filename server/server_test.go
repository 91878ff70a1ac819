package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/sqlite"
)

type fixture struct {
	srv     *Server
	tokens  map[auth.Role]string // team oncology
	own     string               // a run of oncology
	other   string               // a run of reentry
	revoked string
	expired string
	jobs    map[string][]string // team -> job ids, one per role and two more
	logs    *bytes.Buffer
}

// newFixture is a server on a real SQLite store with a token per role in
// team oncology, a run in oncology and one in reentry, and a model.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "reckon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	f := &fixture{tokens: map[auth.Role]string{}, logs: &bytes.Buffer{}, jobs: map[string][]string{}}
	mint := func(role auth.Role, expires time.Time) (string, auth.Token) {
		secret, hash, err := auth.NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := db.CreateToken(ctx, auth.Token{User: string(role) + "-user", Team: "oncology", Role: role, Hash: hash, Expires: expires})
		if err != nil {
			t.Fatal(err)
		}
		return secret, tok
	}
	for _, r := range auth.Roles {
		f.tokens[r], _ = mint(r, time.Time{})
	}
	var tok auth.Token
	f.revoked, tok = mint(auth.Admin, time.Time{})
	if err := db.RevokeToken(ctx, tok.ID, now); err != nil {
		t.Fatal(err)
	}
	f.expired, _ = mint(auth.Admin, now.Add(-time.Minute))
	for team, id := range map[string]*string{"oncology": &f.own, "reentry": &f.other} {
		r, err := db.CreateRun(ctx, store.Run{Name: team + "/train", Team: team, User: "ana", Status: store.Running})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.LogMetrics(ctx, r.ID, []store.Point{{Key: "roc_auc", Value: 0.9}}); err != nil {
			t.Fatal(err)
		}
		if err := db.Finish(ctx, r.ID, store.Succeeded); err != nil {
			t.Fatal(err)
		}
		*id = r.ID
	}
	for name, run := range map[string]string{"tumor": f.own, "reentry": f.other} {
		if _, err := db.Register(ctx, store.Version{Model: name, RunID: run, Kind: "logistic", Artifact: store.Artifact{Key: "k", SHA256: "s"}}, "champion", "ana", "first"); err != nil {
			t.Fatal(err)
		}
	}
	for _, team := range []string{"oncology", "reentry"} {
		for range len(auth.Roles) + 2 {
			j, err := db.SubmitJob(ctx, sched.Spec{Team: team, User: "ana", Name: "train", Kind: sched.KindCommand, Args: []string{"version"},
				Request: sched.Resources{CPU: 1}, MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			f.jobs[team] = append(f.jobs[team], j.ID)
		}
	}
	if _, err := db.PutDataset(ctx, store.Dataset{Name: "bcw", Hash: "sha256:1", Source: "t.csv", Rows: 569, Created: now}); err != nil {
		t.Fatal(err)
	}
	f.srv = New(Config{Store: db, Tokens: db, Jobs: db, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(f.logs, nil))})
	return f
}

func (f *fixture) do(method, path, secret string) (int, map[string]any) {
	return f.send(method, path, secret, "")
}

func (f *fixture) send(method, path, secret, payload string) (int, map[string]any) {
	req := httptest.NewRequest(method, path, strings.NewReader(payload))
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, req)
	var body map[string]any
	json.Unmarshal(w.Body.Bytes(), &body)
	return w.Code, body
}

// TestAccess is the access table: every route, by every role of team
// oncology, on its own team's things and on another team's, and without
// a valid token.
func TestAccess(t *testing.T) {
	f := newFixture(t)
	rows, _ := servedTumor(t, f)
	predictors := map[auth.Role]int{auth.Admin: 200, auth.Trainer: 200, auth.Predictor: 200, auth.Viewer: 403}
	all := map[auth.Role]int{auth.Admin: 200, auth.Trainer: 200, auth.Predictor: 200, auth.Viewer: 200}
	onlyAdmin := func(other int) map[auth.Role]int {
		return map[auth.Role]int{auth.Admin: 200, auth.Trainer: other, auth.Predictor: other, auth.Viewer: other}
	}
	trainers := map[auth.Role]int{auth.Admin: 200, auth.Trainer: 200, auth.Predictor: 403, auth.Viewer: 403}
	created := map[auth.Role]int{auth.Admin: 201, auth.Trainer: 201, auth.Predictor: 403, auth.Viewer: 403}
	// The last job of each team has run once, its log kept.
	ctx := context.Background()
	logged := map[string]string{}
	for _, team := range []string{"oncology", "reentry"} {
		id := f.jobs[team][5]
		ref, err := f.srv.c.Blobs.Put(ctx, []byte("the log of "+id+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.srv.c.Jobs.AdmitJob(ctx, id, false, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := f.srv.c.Jobs.EndAttempt(ctx, id, 1, sched.End{Outcome: sched.OutcomeSucceeded, Log: ref.Key}); err != nil {
			t.Fatal(err)
		}
		logged[team] = "/api/v1/jobs/" + id + "/logs"
	}
	submit := `{"args": ["data", "generate", "--count", "1", "--out-dir", "tracks"]}`
	roleJob := func(team string) func(auth.Role) string { // a job each, so that none finds it cancelled
		return func(r auth.Role) string {
			return "/api/v1/jobs/" + f.jobs[team][slices.Index(auth.Roles, r)] + "/cancel"
		}
	}
	cases := []struct {
		route   string // the table's pattern, so that every route is covered
		path    string
		want    map[auth.Role]int
		method  string // "" for GET
		body    string
		pathFor func(auth.Role) string // a path per role, else path
	}{
		{"GET /healthz", "/healthz", all, "", "", nil},
		{"GET /readyz", "/readyz", all, "", "", nil},
		{"GET /metrics", "/metrics", all, "", "", nil},
		{"GET /api/v1/whoami", "/api/v1/whoami", all, "", "", nil},
		{"GET /api/v1/openapi.json", "/api/v1/openapi.json", all, "", "", nil},
		{"GET /api/v1/runs", "/api/v1/runs", all, "", "", nil},
		{"GET /api/v1/runs", "/api/v1/runs?team=oncology", all, "", "", nil},
		{"GET /api/v1/runs", "/api/v1/runs?team=reentry", onlyAdmin(403), "", "", nil},
		{"GET /api/v1/runs/{id}", "/api/v1/runs/" + f.own, all, "", "", nil},
		{"GET /api/v1/runs/{id}", "/api/v1/runs/" + f.other, onlyAdmin(403), "", "", nil},
		{"GET /api/v1/models", "/api/v1/models", all, "", "", nil},
		{"GET /api/v1/models/{name}", "/api/v1/models/tumor", all, "", "", nil},
		{"GET /api/v1/runs/{id}/metrics/{key}", "/api/v1/runs/" + f.own + "/metrics/roc_auc", all, "", "", nil},
		{"GET /api/v1/runs/{id}/metrics/{key}", "/api/v1/runs/" + f.other + "/metrics/roc_auc", onlyAdmin(403), "", "", nil},
		{"POST /api/v1/models/{ref}/predict", "/api/v1/models/bcw@champion/predict", predictors, "POST", predictBody(rows[0]), nil},
		{"POST /api/v1/models/{ref}/predict", "/api/v1/models/bcw-reentry@champion/predict", onlyAdmin(403), "POST", predictBody(rows[0]), nil},
		{"GET /api/v1/runs/{id}/artifacts/{name}", "/api/v1/runs/" + f.own + "/artifacts/notes", all, "", "", nil},
		{"GET /api/v1/runs/{id}/artifacts/{name}", "/api/v1/runs/" + f.other + "/artifacts/notes", onlyAdmin(403), "", "", nil},
		{"GET /api/v1/datasets/{name}", "/api/v1/datasets/bcw", all, "", "", nil},
		{"GET /api/v1/jobs", "/api/v1/jobs", all, "", "", nil},
		{"GET /api/v1/jobs", "/api/v1/jobs?team=reentry", onlyAdmin(403), "", "", nil},
		{"GET /api/v1/jobs/{id}", "/api/v1/jobs/" + f.jobs["oncology"][0], all, "", "", nil},
		{"GET /api/v1/jobs/{id}", "/api/v1/jobs/" + f.jobs["reentry"][0], onlyAdmin(403), "", "", nil},
		{"GET /api/v1/jobs/{id}/why", "/api/v1/jobs/" + f.jobs["oncology"][4] + "/why", all, "", "", nil},
		{"GET /api/v1/jobs/{id}/why", "/api/v1/jobs/" + f.jobs["reentry"][4] + "/why", onlyAdmin(403), "", "", nil},
		{"POST /api/v1/jobs/{id}/cancel", "/api/v1/jobs/" + f.jobs["oncology"][4] + "/cancel", trainers, "POST", `{"reason": "test"}`, roleJob("oncology")},
		{"POST /api/v1/jobs/{id}/cancel", "/api/v1/jobs/" + f.jobs["reentry"][4] + "/cancel", onlyAdmin(403), "POST", `{"reason": "test"}`, roleJob("reentry")},
		{"POST /api/v1/jobs", "/api/v1/jobs", created, "POST", submit, nil},
		{"POST /api/v1/jobs", "/api/v1/jobs", map[auth.Role]int{auth.Admin: 201, auth.Trainer: 403, auth.Predictor: 403, auth.Viewer: 403}, "POST", strings.Replace(submit, "{", `{"team": "reentry", `, 1), nil},
		{"GET /api/v1/jobs/{id}/logs", logged["oncology"], all, "", "", nil},
		{"GET /api/v1/jobs/{id}/logs", logged["reentry"], onlyAdmin(403), "", "", nil},
		{"GET /api/v1/queues", "/api/v1/queues", all, "", "", nil},
		{"GET /api/v1/models/{ref}/version", "/api/v1/models/tumor@champion/version", all, "", "", nil},
		{"GET /api/v1/models/{ref}/artifact", "/api/v1/models/bcw@champion/artifact", predictors, "", "", nil},
		{"GET /api/v1/models/{ref}/artifact", "/api/v1/models/bcw-reentry@champion/artifact", onlyAdmin(403), "", "", nil},
		{"POST /api/v1/models/{ref}/drift", "/api/v1/models/bcw:1/drift", map[auth.Role]int{auth.Admin: 201, auth.Trainer: 201, auth.Predictor: 201, auth.Viewer: 403}, "POST", `{"report": {}, "inputs": ["new.csv"]}`, nil},
		{"POST /api/v1/models/{ref}/drift", "/api/v1/models/bcw-reentry:1/drift", map[auth.Role]int{auth.Admin: 201, auth.Trainer: 403, auth.Predictor: 403, auth.Viewer: 403}, "POST", `{"report": {}, "inputs": ["new.csv"]}`, nil},
		{"GET /api/v1/models/{name}/drift", "/api/v1/models/tumor/drift", all, "", "", nil},
		// Each role moves its own alias, so that none finds it moved.
		{"PUT /api/v1/models/{name}/aliases/{alias}", "/api/v1/models/tumor/aliases/a-", trainers, "PUT", `{"version": 1, "reason": "test"}`, nil},
		{"PUT /api/v1/models/{name}/aliases/{alias}", "/api/v1/models/reentry/aliases/a-", onlyAdmin(403), "PUT", `{"version": 1, "reason": "test"}`, nil},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.route] = true
		method := c.method
		if method == "" {
			method = "GET"
		}
		for role, want := range c.want {
			path := c.path
			if method == "PUT" {
				path += string(role)
			}
			if c.pathFor != nil {
				path = c.pathFor(role)
			}
			if got, body := f.send(method, path, f.tokens[role], c.body); got != want {
				t.Errorf("%s %s as %s: %d, want %d %v", method, path, role, got, want, body)
			}
		}
		for name, secret := range map[string]string{"no token": "", "a made-up token": "rk_nope", "a revoked token": f.revoked, "an expired token": f.expired} {
			if got, body := f.send(method, c.path, secret, c.body); got != 401 || body["error"].(map[string]any)["code"] != "unauthorized" {
				t.Errorf("%s with %s: %d %v, want 401", c.path, name, got, body)
			}
		}
	}
	for _, rt := range f.srv.Routes() {
		if !covered[rt.Method+" "+rt.Path] {
			t.Errorf("route %s %s is not in the access table", rt.Method, rt.Path)
		}
	}
	// An unknown path: 401 without a token, 404 with one.
	if got, _ := f.do("GET", "/api/v1/nothing", ""); got != 401 {
		t.Errorf("unknown path without a token: %d", got)
	}
	if got, _ := f.do("GET", "/api/v1/nothing", f.tokens[auth.Viewer]); got != 404 {
		t.Errorf("unknown path with a token: %d", got)
	}
	for _, secret := range f.tokens {
		if strings.Contains(f.logs.String(), secret) {
			t.Fatal("a token is in the request log")
		}
	}
	if !strings.Contains(f.logs.String(), "user=viewer-user") {
		t.Errorf("the log does not name the user:\n%.500s", f.logs.String())
	}
}

// TestRunsPages: filters, metric sort, pages by cursor, and errors that
// name the field.
func TestRunsPages(t *testing.T) {
	f := newFixture(t)
	admin := f.tokens[auth.Admin]
	code, body := f.do("GET", "/api/v1/runs?limit=1&sort=metric:roc_auc:desc", admin)
	runs, _ := body["runs"].([]any)
	next, _ := body["next_cursor"].(string)
	if code != 200 || len(runs) != 1 || next == "" {
		t.Fatalf("first page: %d %v", code, body)
	}
	code, body = f.do("GET", "/api/v1/runs?limit=1&sort=metric:roc_auc:desc&cursor="+next, admin)
	runs2, _ := body["runs"].([]any)
	if code != 200 || len(runs2) != 1 || body["next_cursor"] != nil || runs2[0].(map[string]any)["id"] == runs[0].(map[string]any)["id"] {
		t.Fatalf("second page: %d %v", code, body)
	}
	code, body = f.do("GET", "/api/v1/runs", f.tokens[auth.Viewer])
	runs, _ = body["runs"].([]any)
	if code != 200 || len(runs) != 1 || runs[0].(map[string]any)["team"] != "oncology" {
		t.Errorf("a viewer's runs: %v", body)
	}
	for q, field := range map[string]string{"limit=0": "limit", "limit=x": "limit", "sort=roc_auc": "sort", "status=done": "status", "cursor=zz": "cursor"} {
		code, body := f.do("GET", "/api/v1/runs?"+q, admin)
		e, _ := body["error"].(map[string]any)
		if code != 400 || e["code"] != "bad_request" || e["field"] != field {
			t.Errorf("%s: %d %v, want 400 naming %s", q, code, body, field)
		}
	}
}

// TestMoveAlias: the audit log names the token's user and the reason;
// moving to where it points is a conflict; bad bodies name the field.
func TestMoveAlias(t *testing.T) {
	f := newFixture(t)
	tr := f.tokens[auth.Trainer]
	if code, body := f.send("PUT", "/api/v1/models/tumor/aliases/challenger", tr, `{"version": 1, "reason": "watch it"}`); code != 200 || body["by"] != "trainer-user" || body["version"] != float64(1) {
		t.Fatalf("%d %v", code, body)
	}
	_, body := f.do("GET", "/api/v1/models/tumor", tr)
	hist, _ := json.Marshal(body["history"])
	if !strings.Contains(string(hist), `"trainer-user"`) || !strings.Contains(string(hist), "watch it") {
		t.Errorf("history %s", hist)
	}
	for b, want := range map[string][2]any{
		`{"version": 1, "reason": "again"}`:      {409, "version"},
		`{"version": 0, "reason": "x"}`:          {400, "version"},
		`{"version": 1}`:                         {400, "reason"},
		`{"version": "one", "reason": "x"}`:      {400, "version"},
		`{"version": 1, "reason": "x", "by": 1}`: {400, "by"},
		`{"version": 9, "reason": "x"}`:          {404, nil},
		`not json`:                               {400, nil},
	} {
		code, body := f.send("PUT", "/api/v1/models/tumor/aliases/challenger", tr, b)
		e, _ := body["error"].(map[string]any)
		if code != want[0] || want[1] != nil && e["field"] != want[1] {
			t.Errorf("%s: %d %v, want %v", b, code, body, want)
		}
	}
	if code, _ := f.send("PUT", "/api/v1/models/tumor/aliases/big", tr, `{"reason": "`+strings.Repeat("x", 2<<20)+`"}`); code != 413 {
		t.Errorf("a 2 MiB body: %d", code)
	}
}

// TestMetricSeries: a long series comes down to max_points.
func TestMetricSeries(t *testing.T) {
	f := newFixture(t)
	var pts []store.Point
	for i := range 100000 {
		pts = append(pts, store.Point{Key: "loss", Step: int64(i), Value: float64(i % 977)})
	}
	if err := f.srv.c.Store.LogMetrics(context.Background(), f.own, pts); err != nil {
		t.Fatal(err)
	}
	_, body := f.do("GET", "/api/v1/runs/"+f.own+"/metrics/loss?max_points=2000", f.tokens[auth.Viewer])
	series, _ := body["series"].([]any)
	if body["points"] != float64(100000) || len(series) > 2000 || len(series) < 1000 {
		t.Errorf("%v points, %d kept", body["points"], len(series))
	}
	if code, body := f.do("GET", "/api/v1/runs/"+f.own+"/metrics/loss?max_points=2", f.tokens[auth.Viewer]); code != 400 {
		t.Errorf("max_points=2: %d %v", code, body)
	}
}

// TestOpenAPI: the document lists exactly the routes the server serves,
// each with its method, and the mux routes each to its own handler.
func TestOpenAPI(t *testing.T) {
	f := newFixture(t)
	_, doc := f.do("GET", "/api/v1/openapi.json", f.tokens[auth.Viewer])
	paths, _ := doc["paths"].(map[string]any)
	n := 0
	for _, item := range paths {
		n += len(item.(map[string]any))
	}
	if doc["openapi"] != "3.0.3" || n != len(f.srv.Routes()) {
		t.Fatalf("%d operations documented for %d routes", n, len(f.srv.Routes()))
	}
	for _, rt := range f.srv.Routes() {
		item, _ := paths[rt.Path].(map[string]any)
		if item[strings.ToLower(rt.Method)] == nil {
			t.Errorf("%s %s is not documented", rt.Method, rt.Path)
		}
		path := strings.NewReplacer("{id}", "x", "{name}", "x").Replace(rt.Path)
		if _, pattern := f.srv.mux.Handler(httptest.NewRequest(rt.Method, path, nil)); pattern != rt.Method+" "+rt.Path {
			t.Errorf("%s %s is served by %q", rt.Method, path, pattern)
		}
	}
}

// TestServeShutsDownGracefully: a request in flight when the context ends
// is answered.
func TestServeShutsDownGracefully(t *testing.T) {
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, l, h) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + l.Addr().String())
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	if s := <-got; s != "done" {
		t.Errorf("in-flight request: %q", s)
	}
	if err := <-served; err != nil {
		t.Error(err)
	}
}

// startHTTP serves h on a loopback port for the test's duration.
func startHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
