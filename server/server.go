// Package server is reckon's HTTP API: every route behind a bearer token
// whose role and team auth.Allowed checks, errors as JSON with a stable
// code, an OpenAPI document made from the same route table that serves
// the requests. It only translates: the answers come from the store and
// the workflow packages, as the CLI's do.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/online"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/store"
)

// Config is what a server serves from.
type Config struct {
	Store  store.Store
	Tokens auth.Tokens
	// Blobs holds the models' artifacts (online predictions load them).
	Blobs registry.Blobs
	// Jobs is the scheduler's job store, Queues its queues (for why).
	Jobs   sched.Store
	Queues *sched.Queues
	// Exec reads the output of running jobs (nil: only the logs kept
	// when attempts end are served).
	Exec sched.Executor
	// JobDir is where submitted jobs run and their pipelines are kept
	// ("": jobs with a pipeline are refused).
	JobDir string
	// ModelTTL is how long an alias is trusted before it is looked at
	// again (0: one second).
	ModelTTL time.Duration
	Log      *slog.Logger     // nil: discard
	Now      func() time.Time // nil: time.Now
	// MaxBody bounds a request body (0: 1 MiB).
	MaxBody int64
}

// Server is the API's handler.
type Server struct {
	c        Config
	models   *online.Cache
	metrics  *metrics
	sessions sessions
	mux      *http.ServeMux
	routes   []Route
}

// Route is one operation: what the OpenAPI document says of it and how
// it is served.
type Route struct {
	Method  string
	Path    string // net/http pattern syntax: /api/v1/runs/{id}
	Summary string
	// Action is what the route does, checked against the resource's team
	// by the handler (auth.Allowed).
	Action auth.Action
	Params []Param
	handle func(w http.ResponseWriter, r *http.Request, p auth.Principal) error
}

// Param is a query parameter of a route.
type Param struct {
	Name, Doc string
}

// New builds the handler.
func New(c Config) *Server {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxBody == 0 {
		c.MaxBody = 1 << 20
	}
	if c.Queues == nil {
		c.Queues = sched.DefaultQueues()
	}
	s := &Server{c: c, mux: http.NewServeMux(), models: newCacheFor(c), metrics: newMetrics(c.Jobs)}
	s.routes = s.table()
	for _, rt := range s.routes {
		s.mux.Handle(rt.Method+" "+rt.Path, s.authed(rt))
	}
	s.uiRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Unknown paths answer 401 to strangers, 404 to token holders:
		// nothing about the routes is told without a token.
		if _, err := s.principal(r); err != nil {
			writeError(w, unauthorized(err))
			return
		}
		writeError(w, &Error{Status: http.StatusNotFound, Code: "not_found", Message: fmt.Sprintf("no route %s %s (see /api/v1/openapi.json)", r.Method, r.URL.Path)})
	})
	return s
}

// Routes is the route table (for the OpenAPI document and tests).
func (s *Server) Routes() []Route { return s.routes }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// ServeHTTP logs every request (never its Authorization header).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	r.Body = http.MaxBytesReader(sw, r.Body, s.c.MaxBody)
	s.mux.ServeHTTP(sw, r)
	route := r.Pattern // set by the mux as it routed r: no second lookup
	if route == "/" || route == "" {
		route = "unknown" // not the path: unknown paths must not grow the series
	}
	s.metrics.observe(route, sw.status, time.Since(t0))
	user := ""
	if p, ok := r.Context().Value(principalKey{}).(auth.Principal); ok {
		user = p.User
	}
	s.c.Log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "ms", float64(time.Since(t0).Microseconds())/1000, "user", user)
}

type principalKey struct{}

// withPrincipal marks the request's caller, for the request log.
func withPrincipal(ctx context.Context, p auth.Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func (s *Server) principal(r *http.Request) (auth.Principal, error) {
	return auth.Check(r.Context(), s.c.Tokens, auth.Bearer(r.Header.Get("Authorization")), s.c.Now())
}

// authed runs a route for a known token holder.
func (s *Server) authed(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.principal(r)
		if err != nil {
			writeError(w, unauthorized(err))
			return
		}
		*r = *r.WithContext(withPrincipal(r.Context(), p))
		if err := rt.handle(w, r, p); err != nil {
			writeError(w, err)
		}
	})
}

// allow is the route's check on a resource of team.
func allow(p auth.Principal, a auth.Action, team string) error {
	if auth.Allowed(p, a, team) {
		return nil
	}
	what := "this"
	if team != "" {
		what = "team " + team + "'s"
	}
	return &Error{Status: http.StatusForbidden, Code: "forbidden", Message: fmt.Sprintf("%s (%s of team %s) may not %s %s things", p.User, p.Role, p.Team, a, what)}
}

// Error is an API error: its HTTP status, a stable code and a message
// that names the field at fault.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

func unauthorized(err error) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: err.Error()}
}

func badRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "bad_request", Field: field, Message: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case errors.Is(err, store.ErrNotFound):
		e = &Error{Status: http.StatusNotFound, Code: "not_found", Message: err.Error()}
	default:
		e = &Error{Status: http.StatusInternalServerError, Code: "internal", Message: err.Error()}
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="reckon"`)
	}
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}

// nonNil is s, or an empty slice for nil: JSON lists are [] when empty,
// never null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// Serve answers on l until ctx ends, then finishes the requests in flight
// (up to 10 s) before it returns: a SIGTERM loses no answer.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newCacheFor(c Config) *online.Cache { return online.NewCache(c.Store, c.Blobs, c.ModelTTL) }
