// Package store is the domain of reckon's tracking store: runs with their
// parameters, metric series, tags, inputs and artifacts; dataset versions;
// the model registry with aliases and their audit log; and the pipeline step
// cache. It holds types and interfaces only; the back ends (store/sqlite,
// store/postgres, both through store/sqlstore) implement them and are held
// to one conformance suite, store/storetest.
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
	// Parent is the pipeline run a step run belongs to ("" for none).
	Parent string `json:"parent,omitempty"`
	// Inputs names the content hashes of the data the run read
	// (e.g. "data" -> "sha256:...").
	Inputs map[string]string `json:"inputs,omitempty"`
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

// FoldPrefix starts the keys of per-fold metric series (step = fold):
// their last value is one fold's, so summaries (runs show, runs diff) leave
// them out and show the cross-validated mean under cv/ instead.
const FoldPrefix = "fold/"

// Query selects runs for ListRuns.
type Query struct {
	Team   string
	Status Status
	Name   string // exact run name
	// SortMetric orders by a metric's last value (ascending; Desc for
	// descending); runs without it come last. Empty: newest first.
	SortMetric string
	Desc       bool
	Limit      int // 0: no limit
	// Offset skips that many runs of the order first (pages).
	Offset int
	// After starts the list after this run of the same order (keyset
	// pages, as fast deep in the list as at its start); see CursorOf.
	After *Cursor
}

// Cursor is a run's place in a listing's order.
type Cursor struct {
	// WithMetric: among the runs that have the sort metric (sorted by
	// Value), else among those that lack it (newest first, by Started).
	WithMetric bool    `json:"m,omitempty"`
	Value      float64 `json:"v,omitempty"`
	Started    int64   `json:"s,omitempty"` // unix ns
	ID         string  `json:"id"`
}

// CursorOf is r's place in the order of q.
func CursorOf(q Query, r Run) *Cursor {
	if v, ok := r.Last[q.SortMetric]; ok && q.SortMetric != "" {
		return &Cursor{WithMetric: true, Value: v, ID: r.ID}
	}
	return &Cursor{Started: r.Started.UnixNano(), ID: r.ID}
}

// Errors shared by all back ends.
var (
	ErrNotFound     = errors.New("not found")
	ErrParamChanged = errors.New("parameter already set to a different value (parameters are immutable)")
	ErrFinished     = errors.New("run already finished")
	// ErrNotSucceeded refuses to register the artifact of a run that has
	// not finished successfully.
	ErrNotSucceeded = errors.New("run has not succeeded")
	// ErrAliasUnchanged refuses a move of an alias to the version it
	// already points at: the audit log records changes only.
	ErrAliasUnchanged = errors.New("alias already points at that version")
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
	// LogArtifact records a blob written for the run (a model, a
	// checkpoint, a log); a name logged again replaces the reference.
	LogArtifact(ctx context.Context, id string, a Artifact) error
	Artifacts(ctx context.Context, id string) ([]Artifact, error)
	// MarkStale marks running runs whose heartbeat is older than
	// before as interrupted and returns their IDs.
	MarkStale(ctx context.Context, before time.Time) ([]string, error)
}

// Artifact is a run's output in the blob store, addressed by content.
type Artifact struct {
	Name   string    `json:"name"`
	Key    string    `json:"key"` // blob key
	SHA256 string    `json:"sha256"`
	Size   int64     `json:"size"`
	Time   time.Time `json:"time"`
}

// Dataset is one version of a named dataset, identified by its content hash.
type Dataset struct {
	Name    string    `json:"name"`
	Hash    string    `json:"hash"`
	Source  string    `json:"source"`
	Schema  string    `json:"schema"` // JSON
	Rows    int64     `json:"rows"`
	Created time.Time `json:"created"`
}

// Datasets records dataset versions.
type Datasets interface {
	// PutDataset records a version; recording the same (name, hash) again
	// returns the first record.
	PutDataset(ctx context.Context, d Dataset) (Dataset, error)
	// DatasetVersions lists a dataset's versions, oldest first.
	DatasetVersions(ctx context.Context, name string) ([]Dataset, error)
}

