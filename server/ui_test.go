package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/drift"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/store"
)

// browser is a client with a cookie jar, on the handler directly.
type browser struct {
	f      *fixture
	cookie *http.Cookie
}

func (b *browser) get(path string) (int, string, http.Header) {
	return b.req("GET", path, nil, "")
}

func (b *browser) req(method, path string, form url.Values, origin string) (int, string, http.Header) {
	body := ""
	if form != nil {
		body = form.Encode()
	}
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if b.cookie != nil {
		r.AddCookie(b.cookie)
	}
	w := httptest.NewRecorder()
	b.f.srv.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			b.cookie = c
		}
	}
	return w.Code, w.Body.String(), w.Header()
}

var csrfField = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// TestUI (issue 16): sign-in with a token gives an HttpOnly, SameSite
// session cookie; pages show only the own team's runs, a run's charts
// and artifacts; promoting takes a trainer, a CSRF secret and a
// same-site form; signing out ends the session.
func TestUI(t *testing.T) {
	f := newFixture(t)
	servedTumor(t, f)
	b := &browser{f: f}
	if code, _, h := b.get("/ui/runs"); code != 303 || h.Get("Location") != "/ui/login" {
		t.Fatalf("signed out: %d %v", code, h)
	}
	if code, body, _ := b.req("POST", "/ui/login", url.Values{"token": {"rk_wrong"}}, ""); code != 401 || !strings.Contains(body, "unknown token") {
		t.Errorf("a wrong token: %d", code)
	}
	if code, _, _ := b.req("POST", "/ui/login", url.Values{"token": {f.tokens[auth.Viewer]}}, "https://evil.example"); code != 403 || b.cookie != nil {
		t.Errorf("a sign-in from another site: %d", code)
	}
	code, _, _ := b.req("POST", "/ui/login", url.Values{"token": {f.tokens[auth.Viewer]}}, "")
	if code != 303 || b.cookie == nil || !b.cookie.HttpOnly || b.cookie.SameSite != http.SameSiteStrictMode || strings.Contains(b.cookie.Value, "rk_") {
		t.Fatalf("sign-in: %d %+v", code, b.cookie)
	}
	code, body, h := b.get("/ui/runs")
	if code != 200 || !strings.Contains(body, f.own) || strings.Contains(body, f.other) || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("runs page: %d\n%.400s", code, body)
	}
	if code, body, _ := b.get("/ui/runs?team=reentry"); code != 403 || !strings.Contains(body, "may not read") {
		t.Errorf("another team's runs: %d", code)
	}
	if code, body, _ := b.get("/ui/runs/" + f.own); code != 200 || !strings.Contains(body, "<polyline") || !strings.Contains(body, "notes") {
		t.Errorf("run page: %d\n%.400s", code, body)
	}
	if code, _, _ := b.get("/ui/runs/" + f.other); code != 403 {
		t.Errorf("another team's run page: %d", code)
	}
	code, body, _ = b.get("/ui/models/bcw")
	if code != 200 || strings.Contains(body, "Promote") {
		t.Errorf("a viewer's model page: %d, promote form shown: %v", code, strings.Contains(body, "Promote"))
	}
	csrf := csrfField.FindStringSubmatch(body)
	if csrf == nil {
		t.Fatal("no CSRF secret on the page")
	}
	promote := url.Values{"csrf": {csrf[1]}, "alias": {"champion"}, "version": {"2"}, "reason": {"gbdt"}}
	if code, _, _ := b.req("POST", "/ui/models/bcw/aliases", promote, ""); code != 403 {
		t.Errorf("a viewer promoting: %d", code)
	}
	// A trainer: refused without the CSRF secret or from another site,
	// done with both.
	tr := &browser{f: f}
	tr.req("POST", "/ui/login", url.Values{"token": {f.tokens[auth.Trainer]}}, "")
	_, body, _ = tr.get("/ui/models/bcw")
	if !strings.Contains(body, "Promote") {
		t.Fatal("a trainer's model page has no promote form")
	}
	promote.Set("csrf", csrfField.FindStringSubmatch(body)[1])
	noCSRF := url.Values{"alias": {"champion"}, "version": {"2"}, "reason": {"gbdt"}}
	if code, _, _ := tr.req("POST", "/ui/models/bcw/aliases", noCSRF, ""); code != 403 {
		t.Errorf("without the CSRF secret: %d", code)
	}
	if code, _, _ := tr.req("POST", "/ui/models/bcw/aliases", promote, "https://evil.example"); code != 403 {
		t.Errorf("from another site: %d", code)
	}
	code, body, _ = tr.req("POST", "/ui/models/bcw/aliases", promote, "http://example.com")
	if code != 200 || !strings.Contains(body, "now points at version 2") || !strings.Contains(body, "trainer-user") {
		t.Errorf("promote: %d\n%.600s", code, body)
	}
	// Compare: the own team's runs side by side, differences in bold.
	second := secondRun(t, f)
	code, body, _ = b.get("/ui/compare?run=" + f.own + "&run=" + second)
	if code != 200 || !strings.Contains(body, "Comparing 2 runs") || strings.Count(body, "<polyline") < 2 || !strings.Contains(body, "<b>") {
		t.Errorf("compare: %d\n%.800s", code, body)
	}
	if code, _, _ := b.get("/ui/compare?run=" + f.own); code != 400 {
		t.Errorf("compare one run: %d", code)
	}
	if code, _, _ := b.get("/ui/compare?run=" + f.own + "&run=" + f.other); code != 403 {
		t.Errorf("compare with another team's run: %d", code)
	}
	// Jobs: the own team's queue with why each waits, and the week's chart.
	code, body, _ = b.get("/ui/jobs")
	if code != 200 || !strings.Contains(body, f.jobs["oncology"][0]) || strings.Contains(body, ">"+f.jobs["reentry"][0]+"<") || !strings.Contains(body, "<rect") || !strings.Contains(body, "in the queue") {
		t.Errorf("jobs page: %d\n%.1500s", code, body)
	}
	if code, _, _ := b.get("/ui/jobs?team=reentry"); code != 403 {
		t.Errorf("another team's jobs: %d", code)
	}
	// Drift: a model's recorded checks, and one check's report.
	ctx := context.Background()
	v, err := f.srv.c.Store.GetVersion(ctx, "bcw", 1)
	if err != nil {
		t.Fatal(err)
	}
	rep := &monitor.Report{DatasetDrift: true, Drifted: 1, RefRows: 569, CurRows: 100,
		Columns:    []monitor.Result{{Column: "mean_radius", Type: "num", Test: "ks", Value: 0.001, Threshold: 0.05, Drift: true}},
		Histograms: map[string]monitor.Hist{"mean_radius": {Labels: []string{"10", "15"}, Ref: []float64{0.7, 0.3}, Cur: []float64{0.2, 0.8}}}}
	check, err := drift.Record(ctx, f.srv.c.Store, f.srv.c.Blobs.(*blobs.Bucket), v, rep, []string{"new.csv"}, "ana", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := b.get("/ui/models/bcw/drift"); code != 200 || !strings.Contains(body, "<b>DRIFT</b>") || !strings.Contains(body, check.ID) {
		t.Errorf("drift checks: %d\n%.800s", code, body)
	}
	if code, body, _ := b.get("/ui/runs/" + check.ID + "/drift"); code != 200 || !strings.Contains(body, "Dataset drift: 1 of 1 columns") || !strings.Contains(body, "mean_radius") || strings.Count(body, `fill="#3a78c2"`) != 2 {
		t.Errorf("a check's report: %d\n%.800s", code, body)
	}
	if code, _, _ := b.get("/ui/runs/" + f.own + "/drift"); code != 404 {
		t.Errorf("the drift report of a run that is no check: %d", code)
	}
	tr.req("POST", "/ui/logout", url.Values{"csrf": {promote.Get("csrf")}}, "")
	if code, _, _ := tr.get("/ui/runs"); code != 303 {
		t.Errorf("after sign-out: %d", code)
	}
}

