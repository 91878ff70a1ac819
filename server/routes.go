package server

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/store"
)

// table is every route the server answers.
func (s *Server) table() []Route {
	return []Route{
		{Method: "GET", Path: "/healthz", Summary: "Liveness: the process answers", Action: auth.Read, handle: s.healthz},
		{Method: "GET", Path: "/readyz", Summary: "Readiness: the store answers", Action: auth.Read, handle: s.readyz},
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
		{Method: "GET", Path: "/api/v1/runs/{id}", Summary: "One run: params, tags, inputs, last metrics", Action: auth.Read, handle: s.getRun},
		{Method: "GET", Path: "/api/v1/models", Summary: "Registered models with their aliases", Action: auth.ReadModel, handle: s.listModels},
		{Method: "GET", Path: "/api/v1/models/{name}", Summary: "A model's versions and its aliases' history", Action: auth.ReadModel, handle: s.getModel},
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

// RunsPage is one page of runs.
type RunsPage struct {
	Runs       []store.Run `json:"runs"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	q := r.URL.Query()
	team := q.Get("team")
	if team == "" && p.Role != auth.Admin {
		team = p.Team
	}
	if err := allow(p, auth.Read, team); err != nil {
		return err
	}
	sq := store.Query{Team: team, Name: q.Get("name"), Status: store.Status(q.Get("status"))}
	if sq.Status != "" && !sq.Status.Valid() {
		return badRequest("status", "status %q: want queued, running, succeeded, failed or interrupted", sq.Status)
	}
	if v := q.Get("sort"); v != "" {
		key, ok := strings.CutPrefix(v, "metric:")
		if k, desc := strings.CutSuffix(key, ":desc"); desc {
			key, sq.Desc = k, true
		}
		if !ok || key == "" {
			return badRequest("sort", "sort %q: want metric:KEY or metric:KEY:desc", v)
		}
		sq.SortMetric = key
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badRequest("limit", "limit %q: want 1 to 1000", v)
		}
		limit = n
	}
	offset := 0
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "o"))
		if err != nil || err2 != nil || n < 0 || !strings.HasPrefix(string(b), "o") {
			return badRequest("cursor", "cursor %q: not one this server gave", v)
		}
		offset = n
	}
	sq.Limit = offset + limit + 1
	runs, err := s.c.Store.ListRuns(r.Context(), sq)
	if err != nil {
		return err
	}
	page := RunsPage{Runs: []store.Run{}}
	if offset < len(runs) {
		page.Runs = runs[offset:min(len(runs), offset+limit)]
	}
	if len(runs) > offset+limit {
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("o" + strconv.Itoa(offset+limit)))
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	run, err := s.c.Store.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := allow(p, auth.Read, run.Team); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
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
	if ms == nil {
		ms = []store.Model{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": ms})
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
