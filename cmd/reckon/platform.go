package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/progress"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/postgres"
	"github.com/reckon-ml/reckon/store/sqlite"
)

// platform is an open tracking store and blob bucket.
type platform struct {
	store.Store
	blobs *blobs.Bucket
}

func (p *platform) Close() error { return errors.Join(p.Store.Close(), p.blobs.Close()) }

func (a *app) storeURL() string {
	if a.storeFlag != "" {
		return a.storeFlag
	}
	return a.homePath("reckon.db")
}

func (a *app) blobsURL() string {
	if a.blobsFlag != "" {
		return a.blobsFlag
	}
	return a.homePath("blobs")
}

// openPlatform opens the tracking store and the blob bucket, then marks
// runs whose process stopped beating (killed, machine lost) as
// interrupted: every command that opens the store does, so a dead run is
// never shown as running for long.
func (a *app) openPlatform(ctx context.Context) (*platform, error) {
	where := a.storeURL()
	var s store.Store
	var err error
	switch {
	case strings.HasPrefix(where, "postgres://") || strings.HasPrefix(where, "postgresql://"):
		s, err = postgres.Open(ctx, where)
	default:
		path := strings.TrimPrefix(where, "sqlite://")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		s, err = sqlite.Open(ctx, path)
	}
	if err != nil {
		return nil, err
	}
	b, err := blobs.Open(ctx, a.blobsURL())
	if err != nil {
		s.Close()
		return nil, err
	}
	if strings.HasPrefix(where, "postgres") && !strings.Contains(a.blobsURL(), "://") {
		a.log.Warn("the store is shared but artifacts go to a local directory that other machines cannot read; set --blobs s3://... (or $RECKON_BLOBS)", "blobs", b.String())
	}
	ids, err := s.MarkStale(ctx, time.Now().Add(-a.staleAfter))
	if err != nil {
		s.Close()
		b.Close()
		return nil, err
	}
	for _, id := range ids {
		a.log.Warn("run stopped without finishing (no heartbeat): marked interrupted", "run", id, "stale_after", a.staleAfter)
	}
	return &platform{Store: s, blobs: b}, nil
}

var (
	codeOnce sync.Once
	codeSum  string
)

// codeVersion identifies the running code by the sha256 of the executable
// itself: any change to reckon's code gives a new value, with nothing to
// bump by hand. (`go run` of unchanged sources links identical bytes.)
func codeVersion() string {
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

func currentUser() string {
	for _, k := range []string{"RECKON_USER", "USER", "LOGNAME"} {
		if u := os.Getenv(k); u != "" {
			return u
		}
	}
	return "unknown"
}

// bars adapts progress bars to the pipeline's progress hook.
func (a *app) bars(label string, total int) (func(int, string), func()) {
	b := progress.New(a.progressOut(), label, total)
	return func(done int, note string) { b.SetNote(done, note) }, b.Finish
}

// parseModelRef splits NAME, NAME@alias or NAME:version.
func parseModelRef(ref string) (name, alias string, version int, err error) {
	if n, al, ok := strings.Cut(ref, "@"); ok {
		if n == "" || al == "" {
			return "", "", 0, fmt.Errorf("%q: want NAME@alias", ref)
		}
		return n, al, 0, nil
	}
	if n, v, ok := strings.Cut(ref, ":"); ok {
		var ver int
		if _, err := fmt.Sscanf(v, "%d", &ver); err != nil || ver < 1 || n == "" {
			return "", "", 0, fmt.Errorf("%q: want NAME:VERSION with a version number >= 1", ref)
		}
		return n, "", ver, nil
	}
	return ref, "", 0, nil
}
