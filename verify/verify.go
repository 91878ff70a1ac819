// Package verify checks a workspace the way fsck checks a file system:
// every blob the tracking store refers to (registered models, the outputs,
// logs and checkpoints of runs) is read back and compared with its
// sha256, and each one missing or damaged is reported with what it breaks
// and how to restore it. It changes nothing: healing happens where the
// bytes can be made again (a pipeline step whose cached output is broken
// runs again and rewrites it; a blob written again over a damaged copy
// replaces it).
package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/store"
)

// Blobs is what verify reads.
type Blobs interface {
	Check(ctx context.Context, key string) error
}

// Problem is one reference to a blob that cannot be read back intact.
type Problem struct {
	// What refers to the blob: "model tumor:2", "run 3f.. (tumor/train/gbdt) artifact model".
	What string `json:"what"`
	Key  string `json:"key"`
	// State: "missing" or "damaged" (or the bucket's error).
	State string `json:"state"`
	// Breaks says what fails until it is restored.
	Breaks string `json:"breaks"`
	// Fix says how to restore it.
	Fix string `json:"fix"`
}

// Report is what Run found.
type Report struct {
	Versions  int       `json:"versions"`
	Runs      int       `json:"runs"`
	Artifacts int       `json:"artifacts"`
	Blobs     int       `json:"blobs"` // distinct keys read
	Problems  []Problem `json:"problems"`
	// Database is the store's own integrity check ("ok", "not checked"
	// on back ends without one, or what it found).
	Database string `json:"database"`
}

// OK reports whether nothing is wrong.
func (r Report) OK() bool {
	return len(r.Problems) == 0 && (r.Database == "ok" || r.Database == "not checked")
}

// IntegrityChecker is a store that can check its own file (SQLite).
type IntegrityChecker interface {
	IntegrityCheck(ctx context.Context) (string, error)
}

// Run checks every referenced blob once; progress (may be nil) is told
// how many of total references were checked.
func Run(ctx context.Context, st store.Store, b Blobs, progress func(done, total int)) (Report, error) {
	rep := Report{Database: "not checked"}
	if ic, ok := st.(IntegrityChecker); ok {
		res, err := ic.IntegrityCheck(ctx)
		if err != nil {
			return rep, err
		}
		rep.Database = res
	}
	type ref struct {
		what, key, breaks, fix string
	}
	var refs []ref
	runs, err := st.ListRuns(ctx, store.Query{})
	if err != nil {
		return rep, err
	}
	pipelineOf := map[string]string{}
	for _, r := range runs {
		pipelineOf[r.ID] = r.Tags["pipeline"]
	}
	models, err := st.ListModels(ctx)
	if err != nil {
		return rep, err
	}
	for _, m := range models {
		vs, err := st.Versions(ctx, m.Name)
		if err != nil {
			return rep, err
		}
		for _, v := range vs {
			rep.Versions++
			label := fmt.Sprintf("%s:%d", v.Model, v.Version)
			breaks := "loading " + label + " (predict, eval, selection against it)"
			var aliases []string
			for a, to := range m.Aliases {
				if to == v.Version {
					aliases = append(aliases, m.Name+"@"+a)
				}
			}
			slices.Sort(aliases)
			if len(aliases) > 0 {
				breaks += " and " + strings.Join(aliases, ", ")
			}
			by := "run " + v.RunID
			if p := pipelineOf[v.RunID]; p != "" {
				by = fmt.Sprintf("pipeline %s, run %s", p, v.RunID)
			}
			fix := fmt.Sprintf("run again what trained it (%s): reproducible steps write the same bytes back in place; or copy the blob from a backup of the bucket to %s", by, v.Artifact.Key)
			if len(aliases) > 0 {
				fix += fmt.Sprintf("; meanwhile point the alias at an intact version (reckon models promote %s:N --alias ...)", m.Name)
			}
			refs = append(refs, ref{"model " + label, v.Artifact.Key, breaks, fix})
		}
	}
	rep.Runs = len(runs)
	for _, r := range runs {
		arts, err := st.Artifacts(ctx, r.ID)
		if err != nil {
			return rep, err
		}
		for _, a := range arts {
			rep.Artifacts++
			what := fmt.Sprintf("run %s (%s) artifact %s", r.ID, r.Name, a.Name)
			var breaks, fix string
			switch {
			case a.Name == "log":
				breaks, fix = "reading the run's log", "nothing to do for the models; the log is lost unless a backup has it"
			case strings.HasPrefix(a.Name, "checkpoint/"):
				breaks, fix = "resuming or registering from this checkpoint", "resume from another checkpoint of the run, or train again"
			case r.Tags["pipeline"] != "":
				breaks = "this cached step output"
				fix = fmt.Sprintf("nothing by hand: the next reckon run of pipeline %s runs the step again and rewrites it", r.Tags["pipeline"])
			default:
				breaks, fix = "reading this artifact", "run the command that made it again, or restore it from a backup"
			}
			refs = append(refs, ref{what, a.Key, breaks, fix})
		}
	}
	seen := map[string]error{}
	for i, r := range refs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		err, ok := seen[r.key]
		if !ok {
			err = b.Check(ctx, r.key)
			seen[r.key] = err
		}
		if progress != nil {
			progress(i+1, len(refs))
		}
		if err == nil {
			continue
		}
		state := err.Error()
		switch {
		case errors.Is(err, blobs.ErrMissing):
			state = "missing"
		case errors.Is(err, blobs.ErrDamaged):
			state = "damaged"
		case ctx.Err() != nil:
			return rep, ctx.Err()
		}
		rep.Problems = append(rep.Problems, Problem{What: r.what, Key: r.key, State: state, Breaks: r.breaks, Fix: r.fix})
	}
	rep.Blobs = len(seen)
	return rep, nil
}
