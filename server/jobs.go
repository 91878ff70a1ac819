package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/drift"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/store"
)

var jobStates = []sched.State{sched.Queued, sched.Admitted, sched.Running, sched.Succeeded, sched.Failed, sched.Cancelled}

func (s *Server) jobStore() (sched.Store, error) {
	if s.c.Jobs == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "this server keeps no jobs"}
	}
	return s.c.Jobs, nil
}

func jobErr(err error) error {
	switch {
	case errors.Is(err, sched.ErrJobNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.Is(err, sched.ErrJobFinished):
		return &Error{Status: http.StatusConflict, Code: "finished", Message: err.Error()}
	}
	return err
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	js, err := s.jobStore()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	team := q.Get("team")
	if team == "" && p.Role != auth.Admin {
		team = p.Team
	}
	if err := allow(p, auth.Read, team); err != nil {
		return err
	}
	jq := sched.JobQuery{Team: team}
	if v := q.Get("state"); v != "" {
		for _, st := range strings.Split(v, ",") {
			if !slices.Contains(jobStates, sched.State(st)) {
				return badRequest("state", "state %q: want queued, admitted, running, succeeded, failed or cancelled (commas between several)", st)
			}
			jq.States = append(jq.States, sched.State(st))
		}
	}
	jobs, err := js.ListJobs(r.Context(), jq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": nonNil(jobs)})
	return nil
}

// job is the job named in the path, once the caller may read it.
func (s *Server) job(r *http.Request, p auth.Principal, a auth.Action) (sched.Store, sched.Record, error) {
	js, err := s.jobStore()
	if err != nil {
		return nil, sched.Record{}, err
	}
	j, err := js.GetJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, j, jobErr(err)
	}
	return js, j, allow(p, a, j.Team)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	_, j, err := s.job(r, p, auth.Read)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// JobWhy is why a job is where it is.
type JobWhy struct {
	ID     string        `json:"id"`
	State  sched.State   `json:"state"`
	Why    string        `json:"why"`
	Reason *sched.Reason `json:"reason,omitempty"`
}

func (s *Server) jobWhy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	js, _, err := s.job(r, p, auth.Read)
	if err != nil {
		return err
	}
	j, text, reason, err := scheduler.Why(r.Context(), js, s.c.Queues, r.PathValue("id"), s.c.Now())
	if err != nil {
		return jobErr(err)
	}
	writeJSON(w, http.StatusOK, JobWhy{ID: j.ID, State: j.State, Why: text, Reason: reason})
	return nil
}

// Cancel is the body of a cancellation.
type Cancel struct {
	Reason string `json:"reason"`
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	js, j, err := s.job(r, p, auth.Train)
	if err != nil {
		return err
	}
	var body Cancel
	if err := decode(r, &body); err != nil {
		return err
	}
	why := fmt.Sprintf("cancelled by %s", p.User)
	if body.Reason != "" {
		why += ": " + body.Reason
	}
	j, err = scheduler.Cancel(r.Context(), js, j.ID, why)
	if err != nil {
		return jobErr(err)
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

func (s *Server) getDataset(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.Read, ""); err != nil {
		return err
	}
	vs, err := s.c.Store.DatasetVersions(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "dataset " + r.PathValue("name") + ": not found"}
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": r.PathValue("name"), "versions": vs})
	return nil
}

// getArtifact sends a run's artifact, verified against its digest first:
// a damaged blob is a 500 that says so, never wrong bytes.
func (s *Server) getArtifact(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	run, err := s.c.Store.GetRun(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := allow(p, auth.Read, run.Team); err != nil {
		return err
	}
	arts, err := s.c.Store.Artifacts(ctx, run.ID)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	i := slices.IndexFunc(arts, func(a store.Artifact) bool { return a.Name == name })
	if i < 0 {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("run %s has no artifact %q", run.ID, name)}
	}
	if s.c.Blobs == nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "this server has no blob store"}
	}
	b, err := s.c.Blobs.Get(ctx, arts[i].Key)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Digest", "sha-256="+arts[i].SHA256)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", strings.ReplaceAll(name, "/", "_")))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

func (s *Server) modelDrift(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := allow(p, auth.ReadModel, ""); err != nil {
		return err
	}
	runs, err := drift.History(r.Context(), s.c.Store, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": r.PathValue("name"), "checks": nonNil(runs)})
	return nil
}
