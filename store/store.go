// Package store is the domain of run tracking: runs with their parameters,
// metric series, tags and status. It holds types and interfaces only; the
// back ends (store/sqlite today; PostgreSQL next) implement them and are
// all held to the same conformance suite in store/storetest.
//
// This is the first slice of the tracking store: runs and metrics. Datasets,
// artifacts and the model registry with aliases come next.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Status is a run's state.
type Status string

// Run states. A run is created running; Finish moves it to succeeded,
// failed or interrupted, once. A running run whose heartbeat is stale is
// marked interrupted by the next MarkStale.
const (
	Queued      Status = "queued"
	Running     Status = "running"
	Succeeded   Status = "succeeded"
	Failed      Status = "failed"
	Interrupted Status = "interrupted"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case Queued, Running, Succeeded, Failed, Interrupted:
		return true
	}
	return false
}

// Run is one execution of training or evaluation.
type Run struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Team        string            `json:"team"`
	User        string            `json:"user"`
	Status      Status            `json:"status"`
	Started     time.Time         `json:"started"`
	Ended       time.Time         `json:"ended,omitzero"`
	Heartbeat   time.Time         `json:"heartbeat"`
	CodeVersion string            `json:"code_version"`
	Seed        uint64            `json:"seed"`
	Params      map[string]string `json:"params,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	// Last holds each metric's value at its highest step (filled by
	// GetRun and ListRuns).
	Last map[string]float64 `json:"last_metrics,omitempty"`
}

// Point is one metric value.
type Point struct {
	Key   string    `json:"key"`
	Step  int64     `json:"step"`
	Value float64   `json:"value"`
	Time  time.Time `json:"time"`
}

// Query selects runs for ListRuns.
type Query struct {
	Team   string
	Status Status
	// SortMetric orders by a metric's last value (ascending; Desc for
	// descending); runs without it come last. Empty: newest first.
	SortMetric string
	Desc       bool
	Limit      int // 0: no limit
}

// Errors shared by all back ends.
var (
	ErrNotFound     = errors.New("not found")
	ErrParamChanged = errors.New("parameter already set to a different value (parameters are immutable)")
	ErrFinished     = errors.New("run already finished")
)

// ParamError names the parameter that would have changed.
type ParamError struct {
	Run, Key, Old, New string
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("run %s: parameter %q is %q, cannot set it to %q (parameters are immutable)", e.Run, e.Key, e.Old, e.New)
}

func (e *ParamError) Unwrap() error { return ErrParamChanged }

// Runs records runs and their metrics.
type Runs interface {
	// CreateRun stores a new running run; an empty ID gets a fresh one.
	CreateRun(ctx context.Context, r Run) (Run, error)
	GetRun(ctx context.Context, id string) (Run, error)
	// LogParams adds parameters; setting one again to the same value is a
	// no-op, to another value a *ParamError.
	LogParams(ctx context.Context, id string, params map[string]string) error
	SetTags(ctx context.Context, id string, tags map[string]string) error
	// LogMetrics appends points (all or none).
	LogMetrics(ctx context.Context, id string, pts []Point) error
	// Metric returns one key's points in step order.
	Metric(ctx context.Context, id, key string) ([]Point, error)
	Heartbeat(ctx context.Context, id string) error
	// Finish sets the final status and end time; ErrFinished if done.
	Finish(ctx context.Context, id string, s Status) error
	ListRuns(ctx context.Context, q Query) ([]Run, error)
	// MarkStale marks running runs whose heartbeat is older than
	// before as interrupted and returns their IDs.
	MarkStale(ctx context.Context, before time.Time) ([]string, error)
}

// Store is a complete tracking store.
type Store interface {
	Runs
	Close() error
}