// secondRun adds a run of oncology with other params and a curve.
func secondRun(t testing.TB, f *fixture) string {
	t.Helper()
	ctx := context.Background()
	st := f.srv.c.Store
	r, err := st.CreateRun(ctx, store.Run{Name: "oncology/train", Team: "oncology", User: "ana", Status: store.Running, Params: map[string]string{"depth": "8"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.LogMetrics(ctx, r.ID, []store.Point{{Key: "roc_auc", Step: 0, Value: 0.8}, {Key: "roc_auc", Step: 1, Value: 0.95}}); err != nil {
		t.Fatal(err)
	}
	if err := st.LogParams(ctx, f.own, map[string]string{"depth": "6"}); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// TestQuotaBars: a team within its quota, one borrowing beyond it, and
// one idle, against a cohort of 16 GPUs; widths in percent of it.
func TestQuotaBars(t *testing.T) {
	q := &sched.Queues{Flavors: []string{"gpu"}, Teams: []sched.QueueTeam{
		{Name: "a", Nominal: map[string]sched.Resources{"gpu": {GPUs: 8}}},
		{Name: "b", Nominal: map[string]sched.Resources{"gpu": {GPUs: 4}}},
		{Name: "c", Nominal: map[string]sched.Resources{"gpu": {GPUs: 4}}},
	}}
	v := scheduler.QueuesView{Queues: q, Usage: []scheduler.TeamUsage{
		{Team: "a", Using: map[string]sched.Resources{"gpu": {GPUs: 4}}, Running: 1},
		{Team: "b", Using: map[string]sched.Resources{"gpu": {GPUs: 10}}, Running: 2, Queued: 3},
		{Team: "c"},
	}}
	want := []quotaBar{
		{Team: "a", Flavor: "gpu", Unit: "GPUs", Using: 4, Nominal: 8, Capacity: 16, Running: 1, UsedW: 25, FreeW: 25, NX: 50},
		{Team: "b", Flavor: "gpu", Unit: "GPUs", Using: 10, Nominal: 4, Capacity: 16, Borrowed: 6, Running: 2, Queued: 3, UsedW: 25, NX: 25, BorrowW: 37.5},
		{Team: "c", Flavor: "gpu", Unit: "GPUs", Nominal: 4, Capacity: 16, FreeW: 25, NX: 25},
	}
	got := quotaBars(v, "")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("quota bars:\n got %+v\nwant %+v", got, want)
	}
	if got := quotaBars(v, "b"); len(got) != 1 || got[0].Team != "b" {
		t.Errorf("team b's bars: %+v", got)
	}
}
