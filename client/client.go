// Package client is reckon's API from the other side: what the CLI uses
// with --server instead of opening the store, so that its commands print
// the same answers from a shared deployment.
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/scheduler"
	"github.com/reckon-ml/reckon/store"
)

// Client talks to one server with one token.
type Client struct {
	Base  string // http://host:port
	Token string
	HTTP  *http.Client
}

// New is a client of base (a URL) sending token.
func New(base, token string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want http://HOST:PORT or https://HOST", base)
	}
	if token == "" {
		return nil, fmt.Errorf("--server %s needs a token in $RECKON_TOKEN (reckon tokens create, where the store is)", base)
	}
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: time.Minute}}, nil
}

// Error is the server's refusal.
type Error struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("server: %s (HTTP %d %s)", e.Message, e.Status, e.Code)
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	return c.do(ctx, "GET", path, nil, v)
}

func (c *Client) do(ctx context.Context, method, path string, in, v any) error {
	var payload []byte
	ct := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		payload, ct = b, "application/json"
	}
	_, body, err := c.raw(ctx, method, path, payload, ct)
	if err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}

// raw sends a request and reads the answer, or the server's error.
func (c *Client) raw(ctx context.Context, method, path string, payload []byte, contentType string) (http.Header, []byte, error) {
	var r io.Reader
	if payload != nil {
		r = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, r)
	if err != nil {
		return nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error Error }
		if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			return nil, nil, &Error{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(body))}
		}
		e.Error.Status = resp.StatusCode
		if resp.StatusCode == http.StatusNotFound {
			return nil, nil, fmt.Errorf("%w: %w", store.ErrNotFound, &e.Error)
		}
		return nil, nil, &e.Error
	}
	return resp.Header, body, nil
}

// ListRuns is store.Runs' ListRuns through the API, page after page.
func (c *Client) ListRuns(ctx context.Context, q store.Query) ([]store.Run, error) {
	v := url.Values{}
	if q.Team != "" {
		v.Set("team", q.Team)
	}
	if q.Status != "" {
		v.Set("status", string(q.Status))
	}
	if q.Name != "" {
		v.Set("name", q.Name)
	}
	if q.SortMetric != "" {
		s := "metric:" + q.SortMetric
		if q.Desc {
			s += ":desc"
		}
		v.Set("sort", s)
	}
	var out []store.Run
	for {
		page := 1000
		if q.Limit > 0 {
			page = min(1000, q.Limit-len(out))
		}
		v.Set("limit", strconv.Itoa(page))
		var got struct {
			Runs       []store.Run `json:"runs"`
			NextCursor string      `json:"next_cursor"`
		}
		if err := c.get(ctx, "/api/v1/runs?"+v.Encode(), &got); err != nil {
			return nil, err
		}
		out = append(out, got.Runs...)
		if got.NextCursor == "" || q.Limit > 0 && len(out) >= q.Limit {
			return out, nil
		}
		v.Set("cursor", got.NextCursor)
	}
}

// GetRun is one run with its artifacts.
func (c *Client) GetRun(ctx context.Context, id string) (store.Run, []store.Artifact, error) {
	var got struct {
		store.Run
		Artifacts []store.Artifact `json:"artifacts"`
	}
	err := c.get(ctx, "/api/v1/runs/"+url.PathEscape(id), &got)
	return got.Run, got.Artifacts, err
}

// ListModels is the registry's models.
func (c *Client) ListModels(ctx context.Context) ([]store.Model, error) {
	var got struct {
		Models []store.Model `json:"models"`
	}
	err := c.get(ctx, "/api/v1/models", &got)
	return got.Models, err
}

// ModelDetail is a model with its versions and alias moves.
type ModelDetail struct {
	store.Model
	Versions []store.Version   `json:"versions"`
	History  []store.AliasMove `json:"history"`
}

// Model is a model's versions and alias moves.
func (c *Client) Model(ctx context.Context, name string) (ModelDetail, error) {
	var d ModelDetail
	err := c.get(ctx, "/api/v1/models/"+url.PathEscape(name), &d)
	return d, err
}

// MoveAlias points name@alias at version, for reason; the audit log names
// the token's user, which it returns.
func (c *Client) MoveAlias(ctx context.Context, name, alias string, version int, reason string) (string, error) {
	var got struct {
		By string `json:"by"`
	}
	err := c.do(ctx, "PUT", "/api/v1/models/"+url.PathEscape(name)+"/aliases/"+url.PathEscape(alias),
		map[string]any{"version": version, "reason": reason}, &got)
	return got.By, err
}

// The client is the jobs API over HTTP.
var _ scheduler.Service = (*Client)(nil)

