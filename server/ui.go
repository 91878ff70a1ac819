package server

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/drift"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/store"
)

//go:embed ui/*.html
var uiFiles embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"inc": func(n int) int { return n + 1 },
	"metric": func(r store.Run, key string) string {
		v, ok := r.Last[key]
		if !ok {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 4, 64)
	},
}).ParseFS(uiFiles, "ui/*.html"))

// The web UI signs in with a token once and then holds a session: an
// HttpOnly, SameSite=Strict cookie naming a server-side session (the
// token itself never reaches the browser again), and a CSRF secret every
// form sends back.
const sessionCookie = "reckon_session"

type session struct {
	p       auth.Principal
	csrf    string
	expires time.Time
}

type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomHex() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (ss *sessions) start(p auth.Principal, now time.Time) (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil {
		ss.m = map[string]*session{}
	}
	for id, s := range ss.m { // forget the expired ones
		if now.After(s.expires) {
			delete(ss.m, id)
		}
	}
	id := randomHex()
	s := &session{p: p, csrf: randomHex(), expires: now.Add(12 * time.Hour)}
	ss.m[id] = s
	return id, s
}

func (ss *sessions) get(id string, now time.Time) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil || now.After(s.expires) {
		return nil
	}
	return s
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

// page is what every template gets.
type page struct {
	Title, Error, Notice, CSRF string
	Who                        auth.Principal
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.c.Log.Error("template", "page", name, "err", err)
	}
}

// uiRoutes are the web UI's pages: all need a session but the sign-in.
func (s *Server) uiRoutes() {
	s.mux.HandleFunc("GET /ui/login", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusOK, "login", page{Title: "Sign in"})
	})
	s.mux.HandleFunc("POST /ui/login", s.uiLogin)
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/runs", http.StatusSeeOther) })
	s.mux.Handle("POST /ui/logout", s.ui(s.uiLogout))
	s.mux.Handle("GET /ui/runs", s.ui(s.uiRuns))
	s.mux.Handle("GET /ui/runs/{id}", s.ui(s.uiRun))
	s.mux.Handle("GET /ui/compare", s.ui(s.uiCompare))
	s.mux.Handle("GET /ui/jobs", s.ui(s.uiJobs))
	s.mux.Handle("GET /ui/models/{name}/drift", s.ui(s.uiDrift))
	s.mux.Handle("GET /ui/runs/{id}/drift", s.ui(s.uiDriftReport))
	s.mux.Handle("GET /ui/models", s.ui(s.uiModels))
	s.mux.Handle("GET /ui/models/{name}", s.ui(s.uiModel))
	s.mux.Handle("POST /ui/models/{name}/aliases", s.ui(s.uiMoveAlias))
}

// ui runs a page for a signed-in session: POSTs must carry its CSRF secret.
func (s *Server) ui(h func(http.ResponseWriter, *http.Request, *session) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		var sess *session
		if err == nil {
			sess = s.sessions.get(c.Value, s.c.Now())
		}
		if sess == nil {
			http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
			return
		}
		*r = *r.WithContext(withPrincipal(r.Context(), sess.p))
		if r.Method == http.MethodPost && (!sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1) {
			s.render(w, http.StatusForbidden, "login", page{Title: "Refused", Error: "This form is stale or came from another site (no valid CSRF token): reload the page and try again."})
			return
		}
		if err := h(w, r, sess); err != nil {
			status := http.StatusInternalServerError
			var e *Error
			if errors.As(err, &e) {
				status = e.Status
			} else if errors.Is(err, store.ErrNotFound) {
				status = http.StatusNotFound
			}
			s.render(w, status, "login", page{Title: "Error", Error: err.Error(), Who: sess.p, CSRF: sess.csrf})
		}
	})
}

// sameOrigin refuses forms posted from other sites (an Origin header naming
// another host), sessions or not: a login CSRF too.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (s *Server) uiLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		s.render(w, http.StatusForbidden, "login", page{Title: "Refused", Error: "This sign-in came from another site."})
		return
	}
	p, err := auth.Check(r.Context(), s.c.Tokens, strings.TrimSpace(r.PostFormValue("token")), s.c.Now())
	if err != nil {
		s.render(w, http.StatusUnauthorized, "login", page{Title: "Sign in", Error: "Not signed in: " + err.Error()})
		return
	}
	*r = *r.WithContext(withPrincipal(r.Context(), p))
	id, _ := s.sessions.start(p, s.c.Now())
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 12 * 3600})
	http.Redirect(w, r, "/ui/runs", http.StatusSeeOther)
}

