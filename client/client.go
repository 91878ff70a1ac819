// Package client is reckon's API from the other side: what the CLI uses
// with --server instead of opening the store, so that its commands print
// the same answers from a shared deployment.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	var payload io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		payload = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, payload)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error Error }
		if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
			return &Error{Status: resp.StatusCode, Code: "http", Message: strings.TrimSpace(string(body))}
		}
		e.Error.Status = resp.StatusCode
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%w: %w", store.ErrNotFound, &e.Error)
		}
		return &e.Error
	}
	return json.Unmarshal(body, v)
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
