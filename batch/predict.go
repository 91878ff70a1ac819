package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"

	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/monitor"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
)

// Request is a batch prediction as every front end asks for one: a model,
// the inputs as the user named them, and where the files go.
type Request struct {
	Model model.Model
	Label string // the model's name in the output: NAME:VERSION or the file
	// Inputs: CSV files or directories of them (tables); track sets or
	// directories of track sets (tracks).
	Inputs []string
	// IDColumn names a table's record id column ("": id when present,
	// else FILE:LINE).
	IDColumn string
	Shard    Shard
	// Out is the job's directory; a shard writes into ShardDir(Out, Shard).
	Out     string
	Workers int // 0: one per core
	Chunk   int // 0: DefaultChunk(Model)
	Log     io.Writer
	// Progress hears the records done and this shard's estimated total.
	Progress func(done, total int)
	// NoDrift skips the drift summary (Job.NoDrift).
	NoDrift bool
	// Reference is the drift reference of a track model (its artifact's
	// Header.Drift, ArtifactReference); tabular models carry their own.
	Reference *monitor.Profile
}

// ArtifactReference is the drift reference an artifact stores (nil for
// none, or for a format 1 file).
func ArtifactReference(a *model.Artifact) (*monitor.Profile, error) {
	if a == nil || len(a.Header.Drift) == 0 {
		return nil, nil
	}
	var p monitor.Profile
	if err := json.Unmarshal(a.Header.Drift, &p); err != nil {
		return nil, fmt.Errorf("the model's drift reference: %w", err)
	}
	return &p, nil
}

// DefaultChunk is the chunk size for a model's records: tracks are costly,
// so smaller chunks keep every worker busy.
func DefaultChunk(m model.Model) int {
	if _, ok := m.(*tabular.Model); ok {
		return 512
	}
	return 16
}

// ForModel opens the inputs in the form m scores: CSV tables for tabular
// models, track sets for reentry models.
func ForModel(m model.Model, label string, inputs []string, idColumn string) (Source, Scorer, []Input, error) {
	switch p := m.(type) {
	case *tabular.Model:
		files, err := TableFiles(inputs)
		if err != nil {
			return nil, nil, nil, err
		}
		return TableInput(files, idColumn, p)
	case trackmodel.Predictor:
		sets, err := TrackSets(inputs)
		if err != nil {
			return nil, nil, nil, err
		}
		return TrackInput(sets, p)
	}
	return nil, nil, nil, fmt.Errorf("%s: a %s model cannot predict records", label, m.Kind())
}

// Predict runs a Request: the inputs opened for its model, scored into the
// shard's directory. It returns the manifest and that directory.
func Predict(ctx context.Context, r Request) (*Manifest, string, error) {
	src, sc, ins, err := ForModel(r.Model, r.Label, r.Inputs, r.IDColumn)
	if err != nil {
		return nil, "", err
	}
	if ts, ok := sc.(*trackScorer); ok {
		ts.ref = r.Reference
	}
	chunk := r.Chunk
	if chunk == 0 {
		chunk = DefaultChunk(r.Model)
	}
	dir := ShardDir(r.Out, r.Shard)
	total := src.Estimate()
	if r.Shard.N > 1 {
		total /= r.Shard.N
	}
	var prog func(done, total int)
	if r.Progress != nil {
		prog = func(done, _ int) { r.Progress(done, total) }
	}
	man, err := Run(ctx, Job{Source: src, Scorer: sc, Model: r.Label, Inputs: ins, Shard: r.Shard, Out: dir,
		Workers: r.Workers, Chunk: chunk, Log: r.Log, Progress: prog, NoDrift: r.NoDrift})
	return man, dir, err
}

// TableFiles expands inputs to CSV files (a directory: its *.csv, sorted).
func TableFiles(inputs []string) ([]string, error) {
	var out []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		paths := []string{in}
		if st.IsDir() {
			if paths, err = filepath.Glob(filepath.Join(in, "*.csv")); err != nil {
				return nil, err
			}
			slices.Sort(paths)
			if len(paths) == 0 {
				return nil, fmt.Errorf("%s: no .csv files", in)
			}
		}
		out = append(out, paths...)
	}
	return out, nil
}

// TrackSets expands inputs to track sets: a set itself, or a directory of
// sets (sorted).
func TrackSets(inputs []string) ([]string, error) {
	var out []string
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, in)
			continue
		}
		if _, err := os.Stat(filepath.Join(in, "tracks.csv")); err == nil {
			out = append(out, in)
			continue
		}
		subs, _ := filepath.Glob(filepath.Join(in, "*", "tracks.csv"))
		if len(subs) == 0 {
			return nil, fmt.Errorf("%s: no tracks.csv in it or in its subdirectories", in)
		}
		slices.Sort(subs)
		for _, s := range subs {
			out = append(out, filepath.Dir(s))
		}
	}
	return out, nil
}

// ChooseShard picks the shard from --shard i/n (flag) or --shards n with
// the index from JOB_COMPLETION_INDEX (as Kubernetes Indexed Jobs set it;
// lookup is os.LookupEnv outside tests). Neither: the whole job.
func ChooseShard(flag string, shards int, lookup func(string) (string, bool)) (Shard, error) {
	idx, hasIdx := lookup("JOB_COMPLETION_INDEX")
	switch {
	case flag != "" && shards != 0:
		return Shard{}, errors.New("give --shard i/n or --shards n (with $JOB_COMPLETION_INDEX), not both")
	case flag != "":
		return ParseShard(flag)
	case shards != 0:
		if !hasIdx {
			return Shard{}, errors.New("--shards n needs $JOB_COMPLETION_INDEX (set by Kubernetes Indexed Jobs); outside one, use --shard i/n")
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= shards {
			return Shard{}, fmt.Errorf("JOB_COMPLETION_INDEX=%q: want 0..%d for --shards %d", idx, shards-1, shards)
		}
		return Shard{I: i, N: shards}, nil
	}
	return Shard{}, nil
}

// Resumable reports whether running the same job again may get past err
// once its cause is gone (a full disk, an I/O error, an interruption): the
// committed chunks are kept and the job continues from them. A permission,
// a path that is not a directory, a read-only file system or bad input
// fail the same way again, so no re-run is suggested for them.
func Resumable(err error) bool {
	for _, e := range []error{context.Canceled, context.DeadlineExceeded, syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// OnlyShards is the lookup of a retry that re-runs only some shards of an
// Indexed Job's prediction (--shards n --indexes 1,3): completion index k
// of the retry's Job is shard only[k] of the n. With no list it is lookup.
func OnlyShards(only []int, lookup func(string) (string, bool)) func(string) (string, bool) {
	if len(only) == 0 {
		return lookup
	}
	return func(key string) (string, bool) {
		v, ok := lookup(key)
		if key != "JOB_COMPLETION_INDEX" || !ok {
			return v, ok
		}
		k, err := strconv.Atoi(v)
		if err != nil || k < 0 || k >= len(only) {
			return fmt.Sprintf("%s (of a retry of %d shards)", v, len(only)), true
		}
		return strconv.Itoa(only[k]), true
	}
}