func (s *Server) uiLogout(w http.ResponseWriter, r *http.Request, sess *session) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.end(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
	return nil
}

type runsPage struct {
	page
	Q        struct{ Team, Status, Name, Sort string }
	Statuses []store.Status
	Runs     []store.Run
	Metrics  []string
	Next     string
}

// uiRuns is the runs page, from the same handler as the API's list.
func (s *Server) uiRuns(w http.ResponseWriter, r *http.Request, sess *session) error {
	got, err := s.runsPage(r.Context(), sess.p, r.URL.Query())
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Status < 500 {
			d := runsPage{page: page{Title: "Runs", Error: e.Message, Who: sess.p, CSRF: sess.csrf}}
			d.Statuses = []store.Status{store.Queued, store.Running, store.Succeeded, store.Failed, store.Interrupted}
			s.render(w, e.Status, "runs", d)
			return nil
		}
		return err
	}
	q := r.URL.Query()
	d := runsPage{page: page{Title: "Runs", Who: sess.p, CSRF: sess.csrf}, Runs: got.Runs,
		Statuses: []store.Status{store.Queued, store.Running, store.Succeeded, store.Failed, store.Interrupted}}
	d.Q.Team, d.Q.Status, d.Q.Name, d.Q.Sort = q.Get("team"), q.Get("status"), q.Get("name"), q.Get("sort")
	seen := map[string]bool{}
	for _, run := range got.Runs {
		for k := range run.Last {
			if !seen[k] && !strings.Contains(k, "/") {
				seen[k] = true
				d.Metrics = append(d.Metrics, k)
			}
		}
	}
	slices.Sort(d.Metrics)
	if len(d.Metrics) > 6 {
		d.Metrics = d.Metrics[:6]
	}
	if got.NextCursor != "" {
		q.Set("cursor", got.NextCursor)
		d.Next = "/ui/runs?" + q.Encode()
	}
	s.render(w, http.StatusOK, "runs", d)
	return nil
}

type chart struct {
	Key            string
	N, Drawn       int
	Min, Max, Last float64
	Points         template.HTMLAttr
}

type runPage struct {
	page
	Run       store.Run
	Charts    []chart
	Artifacts []store.Artifact
}