// Submit queues a job on the server's scheduler. A pipeline file is sent
// as its text: the job runs it in the server's job directory, so its
// relative paths are read there, not here. The server names the token's
// user as the submitter, whatever s.User says.
func (c *Client) Submit(ctx context.Context, s scheduler.Submission) (sched.Record, error) {
	body := map[string]any{"team": s.Team, "predict": s.Predict, "shards": s.Shards, "args": s.Args, "flavor": s.Flavor,
		"gpus": s.GPUs, "cpu": s.CPU, "memory_gb": s.MemoryGB, "priority": s.Priority, "max_attempts": s.MaxAttempts}
	if s.Expected > 0 {
		body["expected"] = s.Expected.String()
	}
	if s.Pipeline != "" {
		path := s.Pipeline
		if !filepath.IsAbs(path) && s.Dir != "" {
			path = filepath.Join(s.Dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return sched.Record{}, err
		}
		body["pipeline"] = string(b)
	}
	var r sched.Record
	err := c.do(ctx, "POST", "/api/v1/jobs", body, &r)
	return r, err
}

// ListJobs lists jobs, oldest first.
func (c *Client) ListJobs(ctx context.Context, q sched.JobQuery) ([]sched.Record, error) {
	v := url.Values{}
	if q.Team != "" {
		v.Set("team", q.Team)
	}
	var states []string
	for _, s := range q.States {
		states = append(states, string(s))
	}
	if len(states) > 0 {
		v.Set("state", strings.Join(states, ","))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Parent != "" {
		return nil, fmt.Errorf("client: the jobs a job fanned out come with Job")
	}
	var got struct {
		Jobs []sched.Record `json:"jobs"`
	}
	err := c.get(ctx, "/api/v1/jobs?"+v.Encode(), &got)
	return got.Jobs, err
}

// Job is a job with its attempts, children and why.
func (c *Client) Job(ctx context.Context, id string) (scheduler.JobView, error) {
	var v scheduler.JobView
	err := c.get(ctx, "/api/v1/jobs/"+url.PathEscape(id), &v)
	return v, err
}

// Why says why a job is where it is.
func (c *Client) Why(ctx context.Context, id string) (scheduler.WhyView, error) {
	var v scheduler.WhyView
	err := c.get(ctx, "/api/v1/jobs/"+url.PathEscape(id)+"/why", &v)
	v.Record.ID, v.Record.State = v.ID, v.Status
	return v, err
}

// Cancel asks a job to stop. The server records the token's user as who
// cancelled it; why is sent as the reason.
func (c *Client) Cancel(ctx context.Context, id, why string) (sched.Record, error) {
	var r sched.Record
	err := c.do(ctx, "POST", "/api/v1/jobs/"+url.PathEscape(id)+"/cancel", map[string]string{"reason": why}, &r)
	return r, err
}

// Logs is an attempt's output from offset on.
func (c *Client) Logs(ctx context.Context, id string, attempt int, offset int64) (scheduler.LogChunk, error) {
	v := url.Values{}
	if attempt > 0 {
		v.Set("attempt", strconv.Itoa(attempt))
	}
	if offset > 0 {
		v.Set("offset", strconv.FormatInt(offset, 10))
	}
	var ch scheduler.LogChunk
	h, b, err := c.raw(ctx, "GET", "/api/v1/jobs/"+url.PathEscape(id)+"/logs?"+v.Encode(), nil, "")
	if err != nil {
		return ch, err
	}
	ch.Data = b
	ch.Attempt, _ = strconv.Atoi(h.Get("Reckon-Attempt"))
	ch.Running = h.Get("Reckon-Running") == "true"
	return ch, nil
}

// Usage is the queues with each team's use of them.
func (c *Client) Usage(ctx context.Context) (scheduler.QueuesView, error) {
	var v scheduler.QueuesView
	err := c.get(ctx, "/api/v1/queues", &v)
	return v, err
}

// Version describes the version ref names (NAME@alias, NAME:VERSION).
func (c *Client) Version(ctx context.Context, ref string) (registry.Described, error) {
	var d registry.Described
	err := c.get(ctx, "/api/v1/models/"+url.PathEscape(ref)+"/version", &d)
	return d, err
}

// ModelFile is the model file of the version ref names, with the
// version; the server checked it against its digest, and so does this.
func (c *Client) ModelFile(ctx context.Context, ref string) (registry.Described, []byte, error) {
	d, err := c.Version(ctx, ref)
	if err != nil {
		return d, nil, err
	}
	// By version, not by the alias again: the alias may move between the
	// two requests.
	_, b, err := c.raw(ctx, "GET", "/api/v1/models/"+url.PathEscape(registry.Label(d.Version))+"/artifact", nil, "")
	if err != nil {
		return d, nil, err
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != d.Artifact.SHA256 {
		return d, nil, fmt.Errorf("%s: the model file from the server has sha256 %s, the registry says %s", registry.Label(d.Version), got, d.Artifact.SHA256)
	}
	return d, b, nil
}

// Load loads the registered model ref names through the server, as
// registry.Load does from the store.
func (c *Client) Load(ctx context.Context, ref string) (*registry.Loaded, error) {
	d, b, err := c.ModelFile(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return registry.LoadBytes(b, d.Version)
}

// RecordDrift records a drift check against version v; the server names
// the token's user.
func (c *Client) RecordDrift(ctx context.Context, v store.Version, rep *monitor.Report, inputs []string) (store.Run, error) {
	var r store.Run
	err := c.do(ctx, "POST", "/api/v1/models/"+url.PathEscape(registry.Label(v))+"/drift", map[string]any{"report": rep, "inputs": inputs}, &r)
	return r, err
}

// DriftHistory is a model's recorded drift checks, newest first.
func (c *Client) DriftHistory(ctx context.Context, model string) ([]store.Run, error) {
	var got struct {
		Checks []store.Run `json:"checks"`
	}
	err := c.get(ctx, "/api/v1/models/"+url.PathEscape(model)+"/drift", &got)
	return got.Checks, err
}
