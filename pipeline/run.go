package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/store"
)

// Env is what a pipeline runs against.
type Env struct {
	Store store.Store
	Blobs *blobs.Bucket
	// Code identifies the code that runs the steps; it enters every cache
	// key, so a new build never reuses an older build's outputs. The CLI
	// derives it from the executable's bytes, never from a hand-bumped
	// version.
	Code    string
	User    string
	DataDir string // where generated data is written
	// AllowData are directories besides the pipeline file's own that its
	// data paths may point into (see Spec.Resolve).
	AllowData []string
	NoCache   bool
	// Heartbeat is how often running runs say they are alive (default 5s).
	Heartbeat time.Duration
	// Log hears one line per step and decision.
	Log io.Writer
	// Progress reports long loops (epochs, folds); nil for none.
	Progress func(label string, total int) (set func(done int, note string), finish func())
	// Only, when set, names the one candidate to train: the run stops
	// after its training step, without selection or registration (a
	// fanned-out child job of a pipeline).
	Only string
	// FanOut, when set, is given the candidates whose training is not
	// cached before any trains, and trains them elsewhere (the scheduler's
	// child jobs, each a run with Only), returning when all have: the
	// pipeline then finds every candidate in the cache under the same keys
	// and selects as it would have in-process.
	FanOut func(ctx context.Context, candidates []string) error
}

// StepResult says what happened to one step.
type StepResult struct {
	Name    string  `json:"name"`
	Key     string  `json:"key"`
	Cached  bool    `json:"cached"`
	RunID   string  `json:"run_id"`
	Seconds float64 `json:"seconds"`
	Note    string  `json:"note,omitempty"`
}

// Candidate is one model of the run, as selection saw it.
type Candidate struct {
	Name     string             `json:"name"`
	Kind     string             `json:"kind"`
	Metrics  map[string]float64 `json:"metrics"`
	SHA256   string             `json:"artifact_sha256"`
	RunID    string             `json:"run_id"`
	Champion bool               `json:"is_current_champion,omitempty"`
}

// Result is a finished pipeline run.
type Result struct {
	Pipeline   string         `json:"pipeline"`
	RunID      string         `json:"run_id"`
	Data       store.Dataset  `json:"data"`
	Steps      []StepResult   `json:"steps"`
	Candidates []Candidate    `json:"candidates"`
	Champion   *store.Version `json:"previous_champion,omitempty"`
	Ranking    []string       `json:"ranking"`
	Winner     string         `json:"winner"`
	Reason     string         `json:"reason"`
	Registered store.Version  `json:"registered"`
	// Action: "registered", "already registered" (an earlier run
	// registered the same bytes).
	Action     string `json:"action"`
	AliasMoved bool   `json:"alias_moved"`
	Alias      string `json:"alias"`
}

// exec is one pipeline run in progress.
type exec struct {
	env  Env
	spec *Spec
	run  store.Run
	res  *Result
	beat *beater
}