func (s *Server) uiRun(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	run, err := s.c.Store.GetRun(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := allow(sess.p, auth.Read, run.Team); err != nil {
		return err
	}
	d := runPage{page: page{Title: "Run " + run.ID, Who: sess.p, CSRF: sess.csrf}, Run: run}
	keys := slices.Sorted(maps.Keys(run.Last))
	for _, k := range keys[:min(len(keys), 24)] {
		kept, total, err := s.series(ctx, run.ID, k, 2000)
		if err != nil {
			return err
		}
		c := chart{Key: k, N: total, Drawn: len(kept), Last: run.Last[k]}
		c.Points = polyline(kept, &c.Min, &c.Max)
		d.Charts = append(d.Charts, c)
	}
	if d.Artifacts, err = s.c.Store.Artifacts(ctx, run.ID); err != nil {
		return err
	}
	s.render(w, http.StatusOK, "run", d)
	return nil
}

// polyline is an SVG polyline's points for a 320 x 140 chart.
func polyline(pts []store.Point, lo, hi *float64) template.HTMLAttr {
	if len(pts) == 0 {
		return ""
	}
	*lo, *hi = pts[0].Value, pts[0].Value
	for _, p := range pts {
		*lo, *hi = min(*lo, p.Value), max(*hi, p.Value)
	}
	return polylineIn(pts, pts[0].Step, pts[len(pts)-1].Step, *lo, *hi)
}

// polylineIn draws pts in the frame of steps minS..maxS and values
// lo..hi (shared by the lines of one chart).
func polylineIn(pts []store.Point, minS, maxS int64, lo, hi float64) template.HTMLAttr {
	if len(pts) == 0 {
		return ""
	}
	if len(pts) == 1 { // one point: a level line, not an invisible dot
		pts = []store.Point{{Step: 0, Value: pts[0].Value}, {Step: 1, Value: pts[0].Value}}
		minS, maxS = 0, 1
	}
	var b strings.Builder
	for _, p := range pts {
		x := 300.0
		if maxS > minS {
			x = 10 + 300*float64(p.Step-minS)/float64(maxS-minS)
		}
		y := 70.0
		if hi > lo {
			y = 130 - 115*(p.Value-lo)/(hi-lo)
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
	}
	return template.HTMLAttr(strings.TrimSpace(b.String()))
}

var compareColors = []string{"#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#6a4c93", "#8ab17d", "#b5838d", "#264653", "#e9c46a", "#457b9d"}

type compareRow struct {
	Key    string
	Values []string
	Differ bool
}

type line struct {
	Color  string
	Points template.HTMLAttr
}

type compareChart struct {
	Key      string
	Min, Max float64
	Lines    []line
}

// uiCompare puts 2 to 10 runs side by side: parameters (differences in
// bold), last metrics, and each common metric's curves overlaid.
func (s *Server) uiCompare(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	ids := slices.Compact(r.URL.Query()["run"])
	if len(ids) < 2 || len(ids) > 10 {
		return &Error{Status: http.StatusBadRequest, Code: "bad_request", Field: "run", Message: fmt.Sprintf("tick 2 to 10 runs to compare (%d ticked)", len(ids))}
	}
	var runs []store.Run
	for _, id := range ids {
		run, err := s.c.Store.GetRun(ctx, id)
		if err != nil {
			return err
		}
		if err := allow(sess.p, auth.Read, run.Team); err != nil {
			return err
		}
		runs = append(runs, run)
	}
	d := struct {
		page
		Runs            []store.Run
		Colors          []string
		Params, Metrics []compareRow
		Charts          []compareChart
		Differ          bool
	}{page: page{Title: "Compare", Who: sess.p, CSRF: sess.csrf}, Runs: runs, Colors: compareColors}
	// The keys any of the runs has, sorted.
	params, metrics := map[string]bool{}, map[string]bool{}
	for _, run := range runs {
		for k := range run.Params {
			params[k] = true
		}
		for k := range run.Last {
			metrics[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		row := compareRow{Key: k}
		for _, run := range runs {
			v, ok := run.Params[k]
			if !ok {
				v = "—"
			}
			row.Values = append(row.Values, v)
		}
		row.Differ = len(slices.Compact(slices.Clone(row.Values))) > 1 // not all the same
		d.Differ = d.Differ || row.Differ
		d.Params = append(d.Params, row)
	}
	common := map[string]int{}
	for _, k := range slices.Sorted(maps.Keys(metrics)) {
		row := compareRow{Key: k}
		for _, run := range runs {
			v, ok := run.Last[k]
			if ok {
				common[k]++
				row.Values = append(row.Values, strconv.FormatFloat(v, 'g', 4, 64))
			} else {
				row.Values = append(row.Values, "—")
			}
		}
		d.Metrics = append(d.Metrics, row)
	}
	for _, m := range d.Metrics {
		if common[m.Key] < 2 || len(d.Charts) == 12 {
			continue
		}
		var series [][]store.Point
		var minS, maxS int64
		var lo, hi float64
		first := true
		for _, run := range runs {
			pts, _, err := s.series(ctx, run.ID, m.Key, 1000)
			if err != nil {
				return err
			}
			series = append(series, pts)
			for _, p := range pts {
				if first {
					minS, maxS, lo, hi, first = p.Step, p.Step, p.Value, p.Value, false
				}
				minS, maxS, lo, hi = min(minS, p.Step), max(maxS, p.Step), min(lo, p.Value), max(hi, p.Value)
			}
		}
		c := compareChart{Key: m.Key, Min: lo, Max: hi}
		for i, pts := range series {
			c.Lines = append(c.Lines, line{Color: compareColors[i], Points: polylineIn(pts, minS, maxS, lo, hi)})
		}
		d.Charts = append(d.Charts, c)
	}
	s.render(w, http.StatusOK, "compare", d)
	return nil
}

type jobRow struct {
	sched.Record
	Why string
}

type bar struct {
	ID, Label, Color string
	X, W, TX         float64
	Y, TY            int
}

// quotaBar is a team's use of a flavor against its quota, as widths in
// percent of the flavor's capacity: the part of the nominal quota in use,
// the rest of it, and the part borrowed beyond it.
type quotaBar struct {
	Team, Flavor, Unit        string
	Using, Nominal, Capacity  float64
	Borrowed                  float64
	Queued, Running           int
	UsedW, FreeW, BorrowW, NX float64
}

// quotaBars are the bars of team's queue ("": every team's): in GPUs for
// a flavor that has them, else in CPUs.
func quotaBars(v scheduler.QueuesView, team string) []quotaBar {
	if v.Queues == nil {
		return nil
	}
	capacity := v.Capacity()
	var out []quotaBar
	for _, u := range v.Usage {
		if team != "" && u.Team != team {
			continue
		}
		var nominal map[string]sched.Resources
		for _, t := range v.Teams {
			if t.Name == u.Team {
				nominal = t.Nominal
			}
		}
		for _, f := range v.Flavors {
			c, n, use := capacity[f], nominal[f], u.Using[f]
			b := quotaBar{Team: u.Team, Flavor: f, Unit: "GPUs", Capacity: float64(c.GPUs), Nominal: float64(n.GPUs), Using: float64(use.GPUs), Queued: u.Queued, Running: u.Running}
			if c.GPUs == 0 {
				b.Unit, b.Capacity, b.Nominal, b.Using = "CPUs", c.CPU, n.CPU, use.CPU
			}
			if b.Capacity <= 0 || b.Nominal == 0 && b.Using == 0 {
				continue
			}
			b.Borrowed = max(b.Using-b.Nominal, 0)
			pct := func(x float64) float64 { return 100 * min(x, b.Capacity) / b.Capacity }
			b.UsedW = pct(min(b.Using, b.Nominal))
			b.FreeW = pct(b.Nominal) - b.UsedW
			b.BorrowW = min(pct(b.Borrowed), 100-b.UsedW-b.FreeW)
			b.NX = pct(b.Nominal)
			out = append(out, b)
		}
	}
	return out
}

var stateColors = map[sched.State]string{sched.Queued: "#bbb", sched.Admitted: "#8ab", sched.Running: "#3a78c2",
	sched.Succeeded: "#2a9d8f", sched.Failed: "#e63946", sched.Cancelled: "#b5838d"}

// uiJobs is the team's queue: every job with why it waits (or how it
// ended), and a Gantt chart of the last week.
func (s *Server) uiJobs(w http.ResponseWriter, r *http.Request, sess *session) error {
	svc, err := s.jobService()
	if err != nil {
		return err
	}
	team := r.URL.Query().Get("team")
	if team == "" && sess.p.Role != auth.Admin {
		team = sess.p.Team
	}
	if err := allow(sess.p, auth.Read, team); err != nil {
		return err
	}
	ctx, now := r.Context(), s.c.Now()
	jobs, err := svc.ListJobs(ctx, sched.JobQuery{Team: team})
	if err != nil {
		return err
	}
	qv, err := svc.Usage(ctx)
	if err != nil {
		return err
	}
	from := now.Add(-7 * 24 * time.Hour)
	x := func(t time.Time) float64 { return 1000 * max(0, min(1, t.Sub(from).Seconds()/now.Sub(from).Seconds())) }
	d := struct {
		page
		Team        string
		Jobs        []jobRow
		Bars        []bar
		GanttHeight int
		From        string
		Quotas      []quotaBar
	}{page: page{Title: "Jobs", Who: sess.p, CSRF: sess.csrf}, Team: team, From: from.Format("Jan 2"), Quotas: quotaBars(qv, team)}
	for i := len(jobs) - 1; i >= 0; i-- { // newest first
		j := jobs[i]
		row := jobRow{Record: j, Why: j.Message}
		if j.State == sched.Queued || j.State == sched.Admitted || j.State == sched.Running {
			if v, err := svc.Why(ctx, j.ID); err == nil {
				row.Why = v.Text
			}
		}
		d.Jobs = append(d.Jobs, row)
		start, end := j.Submitted, j.Ended
		if !j.Admitted.IsZero() {
			start = j.Admitted
		}
		if end.IsZero() {
			end = now
		}
		if end.Before(from) || len(d.Bars) == 40 {
			continue
		}
		y := 4 + 20*len(d.Bars)
		b := bar{ID: j.ID, Label: fmt.Sprintf("%s %s (%s)", j.ID, j.Name, j.State), Color: stateColors[j.State], X: x(start), Y: y, TY: y + 11}
		b.W = max(2, x(end)-b.X)
		b.TX = min(b.X+b.W+4, 960)
		d.Bars = append(d.Bars, b)
	}
	d.GanttHeight = 20*len(d.Bars) + 24
	s.render(w, http.StatusOK, "jobs", d)
	return nil
}

func (s *Server) uiDrift(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := allow(sess.p, auth.ReadModel, ""); err != nil {
		return err
	}
	runs, err := drift.History(r.Context(), s.c.Store, r.PathValue("name"))
	if err != nil {
		return err
	}
	s.render(w, http.StatusOK, "drift", struct {
		page
		Model  string
		Checks []store.Run
	}{page{Title: "Drift of " + r.PathValue("name"), Who: sess.p, CSRF: sess.csrf}, r.PathValue("name"), runs})
	return nil
}

// uiDriftReport is one check's report, per column worst first, as
// reckon monitor --html writes it.
func (s *Server) uiDriftReport(w http.ResponseWriter, r *http.Request, sess *session) error {
	ctx := r.Context()
	run, err := s.c.Store.GetRun(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if run.Tags["kind"] != "drift" {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "run " + run.ID + " is not a drift check"}
	}
	if err := allow(sess.p, auth.ReadModel, ""); err != nil {
		return err
	}
	arts, err := s.c.Store.Artifacts(ctx, run.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(arts, func(a store.Artifact) bool { return a.Name == "drift-report" })
	if i < 0 || s.c.Blobs == nil {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "the check's report is not in the blob store"}
	}
	b, err := s.c.Blobs.Get(ctx, arts[i].Key)
	if err != nil {
		return err
	}
	var rep monitor.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	return monitor.HTML(w, fmt.Sprintf("%s:%s, %s", run.Tags["model"], run.Tags["version"], run.Started.Format("2006-01-02 15:04")), &rep)
}

func (s *Server) uiModels(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := allow(sess.p, auth.ReadModel, ""); err != nil {
		return err
	}
	ms, err := s.c.Store.ListModels(r.Context())
	if err != nil {
		return err
	}
	s.render(w, http.StatusOK, "models", struct {
		page
		Models []store.Model
	}{page{Title: "Models", Who: sess.p, CSRF: sess.csrf}, ms})
	return nil
}

func (s *Server) modelPage(r *http.Request, sess *session, notice, problem string) (any, error) {
	ctx, name := r.Context(), r.PathValue("name")
	m, err := s.c.Store.GetModel(ctx, name)
	if err != nil {
		return nil, err
	}
	d := ModelDetail{Model: m}
	if d.Versions, err = s.c.Store.Versions(ctx, name); err != nil {
		return nil, err
	}
	if d.History, err = s.c.Store.History(ctx, name); err != nil {
		return nil, err
	}
	slices.Reverse(d.History)
	return struct {
		page
		Model      ModelDetail
		CanPromote bool
	}{page{Title: name, Who: sess.p, CSRF: sess.csrf, Notice: notice, Error: problem}, d, auth.Allowed(sess.p, auth.MoveAlias, sess.p.Team)}, nil
}

func (s *Server) uiModel(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := allow(sess.p, auth.ReadModel, ""); err != nil {
		return err
	}
	d, err := s.modelPage(r, sess, "", "")
	if err != nil {
		return err
	}
	s.render(w, http.StatusOK, "model", d)
	return nil
}

// uiMoveAlias is the promote form: the API's move, its answer shown on
// the model's page.
func (s *Server) uiMoveAlias(w http.ResponseWriter, r *http.Request, sess *session) error {
	v, _ := strconv.Atoi(r.PostFormValue("version"))
	status, notice, problem := http.StatusOK, "", ""
	if err := s.move(r.Context(), sess.p, r.PathValue("name"), r.PostFormValue("alias"), AliasMove{Version: v, Reason: r.PostFormValue("reason")}); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return err
		}
		status, problem = e.Status, e.Message
	} else {
		notice = fmt.Sprintf("%s@%s now points at version %d.", r.PathValue("name"), r.PostFormValue("alias"), v)
	}
	d, err := s.modelPage(r, sess, notice, problem)
	if err != nil {
		return err
	}
	s.render(w, status, "model", d)
	return nil
}
