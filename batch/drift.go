package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/monitor"
)

// A Profiler is a Scorer whose model carries a drift reference: a job
// then also summarises what it scores, as it scores it (no second read),
// and writes the drift of its records beside the manifest.
type Profiler interface {
	// Reference is the model's profile of its training data (nil: none).
	Reference() *monitor.Profile
	// Observe adds a scored record to a sketch of the reference (records
	// that failed are left out).
	Observe(sk *monitor.Sketch, r Record, o Outcome)
}

// Drift is a job's drift file (Files.Drift): the report of its records
// against the model's reference, the current side it was computed from and
// the reference itself, so that shards merge into the job's report
// without the model.
type Drift struct {
	Model     string           `json:"model"`
	Shard     Shard            `json:"shard"`
	Report    *monitor.Report  `json:"report"`
	Current   *monitor.Profile `json:"current"`
	Reference *monitor.Profile `json:"reference"`
}

// driftState is the sketch of a job in progress, saved every little while
// (it is too big to save with every chunk): a resume restores it and
// re-scores only the chunks committed after it.
type driftState struct {
	Key     string           `json:"key"`
	Chunks  int              `json:"chunks"`
	Current *monitor.Profile `json:"current"`
}

const driftStateName = ".reckon-drift.json"

// driftEvery is how often a job saves its sketch.
const driftEvery = 10 * time.Second

// jobDrift accumulates a job's current side: one sketch per worker, plus
// the restored part.
type jobDrift struct {
	p      Profiler
	ref    *monitor.Profile
	base   *monitor.Profile // restored from the state file; nil: none
	chunks int              // chunks base covers
	sks    []*monitor.Sketch
	saved  time.Time
}

func newJobDrift(sc Scorer, workers int) *jobDrift {
	p, ok := sc.(Profiler)
	if !ok || p.Reference() == nil {
		return nil
	}
	d := &jobDrift{p: p, ref: p.Reference(), saved: time.Now()}
	for range workers {
		d.sks = append(d.sks, monitor.NewSketch(d.ref))
	}
	return d
}

// restore reads the saved sketch of the job key in dir, if any.
func (d *jobDrift) restore(dir, key string) error {
	b, err := os.ReadFile(filepath.Join(dir, driftStateName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st driftState
	if err := json.Unmarshal(b, &st); err != nil || st.Key != key || st.Current == nil {
		return nil // unusable: the committed chunks are summarised again
	}
	d.base, d.chunks = st.Current, st.Chunks
	return nil
}

func (d *jobDrift) observe(w int, recs []Record, outs []Outcome) {
	for i, r := range recs {
		d.p.Observe(d.sks[w], r, outs[i])
	}
}

// current is everything observed so far.
func (d *jobDrift) current() (*monitor.Profile, error) {
	out := d.base
	for _, s := range d.sks {
		p := s.Profile()
		if out == nil {
			out = p
			continue
		}
		var err error
		if out, err = monitor.Merge(out, p); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// save writes the sketch of the first chunks committed chunks, at most
// every driftEvery unless forced.
func (d *jobDrift) save(dir, key string, chunks int, force bool) error {
	if !force && time.Since(d.saved) < driftEvery {
		return nil
	}
	cur, err := d.current()
	if err != nil {
		return err
	}
	b, err := json.Marshal(driftState{Key: key, Chunks: chunks, Current: cur})
	if err != nil {
		return err
	}
	d.saved = time.Now()
	return atomicfile.Write(filepath.Join(dir, driftStateName), b)
}

// write compares what was observed with the reference into the drift file.
func (d *jobDrift) write(path, model string, shard Shard) (*monitor.Report, error) {
	cur, err := d.current()
	if err != nil {
		return nil, err
	}
	rep, err := monitor.CompareProfiles(d.ref, cur, nil, monitor.Options{})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(Drift{Model: model, Shard: shard, Report: rep, Current: cur, Reference: d.ref})
	if err != nil {
		return nil, err
	}
	return rep, atomicfile.Write(path, append(b, '\n'))
}

// ReadDrift reads a drift file.
func ReadDrift(path string) (*Drift, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Drift
	if err := json.Unmarshal(b, &d); err != nil || d.Current == nil || d.Reference == nil {
		return nil, fmt.Errorf("%s: not a drift file of reckon predict: %v", path, err)
	}
	return &d, nil
}

// mergeDrift joins the shards' drift files: their current sides add up
// exactly, and the report is computed again on the sum.
func mergeDrift(paths []string, model string) (*Drift, error) {
	var out *Drift
	for _, p := range paths {
		d, err := ReadDrift(p)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = &Drift{Model: model, Current: d.Current, Reference: d.Reference}
			continue
		}
		if out.Current, err = monitor.Merge(out.Current, d.Current); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
	}
	rep, err := monitor.CompareProfiles(out.Reference, out.Current, nil, monitor.Options{})
	if err != nil {
		return nil, err
	}
	out.Report = rep
	return out, nil
}
