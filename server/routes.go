package server

import (
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/drift"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/online"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/store"
)

// table is every route the server answers.
func (s *Server) table() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness: the process answers", Action: auth.Read, handle: s.healthz},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: the store answers", Action: auth.Read, handle: s.readyz},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics: requests and latency by route, prediction latency by model, rows scored", Action: auth.Read, handle: s.prometheus},
		{Method: "GET", Path: "/api/v1/whoami", Summary: "The token's user, team and role", Action: auth.Read, handle: s.whoami},
		{Method: "GET", Path: "/api/v1/openapi.json", Summary: "This document", Action: auth.Read, handle: s.openapi},
		{Method: "GET", Path: "/api/v1/runs", Summary: "Runs, newest first or sorted by a metric, a page at a time", Action: auth.Read, handle: s.listRuns,
			Params: []Param{
				{"team", "the team's runs (default: the token's team; an admin sees every team's without it)"},
				{"status", "queued, running, succeeded, failed or interrupted"},
				{"name", "the exact run name"},
				{"sort", "metric:KEY (ascending) or metric:KEY:desc"},
				{"limit", "runs per page, 1 to 1000 (default 50)"},
				{"cursor", "next_cursor of the previous page"},
			}},
		{Method: "GET", Path: "/api/v1/runs/{id}", Summary: "One run: params, tags, inputs, last metrics, artifacts", Action: auth.Read, handle: s.getRun},
		{Method: "GET", Path: "/api/v1/runs/{id}/metrics/{key}", Summary: "A metric's series, down to at most max_points (first, last and each bucket's extremes kept)", Action: auth.Read, handle: s.getMetric,
			Params: []Param{{"max_points", "at most this many points, 4 to 100000 (default 2000)"}}},
		{Method: "GET", Path: "/api/v1/runs/{id}/artifacts/{name}", Summary: "Download a run's artifact, checked against its SHA-256 first", Action: auth.Read, handle: s.getArtifact},
		{Method: "GET", Path: "/api/v1/datasets/{name}", Summary: "A dataset's versions (content hash, rows, schema)", Action: auth.Read, handle: s.getDataset},
		{Method: "GET", Path: "/api/v1/jobs", Summary: "Jobs, oldest first", Action: auth.Read, handle: s.listJobs,
			Params: []Param{{"team", "the team's jobs (default: the token's team; an admin sees every team's without it)"}, {"state", "queued, admitted, running, succeeded, failed, cancelled (commas between several)"}, {"limit", "only the newest N (default: all)"}}},
		{Method: "POST", Path: "/api/v1/jobs", Summary: `Submit a job: body {"team": T, "pipeline": "YAML text"} or {"predict": true, "args": [PREDICT-ARGS], "shards": N} or {"args": ["data", "generate", ...]}, with "gpus", "flavor", "cpu", "memory_gb", "priority", "expected" ("2h"), "max_attempts"; the job runs in the server's job directory and names the token's user`, Action: auth.Train, handle: s.submitJob},
		{Method: "GET", Path: "/api/v1/jobs/{id}", Summary: "One job with its attempts, the jobs it fanned out and why it is where it is", Action: auth.Read, handle: s.getJob},
		{Method: "GET", Path: "/api/v1/jobs/{id}/logs", Summary: "An attempt's output as text; header Reckon-Running: true while it may write more (ask again from offset plus what was read)", Action: auth.Read, handle: s.jobLogs,
			Params: []Param{{"attempt", "which attempt, 1, 2, ... (default: the last)"}, {"offset", "the byte to start from (default 0)"}}},
		{Method: "GET", Path: "/api/v1/queues", Summary: "The teams' queues (quota per flavor, borrowing and lending limits, weights) and each team's use of them now", Action: auth.Read, handle: s.queues},
		{Method: "GET", Path: "/api/v1/jobs/{id}/why", Summary: "Why a job is where it is: for a queued one, what it waits for", Action: auth.Read, handle: s.jobWhy},
		{Method: "POST", Path: "/api/v1/jobs/{id}/cancel", Summary: `Cancel a job and the jobs it fanned out, body {"reason": "..."}`, Action: auth.Train, handle: s.cancelJob},
		{Method: "GET", Path: "/api/v1/models/{name}/drift", Summary: "A model's recorded drift checks, newest first", Action: auth.ReadModel, handle: s.modelDrift},
		{Method: "GET", Path: "/api/v1/models", Summary: "Registered models with their aliases", Action: auth.ReadModel, handle: s.listModels},
		{Method: "GET", Path: "/api/v1/models/{name}", Summary: "A model's versions and its aliases' history", Action: auth.ReadModel, handle: s.getModel},
		{Method: "GET", Path: "/api/v1/models/{ref}/version", Summary: "The version NAME@alias or NAME:VERSION names: run, data, metrics, aliases, and whether its artifact is intact", Action: auth.ReadModel, handle: s.describeVersion},
		{Method: "GET", Path: "/api/v1/models/{ref}/artifact", Summary: "Download the model file of NAME@alias or NAME:VERSION, checked against its SHA-256 first; header Reckon-Version names the version", Action: auth.Predict, handle: s.versionArtifact},
		{Method: "POST", Path: "/api/v1/models/{ref}/drift", Summary: `Record a drift check of NAME:VERSION's inputs: body {"report": REPORT, "inputs": ["new.csv"]} as reckon monitor --json writes the report; the check names the token's user`, Action: auth.Predict, handle: s.recordDrift},
		{Method: "POST", Path: "/api/v1/models/{ref}/predict", Summary: `Predict rows with NAME@alias or NAME:VERSION: body {"rows": [{"feature": value, ...}, ...]} or a CSV table (Content-Type: text/csv); answers each row's class and probabilities and the version that answered`, Action: auth.Predict, handle: s.predict,
			Params: []Param{{"partial", "true: a bad row gets its error in its place and the other rows are answered (default: a bad row fails the request, 400 naming it)"}}},
		{Method: "PUT", Path: "/api/v1/models/{name}/aliases/{alias}", Summary: `Promote or roll back: point an alias at a version, body {"version": N, "reason": "..."}; the audit log names the token's user`, Action: auth.MoveAlias, handle: s.moveAlias},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.Read, ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.Read, ""); err != nil {
		return err
	}
	if _, err := s.c.Store.ListRuns(r.Context(), store.Query{Limit: 1}); err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "the store does not answer: " + err.Error()}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.Read, p.Team); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// encodeCursor is a page's cursor, opaque to clients: the place of its