// Run executes the pipeline as a run in the store with one child run per
// executed step. Cancelling ctx stops it; the runs of the interrupted
// steps are finished as interrupted and every completed step stays cached.
func Run(ctx context.Context, env Env, spec *Spec) (*Result, error) {
	if env.Heartbeat <= 0 {
		env.Heartbeat = 5 * time.Second
	}
	if env.Log == nil {
		env.Log = io.Discard
	}
	if env.Only != "" && !slices.ContainsFunc(spec.Models, func(m Model) bool { return m.Name == env.Only }) {
		var names []string
		for _, m := range spec.Models {
			names = append(names, m.Name)
		}
		return nil, fmt.Errorf("%s: no candidate %q (models: %s)", spec.file, env.Only, strings.Join(names, ", "))
	}
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	pr, err := env.Store.CreateRun(ctx, store.Run{Name: "pipeline/" + spec.Name, Team: spec.Team, User: env.User, CodeVersion: env.Code,
		Params: map[string]string{"file": spec.file, "spec": string(specJSON), "no_cache": fmt.Sprint(env.NoCache)},
		Tags:   map[string]string{"kind": "pipeline"}})
	if err != nil {
		return nil, err
	}
	x := &exec{env: env, spec: spec, run: pr, res: &Result{Pipeline: spec.Name, RunID: pr.ID, Alias: spec.Register.Alias}}
	x.beat = startBeater(env.Store, env.Heartbeat, pr.ID)
	fmt.Fprintf(env.Log, "pipeline %s: run %s (code %s)\n", spec.Name, pr.ID, env.Code)
	if spec.Tabular() {
		err = x.tabular(ctx)
	} else {
		err = x.tracks(ctx)
	}
	x.beat.stop()
	// The run's end is recorded even when ctx was cancelled.
	end := context.WithoutCancel(ctx)
	if err != nil {
		st := store.Failed
		if ctx.Err() != nil {
			st = store.Interrupted
		}
		tagErr := x.env.Store.SetTags(end, pr.ID, map[string]string{"error": errorTag(err)})
		return x.res, errors.Join(err, tagErr, env.Store.Finish(end, pr.ID, st))
	}
	if env.Only != "" {
		return x.res, env.Store.Finish(end, pr.ID, store.Succeeded)
	}
	tags := map[string]string{"winner": x.res.Winner, "reason": x.res.Reason,
		"registered": registry.Label(x.res.Registered), "action": x.res.Action}
	if err := env.Store.SetTags(end, pr.ID, tags); err != nil {
		return x.res, err
	}
	return x.res, env.Store.Finish(end, pr.ID, store.Succeeded)
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// cacheKey is the sha256 of the step's name, configuration, inputs and
// the code version.
func cacheKey(step string, cfg any, inputs map[string]string, code string) (string, error) {
	b, err := json.Marshal(struct {
		Step   string            `json:"step"`
		Config any               `json:"config"`
		Inputs map[string]string `json:"inputs"`
		Code   string            `json:"code"`
	}{step, cfg, inputs, code})
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// stepRun is an executing step: its run and a way to store artifacts.
type stepRun struct {
	x   *exec
	run store.Run
	log *bytes.Buffer // the step's own log, kept as its "log" artifact
}

// put stores data in the blob store and records it as the step's
// artifact name.
func (s *stepRun) put(ctx context.Context, name string, data []byte) (blobs.Ref, error) {
	ref, err := s.x.env.Blobs.Put(ctx, data)
	if err != nil {
		return ref, err
	}
	return ref, s.x.env.Store.LogArtifact(ctx, s.run.ID, store.Artifact{Name: name, Key: ref.Key, SHA256: ref.SHA256, Size: ref.Size})
}

// putArtifact stores a model or checkpoint artifact of the step.
func (s *stepRun) putArtifact(ctx context.Context, name string, a *model.Artifact) (blobs.Ref, error) {
	b, err := model.Encode(a)
	if err != nil {
		return blobs.Ref{}, err
	}
	return s.put(ctx, name, b)
}

// step runs fn as a child run unless the cache holds the output of the
// same step, configuration, inputs and code; out receives the output
// either way.
func (x *exec) step(ctx context.Context, name string, cfg any, inputs map[string]string, out any, fn func(ctx context.Context, s *stepRun) error) (StepResult, error) {
	t0 := time.Now()
	key, err := cacheKey(name, cfg, inputs, x.env.Code)
	if err != nil {
		return StepResult{}, err
	}
	sr := StepResult{Name: name, Key: key}
	if !x.env.NoCache {
		e, err := x.env.Store.GetCache(ctx, key)
		switch {
		case err == nil:
			bad, err := x.brokenOutputs(ctx, e.RunID)
			if err != nil {
				return sr, fmt.Errorf("step %s: %w", name, err)
			}
			if bad != "" {
				fmt.Fprintf(x.env.Log, "  %-22s cached output of run %s is unusable (%s): running the step again rewrites it\n", name, e.RunID, bad)
				break
			}
			if err := json.Unmarshal([]byte(e.Output), out); err != nil {
				return sr, fmt.Errorf("step %s: cached output of run %s: %w", name, e.RunID, err)
			}
			sr.Cached, sr.RunID = true, e.RunID
			fmt.Fprintf(x.env.Log, "  %-22s cached: reused the output of run %s (key %s)\n", name, e.RunID, key[:12])
			x.res.Steps = append(x.res.Steps, sr)
			return sr, nil
		case !errors.Is(err, store.ErrNotFound):
			return sr, err
		}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return sr, err
	}
	r, err := x.env.Store.CreateRun(ctx, store.Run{Name: x.spec.Name + "/" + name, Team: x.spec.Team, User: x.env.User, CodeVersion: x.env.Code,
		Parent: x.run.ID, Inputs: inputs, Params: map[string]string{"config": string(cfgJSON)},
		Tags: map[string]string{"step": name, "cache_key": key, "pipeline": x.spec.Name}})
	if err != nil {
		return sr, err
	}
	sr.RunID = r.ID
	x.beat.add(r.ID)
	defer x.beat.remove(r.ID)
	// The step's log (what it said and its progress notes) is kept as
	// its "log" artifact, whatever the outcome.
	srun := &stepRun{x: x, run: r, log: &bytes.Buffer{}}
	parent := x.env.Log
	x.env.Log = io.MultiWriter(parent, srun.log)
	err = fn(ctx, srun)
	x.env.Log = parent
	end := context.WithoutCancel(ctx)
	if err != nil {
		fmt.Fprintf(srun.log, "error: %v\n", err)
	}
	var logErr error
	if srun.log.Len() > 0 {
		if _, logErr = srun.put(end, "log", srun.log.Bytes()); logErr != nil {
			logErr = fmt.Errorf("step %s: storing its log: %w", name, logErr)
		}
	}
	if err != nil {
		st := store.Failed
		if ctx.Err() != nil {
			st = store.Interrupted
		}
		tagErr := x.env.Store.SetTags(end, r.ID, map[string]string{"error": errorTag(err)})
		return sr, errors.Join(fmt.Errorf("step %s: %w", name, err), logErr, tagErr, x.env.Store.Finish(end, r.ID, st))
	}
	if logErr != nil {
		// The step's work is done and its outputs are stored; only its
		// log is missing, which is worth a warning, not a failed step.
		fmt.Fprintf(x.env.Log, "  warning: %v\n", logErr)
	}
	outJSON, err := json.Marshal(out)
	if err != nil {
		return sr, err
	}
	if err := x.env.Store.Finish(end, r.ID, store.Succeeded); err != nil {
		return sr, err
	}
	if err := x.env.Store.PutCache(end, store.CacheEntry{Key: key, Step: name, RunID: r.ID, Output: string(outJSON)}); err != nil {
		return sr, err
	}
	sr.Seconds = time.Since(t0).Seconds()
	fmt.Fprintf(x.env.Log, "  %-22s ran in %.1f s (run %s)\n", name, sr.Seconds, r.ID)
	x.res.Steps = append(x.res.Steps, sr)
	return sr, nil
}

// candidate is one training step before it runs, for fanOut.
type candidate struct {
	name   string
	cfg    any
	inputs map[string]string
}

// fanOut hands the candidates whose training is not cached to env.FanOut
// and waits for them; with Only, or without FanOut, it does nothing.
func (x *exec) fanOut(ctx context.Context, cands []candidate) error {
	if x.env.FanOut == nil || x.env.Only != "" || x.env.NoCache {
		return nil
	}
	var todo []string
	for _, c := range cands {
		key, err := cacheKey("train/"+c.name, c.cfg, c.inputs, x.env.Code)
		if err != nil {
			return err
		}
		if _, err := x.env.Store.GetCache(ctx, key); errors.Is(err, store.ErrNotFound) {
			todo = append(todo, c.name)
		} else if err != nil {
			return err
		}
	}
	if len(todo) == 0 {
		return nil
	}
	fmt.Fprintf(x.env.Log, "  %-22s training %s as parallel jobs\n", "fan-out", strings.Join(todo, ", "))
	if err := x.env.FanOut(ctx, todo); err != nil {
		return fmt.Errorf("fan-out: %w", err)
	}
	return nil
}

// skip: with Only, every other candidate is left out.
func (x *exec) skip(name string) bool { return x.env.Only != "" && name != x.env.Only }

// errorTag is an error as a run's tag: at most 4 KiB of it, whatever it
// quotes.
func errorTag(err error) string { return dataset.CutAt(err.Error(), 4<<10) }

// brokenOutputs checks the blobs a cached step's run stored (its outputs:
// models, schemas, folds; not its log or checkpoints, which no later step
// reads) and names the first that is missing or damaged, "" when all are
// intact. A cache hit on a broken blob would fail every later run until
// someone deleted the file by hand; as a miss, the step runs again and its
// identical bytes repair the blob.
func (x *exec) brokenOutputs(ctx context.Context, runID string) (string, error) {
	arts, err := x.env.Store.Artifacts(ctx, runID)
	if err != nil {
		return "", err
	}
	for _, a := range arts {
		if a.Name == "log" || strings.HasPrefix(a.Name, "checkpoint/") {
			continue
		}
		err := x.env.Blobs.Check(ctx, a.Key)
		switch {
		case errors.Is(err, blobs.ErrMissing):
			return fmt.Sprintf("its %s blob %s is missing", a.Name, a.Key), nil
		case errors.Is(err, blobs.ErrDamaged):
			return fmt.Sprintf("its %s blob %s is damaged", a.Name, a.Key), nil
		case err != nil:
			return "", err
		}
	}
	return "", nil
}

// beater keeps the heartbeats of the pipeline run and its running step.
type beater struct {
	mu   sync.Mutex
	ids  map[string]bool
	done chan struct{}
	wg   sync.WaitGroup
}

func startBeater(s store.Runs, every time.Duration, ids ...string) *beater {
	b := &beater{ids: map[string]bool{}, done: make(chan struct{})}
	for _, id := range ids {
		b.ids[id] = true
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-b.done:
				return
			case <-t.C:
				b.mu.Lock()
				ids := slices.Sorted(maps.Keys(b.ids))
				b.mu.Unlock()
				for _, id := range ids {
					// A missed beat only risks a late "interrupted"; the
					// next tick tries again.
					s.Heartbeat(context.Background(), id)
				}
			}
		}
	}()
	return b
}

func (b *beater) add(id string) {
	b.mu.Lock()
	b.ids[id] = true
	b.mu.Unlock()
}

func (b *beater) remove(id string) {
	b.mu.Lock()
	delete(b.ids, id)
	b.mu.Unlock()
}

func (b *beater) stop() {
	close(b.done)
	b.wg.Wait()
}