// Model is a registered model name with its aliases.
type Model struct {
	Name    string         `json:"name"`
	Created time.Time      `json:"created"`
	Latest  int            `json:"latest_version"`
	Aliases map[string]int `json:"aliases,omitempty"`
}

// Version is one registered version of a model, tied to the run and the
// data that produced it.
type Version struct {
	Model    string             `json:"model"`
	Version  int                `json:"version"`
	RunID    string             `json:"run_id"`
	Kind     string             `json:"kind"`
	Artifact Artifact           `json:"artifact"`
	DataHash string             `json:"data_hash"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Note     string             `json:"note,omitempty"`
	Created  time.Time          `json:"created"`
}

// AliasMove is one entry of a model's audit log: an alias pointed at To
// (From 0: it was new; To 0: it was removed).
type AliasMove struct {
	Model string    `json:"model"`
	Alias string    `json:"alias"`
	From  int       `json:"from"`
	To    int       `json:"to"`
	Who   string    `json:"who"`
	Why   string    `json:"why"`
	Time  time.Time `json:"time"`
}

// Registration is what Register did.
type Registration struct {
	Version Version
	// New: the bytes became a new version. False: they already were
	// Version (registered earlier, or by a concurrent caller), which is
	// returned as stored and left as it was.
	New bool
	// Moved: the alias now points at Version and the move is audited.
	// False when no alias was asked for or it already pointed there.
	Moved bool
	// Stale (RegisterIf only): the alias had moved from the version the
	// caller expected, to AliasAt, so it was left there.
	Stale   bool
	AliasAt int
}

// Registry versions models and moves their aliases with an audit trail.
type Registry interface {
	// Register adds the next version of v.Model (creating the model),
	// refusing with ErrNotSucceeded unless v.RunID succeeded. It is
	// idempotent on (model, v.Artifact.SHA256), which is required: bytes
	// already registered return their version, however many callers race.
	// When alias is not "" the alias moves to the version in the same
	// transaction, audited with who and why, unless it already points
	// there.
	Register(ctx context.Context, v Version, alias, who, why string) (Registration, error)
	// RegisterIf is Register whose alias move is conditional: it moves
	// only if the alias still points at from (0: it does not exist), the
	// target the caller's decision was made against. Otherwise the bytes
	// are still registered (a new version notes why it did not take the
	// alias) and the result is Stale, with the alias's actual target.
	RegisterIf(ctx context.Context, v Version, alias string, from int, who, why string) (Registration, error)
	// MoveAlias points alias at an existing version and audits the move;
	// ErrAliasUnchanged when it already points there.
	MoveAlias(ctx context.Context, model, alias string, version int, who, why string) error
	GetModel(ctx context.Context, name string) (Model, error)
	ListModels(ctx context.Context) ([]Model, error)
	GetVersion(ctx context.Context, model string, version int) (Version, error)
	// Resolve returns the version an alias points at.
	Resolve(ctx context.Context, model, alias string) (Version, error)
	Versions(ctx context.Context, model string) ([]Version, error)
	// History is the model's audit log, oldest first.
	History(ctx context.Context, model string) ([]AliasMove, error)
}

// CacheEntry is a pipeline step's output, found by the step's key.
type CacheEntry struct {
	Key     string    `json:"key"`
	Step    string    `json:"step"`
	RunID   string    `json:"run_id"`
	Output  string    `json:"output"` // JSON
	Created time.Time `json:"created"`
}

// Cache holds pipeline step outputs.
type Cache interface {
	// PutCache records a step's output; the run must have succeeded.
	PutCache(ctx context.Context, e CacheEntry) error
	// GetCache returns ErrNotFound for an unknown key.
	GetCache(ctx context.Context, key string) (CacheEntry, error)
}

// Store is a complete tracking store.
type Store interface {
	Runs
	Datasets
	Registry
	Cache
	Close() error
}
