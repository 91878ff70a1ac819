package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/pipeline"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/drift"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/store"
)

var jobStates = []sched.State{sched.Queued, sched.Admitted, sched.Running, sched.Succeeded, sched.Failed, sched.Cancelled}

func (s *Server) jobService() (*scheduler.Local, error) {
	if s.c.Jobs == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "this server keeps no jobs"}
	}
	return &scheduler.Local{Jobs: s.c.Jobs, Queues: s.c.Queues, Blobs: s.c.Blobs, Exec: s.c.Exec, Now: s.c.Now}, nil
}

func jobErr(err error) error {
	switch {
	case errors.Is(err, sched.ErrJobNotFound):
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	case errors.Is(err, sched.ErrJobFinished):
		return &Error{Status: http.StatusConflict, Code: "finished", Message: err.Error()}
	case errors.Is(err, scheduler.ErrNoAttempt):
		return &Error{Status: http.StatusNotFound, Code: "no_attempt", Field: "attempt", Message: err.Error()}
	}
	return err
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.jobService()
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
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return badRequest("limit", "limit %q: want the number of newest jobs, or 0 for all", v)
		}
		jq.Limit = n
	}
	jobs, err := svc.ListJobs(r.Context(), jq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs})
	return nil
}

// job is the job named in the path, once the caller may do a to it.
func (s *Server) job(r *http.Request, p auth.Principal, a auth.Action) (*scheduler.Local, sched.Record, error) {
	svc, err := s.jobService()
	if err != nil {
		return nil, sched.Record{}, err
	}
	j, err := svc.Jobs.GetJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, j, jobErr(err)
	}
	return svc, j, allow(p, a, j.Team)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, j, err := s.job(r, p, auth.Read)
	if err != nil {
		return err
	}
	v, err := svc.Job(r.Context(), j.ID)
	if err != nil {
		return jobErr(err)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) jobWhy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, j, err := s.job(r, p, auth.Read)
	if err != nil {
		return err
	}
	v, err := svc.Why(r.Context(), j.ID)
	if err != nil {
		return jobErr(err)
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// Cancel is the body of a cancellation.
type Cancel struct {
	Reason string `json:"reason"`
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, j, err := s.job(r, p, auth.Train)
	if err != nil {
		return err
	}
	if !p.MayTouchJob(j.ID, j.Parent) {
		return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("%s acts for job %s only: it may not cancel %s", p.User, p.Job, j.ID)}
	}
	var body Cancel
	if err := decode(r, &body); err != nil {
		return err
	}
	why := fmt.Sprintf("cancelled by %s", p.User)
	if body.Reason != "" {
		why += ": " + body.Reason
	}
	j, err = svc.Cancel(r.Context(), j.ID, why)
	if err != nil {
		return jobErr(err)
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// Submission is the body of a job submission: scheduler.Submission in
// the API's words, with the pipeline's text rather than a path (the
// caller's files are not the server's).
type Submission struct {
	Team string `json:"team"`
	// Pipeline is a pipeline file's YAML: the job runs it.
	Pipeline string `json:"pipeline"`
	// Predict: Args are reckon predict's arguments; Shards cuts it.
	Predict bool `json:"predict"`
	Shards  int  `json:"shards"`
	// Args: a reckon command (or predict's arguments).
	Args        []string `json:"args"`
	Flavor      string   `json:"flavor"`
	GPUs        int      `json:"gpus"`
	CPU         float64  `json:"cpu"`
	MemoryGB    float64  `json:"memory_gb"`
	Priority    string   `json:"priority"`
	Expected    string   `json:"expected"` // a Go duration: 90m, 2h
	MaxAttempts int      `json:"max_attempts"`
}

// submittable are the commands a job submitted over HTTP may run: the
// work of a team. The others (tokens, server, scheduler, models, ...) act
// on the whole deployment with the job's store access, past the token's
// team and role, so they are refused.
var submittable = []string{"run", "predict", "data", "train", "eval", "compare", "monitor", "bench", "plan", "verify"}

// deploymentFlags point a command at another store, home or server than
// the scheduler's: refused in a submitted job.
var deploymentFlags = []string{"--home", "--store", "--blobs", "--server"}

func (s *Server) submitJob(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.jobService()
	if err != nil {
		return err
	}
	var b Submission
	if err := decode(r, &b); err != nil {
		return err
	}
	sub := scheduler.Submission{Team: b.Team, Predict: b.Predict, Shards: b.Shards, Args: b.Args, Flavor: b.Flavor, GPUs: b.GPUs,
		CPU: b.CPU, MemoryGB: b.MemoryGB, Priority: b.Priority, MaxAttempts: b.MaxAttempts, User: p.User, Dir: s.c.JobDir}
	if b.Expected != "" {
		d, err := time.ParseDuration(b.Expected)
		if err != nil || d < 0 {
			return badRequest("expected", "expected %q: want a duration such as 90m or 2h", b.Expected)
		}
		sub.Expected = d
	}
	for i, a := range b.Args {
		name, _, _ := strings.Cut(a, "=")
		if slices.Contains(deploymentFlags, name) {
			return badRequest("args", "args[%d] %q: a submitted job runs on the scheduler's store; leave %s out", i, a, name)
		}
	}
	if len(b.Args) > 0 && !b.Predict && !slices.Contains(submittable, b.Args[0]) {
		return badRequest("args", "args[0] %q: a job submitted through the server runs one of %s", b.Args[0], strings.Join(submittable, ", "))
	}
	if b.Pipeline != "" {
		if s.c.JobDir == "" {
			return &Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "this server has no directory for submitted pipelines (reckon server sets one)"}
		}
		spec, err := pipeline.Decode("pipeline", strings.NewReader(b.Pipeline))
		if err != nil {
			return badRequest("pipeline", "%v", err)
		}
		if sub.Team == "" {
			sub.Team = spec.Team
		}
		path, err := keepPipeline(s.c.JobDir, []byte(b.Pipeline))
		if err != nil {
			return err
		}
		sub.Pipeline = path
	}
	if sub.Team == "" {
		sub.Team = p.Team
	}
	if err := allow(p, auth.Train, sub.Team); err != nil {
		return err
	}
	j, err := svc.Submit(r.Context(), sub)
	if err != nil {
		return badRequest("", "%v", err)
	}
	writeJSON(w, http.StatusCreated, j)
	return nil
}

// keepPipeline writes a submitted pipeline where its job will read it:
// DIR/.pipeline-SHA256.yaml, named by its content so that a second
// submission of the same text is the same file and none is overwritten by
// another, and in DIR itself so that its relative paths are read from
// DIR, as the job's are.
func keepPipeline(dir string, text []byte) (string, error) {
	sum := sha256.Sum256(text)
	path := filepath.Join(dir, ".pipeline-"+hex.EncodeToString(sum[:12])+".yaml")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return path, atomicfile.Write(path, text)
}

func (s *Server) jobLogs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, j, err := s.job(r, p, auth.Read)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	attempt, offset := 0, int64(0)
	if v := q.Get("attempt"); v != "" {
		if attempt, err = strconv.Atoi(v); err != nil || attempt < 1 {
			return badRequest("attempt", "attempt %q: want 1, 2, ... (default: the last)", v)
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.ParseInt(v, 10, 64); err != nil || offset < 0 {
			return badRequest("offset", "offset %q: want a byte offset >= 0", v)
		}
	}
	c, err := svc.Logs(r.Context(), j.ID, attempt, offset)
	if err != nil {
		return jobErr(err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set(HeaderAttempt, strconv.Itoa(c.Attempt))
	w.Header().Set(HeaderRunning, strconv.FormatBool(c.Running))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(c.Data)
	return err
}

// The headers of a log answer: which attempt, and whether it may write
// more (then ask again from offset + the bytes read).
const (
	HeaderAttempt = "Reckon-Attempt"
	HeaderRunning = "Reckon-Running"
)

func (s *Server) queues(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.jobService()
	if err != nil {
		return err
	}
	if err := allow(p, auth.Read, ""); err != nil {
		return err
	}
	v, err := svc.Usage(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
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
		return errNoBlobs
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
