// Package workspace opens what every workflow runs against: the tracking
// store (SQLite file or PostgreSQL URL) and the blob bucket (a directory or
// s3://...), and identifies the running code. The CLI, the scheduler's
// workers and the server open a workspace the same way.
package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/sched"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/postgres"
	"github.com/reckon-ml/reckon/store/sqlite"
)

// Config says where the store and the blobs are.
type Config struct {
	// Store is a SQLite file path (optionally sqlite://PATH) or a
	// postgres:// URL.
	Store string
	// Blobs is a directory or an S3 URL (s3://bucket?...).
	Blobs string
	// StaleAfter: a running run without a heartbeat for this long is
	// marked interrupted when the workspace opens.
	StaleAfter time.Duration
	// Log receives warnings (nil: discarded).
	Log *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Job is the scheduler job this process runs for ("" for none, the
	// default $RECKON_JOB): the runs it creates are linked to the job.
	Job string
}

// Workspace is an open tracking store and blob bucket.
type Workspace struct {
	store.Store
	Blobs *blobs.Bucket
	// Jobs is the scheduler's job store (the same database).
	Jobs sched.Store
}

// Close closes both.
func (w *Workspace) Close() error { return errors.Join(w.Store.Close(), w.Blobs.Close()) }

// Shared says whether a store URL names a server other machines reach.
func Shared(storeURL string) bool {
	return strings.HasPrefix(storeURL, "postgres://") || strings.HasPrefix(storeURL, "postgresql://")
}

// Open opens the store and the bucket, then marks runs whose process
// stopped beating (killed, machine lost) as interrupted: everything that
// opens the store does, so a dead run is never shown as running for long.
func Open(ctx context.Context, c Config) (*Workspace, error) {
	log := c.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	var s store.Store
	var err error
	if Shared(c.Store) {
		s, err = postgres.Open(ctx, c.Store)
	} else {
		path := strings.TrimPrefix(c.Store, "sqlite://")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		s, err = sqlite.Open(ctx, path)
	}
	if err != nil {
		return nil, err
	}
	b, err := blobs.Open(ctx, c.Blobs)
	if err != nil {
		s.Close()
		return nil, err
	}
	if Shared(c.Store) && !strings.Contains(c.Blobs, "://") {
		log.Warn("the store is shared but artifacts go to a local directory that other machines cannot read; set --blobs s3://... (or $RECKON_BLOBS)", "blobs", b.String())
	}
	ids, err := s.MarkStale(ctx, now().Add(-c.StaleAfter))
	if err != nil {
		s.Close()
		b.Close()
		return nil, err
	}
	for _, id := range ids {
		log.Warn("run stopped without finishing (no heartbeat): marked interrupted", "run", id, "stale_after", c.StaleAfter)
	}
	js, ok := s.(sched.Store)
	if !ok {
		s.Close()
		b.Close()
		return nil, fmt.Errorf("store %T keeps no jobs", s)
	}
	ws := &Workspace{Store: s, Blobs: b, Jobs: js}
	if c.Job != "" {
		ws.Store = jobRuns{Store: s, jobs: js, job: c.Job, log: log}
	}
	return ws, nil
}

// jobRuns links the top-level runs a job's process creates to the job, so
// reckon jobs show lists them and the job's log joins their artifacts.
type jobRuns struct {
	store.Store
	jobs sched.Store
	job  string
	log  *slog.Logger
}

func (j jobRuns) CreateRun(ctx context.Context, r store.Run) (store.Run, error) {
	r.Tags = maps.Clone(r.Tags)
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	r.Tags["reckon.job"] = j.job
	r, err := j.Store.CreateRun(ctx, r)
	if err == nil && r.Parent == "" {
		if err := j.jobs.LinkRun(ctx, j.job, r.ID); err != nil {
			j.log.Warn("linking the run to its job", "job", j.job, "run", r.ID, "err", err)
		}
	}
	return r, err
}

var (
	codeOnce sync.Once
	codeSum  string
)

// CodeVersion identifies the running code by the sha256 of the executable
// itself: any change to reckon's code gives a new value, with nothing to
// bump by hand. (`go run` of unchanged sources links identical bytes.)
// Pipeline step caches are keyed by it.
func CodeVersion() string {
	codeOnce.Do(func() {
		codeSum = "unknown"
		exe, err := os.Executable()
		if err != nil {
			return
		}
		f, err := os.Open(exe)
		if err != nil {
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return
		}
		codeSum = "exe-sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
	})
	return codeSum
}