// last run in the order (a keyset, so a deep page costs what the first
// does).
func encodeCursor(c *store.Cursor) string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// RunsPage is one page of runs.
type RunsPage struct {
	Runs       []store.Run `json:"runs"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	page, err := s.runsPage(r.Context(), p, r.URL.Query())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// runsPage is the page of runs a query asks for (the API's and the UI's).
func (s *Server) runsPage(ctx context.Context, p auth.Principal, q url.Values) (RunsPage, error) {
	var page RunsPage
	team := q.Get("team")
	if team == "" && p.Role != auth.Admin {
		team = p.Team
	}
	if err := allow(p, auth.Read, team); err != nil {
		return page, err
	}
	sq := store.Query{Team: team, Name: q.Get("name"), Status: store.Status(q.Get("status"))}
	if sq.Status != "" && !sq.Status.Valid() {
		return page, badRequest("status", "status %q: want queued, running, succeeded, failed or interrupted", sq.Status)
	}
	if v := q.Get("sort"); v != "" {
		key, ok := strings.CutPrefix(v, "metric:")
		if k, desc := strings.CutSuffix(key, ":desc"); desc {
			key, sq.Desc = k, true
		}
		if !ok || key == "" {
			return page, badRequest("sort", "sort %q: want metric:KEY or metric:KEY:desc", v)
		}
		sq.SortMetric = key
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return page, badRequest("limit", "limit %q: want 1 to 1000", v)
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		var c store.Cursor
		if err != nil || json.Unmarshal(b, &c) != nil || c.ID == "" {
			return page, badRequest("cursor", "cursor %q: not one this server gave", v)
		}
		sq.After = &c
	}
	// One more than the page, to know whether there is a next one.
	sq.Limit = limit + 1
	runs, err := s.c.Store.ListRuns(ctx, sq)
	if err != nil {
		return page, err
	}
	page.Runs = nonNil(runs[:min(len(runs), limit)])
	if len(runs) > limit {
		page.NextCursor = encodeCursor(store.CursorOf(sq, page.Runs[len(page.Runs)-1]))
	}
	return page, nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	run, err := s.c.Store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := allow(p, auth.Read, run.Team); err != nil {
		return err
	}
	arts, err := s.c.Store.Artifacts(r.Context(), run.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, RunDetail{Run: run, Artifacts: nonNil(arts)})
	return nil
}

// RunDetail is a run with its artifacts.
type RunDetail struct {
	store.Run
	Artifacts []store.Artifact `json:"artifacts"`
}

func (s *Server) getMetric(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	run, err := s.c.Store.GetRun(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := allow(p, auth.Read, run.Team); err != nil {
		return err
	}
	n := 2000
	if v := r.URL.Query().Get("max_points"); v != "" {
		k, err := strconv.Atoi(v)
		if err != nil || k < 4 || k > 100000 {
			return badRequest("max_points", "max_points %q: want 4 to 100000", v)
		}
		n = k
	}
	pts, total, err := s.series(ctx, run.ID, r.PathValue("key"), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": run.ID, "key": r.PathValue("key"), "points": total, "series": pts})
	return nil
}

// sampler is a store that reduces long series itself (sqlstore does, in
// SQL: only ~n rows leave the database).
type sampler interface {
	MetricSample(ctx context.Context, id, key string, n int) ([]store.Point, int, error)
}

// series is a metric reduced to at most about n points, and its length.
func (s *Server) series(ctx context.Context, id, key string, n int) ([]store.Point, int, error) {
	if sm, ok := s.c.Store.(sampler); ok {
		pts, total, err := sm.MetricSample(ctx, id, key, n)
		return nonNil(pts), total, err
	}
	pts, err := s.c.Store.Metric(ctx, id, key)
	return nonNil(Downsample(pts, n)), len(pts), err
}

// AliasMove is the body of a promotion or roll-back.
type AliasMove struct {
	Version int    `json:"version"`
	Reason  string `json:"reason"`
}

func (s *Server) moveAlias(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	name, alias := r.PathValue("name"), r.PathValue("alias")
	var body AliasMove
	if err := decode(r, &body); err != nil {
		return err
	}
	if err := s.move(r.Context(), p, name, alias, body); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": name, "alias": alias, "version": body.Version, "by": p.User, "reason": body.Reason})
	return nil
}

// move points name@alias at body's version for p, who must be allowed to
// move the aliases of the version's team (the API's and the UI's).
func (s *Server) move(ctx context.Context, p auth.Principal, name, alias string, body AliasMove) error {
	if body.Version < 1 {
		return badRequest("version", "version: want the number of a registered version (1, 2, ...)")
	}
	if strings.TrimSpace(body.Reason) == "" {
		return badRequest("reason", "reason: say why the alias moves (it is kept in the audit log)")
	}
	v, err := s.c.Store.GetVersion(ctx, name, body.Version)
	if err != nil {
		return err
	}
	// The model's team is the team that trained the version.
	team := ""
	if run, err := s.c.Store.GetRun(ctx, v.RunID); err == nil {
		team = run.Team
	}
	if err := allow(p, auth.MoveAlias, team); err != nil {
		return err
	}
	if err := s.c.Store.MoveAlias(ctx, name, alias, body.Version, p.User, body.Reason); err != nil {
		if errors.Is(err, store.ErrAliasUnchanged) {
			return &Error{Status: http.StatusConflict, Code: "unchanged", Field: "version", Message: fmt.Sprintf("%s@%s already points at version %d", name, alias, body.Version)}
		}
		return err
	}
	return nil
}

// PredictRequest is the JSON body of a prediction.
type PredictRequest struct {
	Rows []online.Row `json:"rows"`
}

// PredictResponse is the answer: the version that scored every row.
type PredictResponse struct {
	Model       string              `json:"model"`
	Version     int                 `json:"version"`
	Predictions []online.Prediction `json:"predictions"`
}

func (s *Server) predict(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ref, err := registry.ParseRef(r.PathValue("ref"))
	if err != nil {
		return badRequest("ref", "%v", err)
	}
	// Check the role before anything is loaded for it.
	if !auth.Allowed(p, auth.Predict, p.Team) {
		return allow(p, auth.Predict, p.Team)
	}
	served, err := s.models.Get(r.Context(), ref)
	if errors.Is(err, online.ErrNotTabular) {
		return badRequest("ref", "%v", err)
	} else if err != nil {
		return err
	}
	if err := allow(p, auth.Predict, served.Team); err != nil {
		return err
	}
	var rows []online.Row
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/csv") {
		if rows, err = csvRows(r); err != nil {
			return err
		}
	} else {
		var body PredictRequest
		if err := decode(r, &body); err != nil {
			return err
		}
		rows = body.Rows
	}
	if len(rows) == 0 {
		return badRequest("rows", "rows: no rows to predict")
	}
	t0 := time.Now()
	preds, err := served.Predict(rows, r.URL.Query().Get("partial") == "true")
	s.metrics.predict.WithLabelValues(served.Version.Model).Observe(time.Since(t0).Seconds())
	s.metrics.rows.Add(float64(len(rows)))
	var re *online.RowError
	if errors.As(err, &re) {
		return &Error{Status: http.StatusBadRequest, Code: "bad_row", Field: fmt.Sprintf("rows[%d].%s", re.Row, re.Field), Message: re.Error()}
	} else if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, PredictResponse{Model: served.Version.Model, Version: served.Version.Version, Predictions: preds})
	return nil
}

// csvRows reads a CSV body: a header, then a row per line; empty cells
// are missing.
func csvRows(r *http.Request) ([]online.Row, error) {
	recs, err := csv.NewReader(r.Body).ReadAll()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d bytes", tooBig.Limit)}
		}
		return nil, badRequest("", "the CSV body: %v", err)
	}
	if len(recs) < 1 {
		return nil, badRequest("rows", "the CSV body has no header")
	}
	var rows []online.Row
	for _, rec := range recs[1:] {
		row := online.Row{}
		for j, name := range recs[0] {
			if rec[j] == "" {
				row[name] = json.RawMessage("null")
				continue
			}
			b, _ := json.Marshal(rec[j])
			row[name] = b
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors that name what is wrong.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return &Error{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Message: fmt.Sprintf("the body is over %d bytes", tooBig.Limit)}
		case errors.As(err, &typeErr):
			return badRequest(typeErr.Field, "%s: want a %s, not a JSON %s", typeErr.Field, typeErr.Type, typeErr.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest(f, "unknown field %q", f)
		}
		return badRequest("", "the body is not the JSON this route takes: %v", err)
	}
	if dec.More() {
		return badRequest("", "the body has data after its JSON object")
	}
	return nil
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.ReadModel, ""); err != nil {
		return err
	}
	ms, err := s.c.Store.ListModels(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": nonNil(ms)})
	return nil
}

// ModelDetail is a model with its versions and alias history.
type ModelDetail struct {
	store.Model
	Versions []store.Version   `json:"versions"`
	History  []store.AliasMove `json:"history"`
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.ReadModel, ""); err != nil {
		return err
	}
	ctx, name := r.Context(), r.PathValue("name")
	m, err := s.c.Store.GetModel(ctx, name)
	if err != nil {
		return err
	}
	d := ModelDetail{Model: m}
	if d.Versions, err = s.c.Store.Versions(ctx, name); err != nil {
		return err
	}
	if d.History, err = s.c.Store.History(ctx, name); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) describeVersion(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.ReadModel, ""); err != nil {
		return err
	}
	ref, err := registry.ParseRef(r.PathValue("ref"))
	if err != nil {
		return badRequest("ref", "%v", err)
	}
	if s.c.Blobs == nil {
		return errNoBlobs
	}
	d, err := registry.Describe(r.Context(), s.c.Store, s.c.Blobs, ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// predictable is the version the path's ref names, once p may predict
// with it (a trainer or predictor of its run's team, or an admin); pinned
// refuses an alias, for what must name the version it was about.
func (s *Server) predictable(r *http.Request, p auth.Principal, pinned bool) (store.Version, error) {
	// The role first, before anything is looked up for the caller.
	if !auth.Allowed(p, auth.Predict, p.Team) {
		return store.Version{}, allow(p, auth.Predict, p.Team)
	}
	ref, err := registry.ParseRef(r.PathValue("ref"))
	if err != nil {
		return store.Version{}, badRequest("ref", "%v", err)
	}
	if pinned && ref.Version == 0 {
		return store.Version{}, badRequest("ref", "%s: record a check against NAME:VERSION, the version that was checked (an alias may have moved since)", ref)
	}
	v, err := registry.Resolve(r.Context(), s.c.Store, ref)
	if err != nil {
		return v, err
	}
	run, err := s.c.Store.GetRun(r.Context(), v.RunID)
	if err != nil {
		return v, err
	}
	return v, allow(p, auth.Predict, run.Team)
}

// HeaderVersion names the version a model file is.
const HeaderVersion = "Reckon-Version"

// versionArtifact sends a version's model file, to those who may predict
// with it (its run's team): the file is the model itself.
func (s *Server) versionArtifact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	v, err := s.predictable(r, p, false)
	if err != nil {
		return err
	}
	if s.c.Blobs == nil {
		return errNoBlobs
	}
	b, err := s.c.Blobs.Get(ctx, v.Artifact.Key)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Digest", "sha-256="+v.Artifact.SHA256)
	w.Header().Set(HeaderVersion, strconv.Itoa(v.Version))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

// DriftRecord is the body of a drift check to record.
type DriftRecord struct {
	Report *monitor.Report `json:"report"`
	Inputs []string        `json:"inputs"`
}

func (s *Server) recordDrift(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	v, err := s.predictable(r, p, true)
	if err != nil {
		return err
	}
	var body DriftRecord
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Report == nil {
		return badRequest("report", "report: missing (reckon monitor --json writes one)")
	}
	if s.c.Blobs == nil {
		return errNoBlobs
	}
	rec, err := drift.Record(ctx, s.c.Store, s.c.Blobs, v, body.Report, nonNil(body.Inputs), p.User, s.c.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rec)
	return nil
}

// errNoBlobs answers what needs the blob store on a server without one.
var errNoBlobs = &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "this server has no blob store"}
