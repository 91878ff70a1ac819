// Package batch is offline bulk prediction: records (table rows or
// tracks) are scored by a pool of workers in chunks, written in input order
// to a predictions file and an errors file, and committed through a
// journal, so a job killed at any point continues where it stopped and
// ends with the same files an uninterrupted job writes. A record that fails
// validation or prediction becomes one row of the errors file; the others
// carry on.
package batch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/dataset"
)

// Record is one input record with its data: an encoded table row or a
// track. A record that already failed (Stage set) is not scored.
type Record struct {
	ID     string
	Stage  string // "read" or "validate" for records that failed before prediction
	Reason string
	Row    []float64      // tables: the encoded features
	Track  *dataset.Track // track sets
}

// Source yields the records of a job in input order, so a job never needs
// its whole input in memory.
type Source interface {
	// Next returns up to n more records; none at the end.
	Next(n int) ([]Record, error)
	// Estimate is the expected number of records (for progress; 0: unknown).
	Estimate() int
}

// SliceSource serves records held in memory.
func SliceSource(recs []Record) Source { return &sliceSource{recs: recs} }

type sliceSource struct {
	recs []Record
	at   int
}

func (s *sliceSource) Next(n int) ([]Record, error) {
	lo := s.at
	s.at = min(s.at+n, len(s.recs))
	return s.recs[lo:s.at], nil
}

func (s *sliceSource) Estimate() int { return len(s.recs) }

// Outcome is a scored record: prediction fields, or the failure.
type Outcome struct {
	Fields []string
	Stage  string
	Reason string
}

// Scorer predicts records.
type Scorer interface {
	// Columns names the prediction fields (between the id and the model).
	Columns() []string
	// Worker returns a scoring function for one goroutine; it receives
	// only records without a Stage and returns one outcome per record.
	Worker() (func(recs []Record) []Outcome, error)
}

// Shard selects the records whose id hashes to I modulo N.
type Shard struct {
	I int `json:"index"`
	N int `json:"count"`
}

// Has reports whether the record with this id belongs to the shard.
func (s Shard) Has(id string) bool {
	if s.N <= 1 {
		return true
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64()%uint64(s.N)) == s.I
}

func (s Shard) String() string {
	if s.N <= 1 {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// ParseShard reads "i/n" (0 <= i < n).
func ParseShard(v string) (Shard, error) {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/4", v)
	}
	return Shard{I: i, N: n}, nil
}

// Input is an input file and its content hash.
type Input struct {
	Path string `json:"path"`
	Hash string `json:"sha256"`
}

// Job is one batch prediction.
type Job struct {
	Source  Source // every input record in input order, before sharding
	Scorer  Scorer
	Model   string // name:version or the model file
	Inputs  []Input
	Shard   Shard
	Out     string
	Workers int // 0: one per core
	Chunk   int // records committed together; 0: 512
	Log     io.Writer
	// Progress hears the records done (predicted or failed) and the total.
	Progress func(done, total int)
	Now      func() time.Time
	// NoDrift skips the drift summary of a model that has a reference.
	NoDrift bool
	// Committed, when set, is called after each committed chunk (tests
	// use it to stop a job at a known point).
	Committed func(chunk int)
}

// Files names a job's outputs inside its directory.
type Files struct {
	Predictions string `json:"predictions"`
	Errors      string `json:"errors"`
	Log         string `json:"log"`
	Manifest    string `json:"manifest"`
	// Drift is the drift of the records against the model's reference
	// (a Drift), when the model has one.
	Drift string `json:"drift,omitempty"`
}

func filesFor(stamp string) Files {
	return Files{Predictions: "predictions-" + stamp + ".csv", Errors: "errors-" + stamp + ".csv",
		Log: "predict-" + stamp + ".log", Manifest: "manifest-" + stamp + ".json"}
}

// Manifest describes a finished job.
type Manifest struct {
	Model     string    `json:"model"`
	Inputs    []Input   `json:"inputs"`
	Shard     Shard     `json:"shard"`
	Stamp     string    `json:"stamp"`
	Files     Files     `json:"files"`
	Read      int       `json:"read"`
	Predicted int       `json:"predicted"`
	Failed    int       `json:"failed"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Seconds   float64   `json:"seconds"`
	Resumes   int       `json:"resumes"`
	// DatasetDrift is the drift file's verdict (absent without one).
	DatasetDrift *bool `json:"dataset_drift,omitempty"`
	// Key identifies the job (inputs, model, shard, chunking): a resume
	// must match it.
	Key string `json:"key"`
}

// journal is the committed state of a job in progress.
type journal struct {
	Key       string    `json:"key"`
	Stamp     string    `json:"stamp"`
	Chunks    int       `json:"chunks_done"`
	PredBytes int64     `json:"predictions_bytes"`
	ErrBytes  int64     `json:"errors_bytes"`
	Predicted int       `json:"predicted"`
	Failed    int       `json:"failed"`
	Started   time.Time `json:"started"`
	Seconds   float64   `json:"seconds_before"`
	Resumes   int       `json:"resumes"`
	Done      bool      `json:"done"`
}

// JournalName is the job's journal inside its output directory.
const JournalName = ".reckon-predict.json"

// ErrOtherJob refuses to mix two jobs in one directory.
var ErrOtherJob = errors.New("the output directory holds another job")

func (j *Job) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "model %s\nshard %s\nchunk %d\n", j.Model, j.Shard, j.Chunk)
	// Inputs by content, not path: the same command from another working
	// directory continues the same job.
	for _, in := range j.Inputs {
		fmt.Fprintf(h, "input %s\n", in.Hash)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Run executes the job, or continues it from its journal in Out.
func Run(ctx context.Context, j Job) (*Manifest, error) {
	if j.Chunk <= 0 {
		j.Chunk = 512
	}
	if j.Workers <= 0 {
		j.Workers = runtime.NumCPU()
	}
	if j.Now == nil {
		j.Now = time.Now
	}
	if j.Log == nil {
		j.Log = io.Discard
	}
	key := j.key()
	if err := os.MkdirAll(j.Out, 0o755); err != nil {
		return nil, err
	}
	jpath := filepath.Join(j.Out, JournalName)
	var jn journal
	fresh := true
	if b, err := os.ReadFile(jpath); err == nil {
		if err := json.Unmarshal(b, &jn); err != nil {
			return nil, fmt.Errorf("%s: unreadable journal: %w", jpath, err)
		}
		if jn.Key != key {
			return nil, fmt.Errorf("%s: %w (job %s; this one is %s: other inputs, model or shard); choose another --out", j.Out, ErrOtherJob, jn.Key, key)
		}
		fresh = false
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if fresh {
		jn = journal{Key: key, Stamp: j.Now().UTC().Format("20060102T150405Z"), Started: j.Now()}
	}
	files := filesFor(jn.Stamp)
	if jn.Done {
		b, err := os.ReadFile(filepath.Join(j.Out, files.Manifest))
		if err != nil {
			return nil, err
		}
		var m Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		fmt.Fprintf(j.Log, "%s is complete already (%d predicted, %d failed)\n", j.Out, m.Predicted, m.Failed)
		return &m, nil
	}
	logf, err := os.OpenFile(filepath.Join(j.Out, files.Log), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	log := io.MultiWriter(j.Log, logf)
	stamp := func() string { return j.Now().UTC().Format(time.RFC3339) }
	pred, err := openAt(filepath.Join(j.Out, files.Predictions), jn.PredBytes, fresh)
	if err != nil {
		return nil, err
	}
	defer pred.Close()
	errs, err := openAt(filepath.Join(j.Out, files.Errors), jn.ErrBytes, fresh)
	if err != nil {
		return nil, err
	}
	defer errs.Close()
	t0 := time.Now()
	if fresh {
		fmt.Fprintf(log, "%s start: model %s, shard %s, %d workers, chunks of %d\n", stamp(), j.Model, j.Shard, j.Workers, j.Chunk)
		for _, in := range j.Inputs {
			fmt.Fprintf(log, "%s input %s sha256 %s\n", stamp(), in.Path, in.Hash)
		}
		header := append(append([]string{"record_id"}, j.Scorer.Columns()...), "model")
		if jn.PredBytes, err = appendCSV(pred, [][]string{header}); err != nil {
			return nil, err
		}
		if jn.ErrBytes, err = appendCSV(errs, [][]string{{"record_id", "stage", "reason"}}); err != nil {
			return nil, err
		}
		if err := saveJournal(jpath, &jn); err != nil {
			return nil, err
		}
	} else {
		jn.Resumes++
		fmt.Fprintf(log, "%s resume: %d chunks committed (%d predicted, %d failed)\n", stamp(), jn.Chunks, jn.Predicted, jn.Failed)
	}

	workers := make([]func([]Record) []Outcome, j.Workers)
	for w := range workers {
		if workers[w], err = j.Scorer.Worker(); err != nil {
			return nil, err
		}
	}
	in := &shardReader{src: j.Source, shard: j.Shard, seen: map[[16]byte]int{}}
	total := j.Source.Estimate()
	if j.Shard.N > 1 {
		total /= j.Shard.N
	}
	// Committed chunks are read again and dropped: the source is
	// deterministic, so the next record is the first uncommitted one.
	// Those committed after the drift sketch was last saved are scored
	// again, for the sketch only.
	var dr *jobDrift
	if !j.NoDrift {
		dr = newJobDrift(j.Scorer, j.Workers)
	}
	skip := jn.Chunks
	if dr != nil && !fresh {
		if err := dr.restore(j.Out, key); err != nil {
			return nil, err
		}
		if dr.chunks > jn.Chunks {
			dr.base, dr.chunks = nil, 0
		}
		skip = dr.chunks
	}
	if _, err := in.take(skip * j.Chunk); err != nil {
		return nil, err
	}
	if dr != nil && skip < jn.Chunks {
		recs, err := in.take((jn.Chunks - skip) * j.Chunk)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "%s drift: summarising %d committed records again\n", stamp(), len(recs))
		dr.observe(0, recs, score(workers[0], recs))
	}
	done := jn.Predicted + jn.Failed
	if j.Progress != nil {
		j.Progress(done, max(total, done))
	}
	// Waves of chunks: every worker scores chunks in parallel, then they
	// are written and committed in input order. The next wave is read and
	// parsed meanwhile, by one goroutine (the source is sequential).
	wave := 2 * j.Workers
	type waveRecs struct {
		recs []Record
		err  error
	}
	stop := make(chan struct{})
	defer close(stop)
	waves := make(chan waveRecs, 1)
	go func() {
		defer close(waves)
		for {
			recs, err := in.take(wave * j.Chunk)
			select {
			case waves <- waveRecs{recs, err}:
			case <-stop:
				return
			}
			if err != nil || len(recs) == 0 {
				return
			}
		}
	}()
	for k0 := jn.Chunks; ; k0 += wave {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(log, "%s stopped: %v; %d chunks committed\n", stamp(), err, jn.Chunks)
			return nil, err
		}
		w, ok := <-waves
		if !ok {
			break
		}
		if w.err != nil {
			return nil, w.err
		}
		recs := w.recs
		if len(recs) == 0 {
			break
		}
		chunks := (len(recs) + j.Chunk - 1) / j.Chunk
		chunk := func(c int) []Record { return recs[c*j.Chunk : min((c+1)*j.Chunk, len(recs))] }
		outs := make([][]Outcome, chunks)
		var wg sync.WaitGroup
		for w := range j.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := w; c < chunks; c += j.Workers {
					outs[c] = score(workers[w], chunk(c))
					if dr != nil {
						dr.observe(w, chunk(c), outs[c])
					}
				}
			}()
		}
		wg.Wait()
		for c := range chunks {
			var prows, erows [][]string
			for i, r := range chunk(c) {
				o := outs[c][i]
				if o.Stage != "" {
					erows = append(erows, []string{r.ID, o.Stage, o.Reason})
					continue
				}
				prows = append(prows, append(append([]string{r.ID}, o.Fields...), j.Model))
			}
			np, err := appendCSV(pred, prows)
			if err != nil {
				return nil, err
			}
			ne, err := appendCSV(errs, erows)
			if err != nil {
				return nil, err
			}
			// The journal moves only after both files are on disk: a
			// crash in between leaves bytes past the journal's offsets,
			// which the resume cuts off.
			jn.Chunks, jn.PredBytes, jn.ErrBytes = k0+c+1, jn.PredBytes+np, jn.ErrBytes+ne
			jn.Predicted += len(prows)
			jn.Failed += len(erows)
			if err := saveJournal(jpath, &jn); err != nil {
				return nil, err
			}
			done += len(chunk(c))
			if j.Progress != nil {
				j.Progress(done, max(total, done))
			}
			if j.Committed != nil {
				j.Committed(k0 + c)
			}
		}
		if dr != nil {
			if err := dr.save(j.Out, key, jn.Chunks, false); err != nil {
				return nil, err
			}
		}
	}
	var verdict *bool
	if dr != nil {
		files.Drift = "drift-" + jn.Stamp + ".json"
		rep, err := dr.write(filepath.Join(j.Out, files.Drift), j.Model, j.Shard)
		if err != nil {
			return nil, err
		}
		verdict = &rep.DatasetDrift
		fmt.Fprintf(log, "%s drift: %d of %d columns drifted, dataset drift %v (%s)\n", stamp(), rep.Drifted, len(rep.Columns), rep.DatasetDrift, files.Drift)
	}
	m := &Manifest{Model: j.Model, Inputs: j.Inputs, Shard: j.Shard, Stamp: jn.Stamp, Files: files, Read: jn.Predicted + jn.Failed,
		Predicted: jn.Predicted, Failed: jn.Failed, Started: jn.Started, Finished: j.Now(), Seconds: jn.Seconds + time.Since(t0).Seconds(),
		Resumes: jn.Resumes, Key: key, DatasetDrift: verdict}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(j.Out, files.Manifest), append(b, '\n')); err != nil {
		return nil, err
	}
	jn.Done, jn.Seconds = true, m.Seconds
	if err := saveJournal(jpath, &jn); err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "%s done: %d read, %d predicted, %d failed in %.1f s\n", stamp(), m.Read, m.Predicted, m.Failed, m.Seconds)
	return m, nil
}

// shardReader takes the shard's records from a source and fails repeated
// ids (a record id hashes to one shard, so per-shard checking suffices).
type shardReader struct {
	src   Source
	shard Shard
	// seen holds a 128-bit hash of every id read (a false match is beyond
	// astronomically unlikely), about 40 bytes per record, not the ids.
	seen map[[16]byte]int
	n    int
	buf  []Record // shard records read but not yet taken
	eof  bool
}

// take returns the next n records of the shard (fewer only at the end).
func (r *shardReader) take(n int) ([]Record, error) {
	for len(r.buf) < n && !r.eof {
		recs, err := r.src.Next(max(n-len(r.buf), 256))
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			r.eof = true
			break
		}
		for _, rec := range recs {
			if !r.shard.Has(rec.ID) {
				continue
			}
			r.n++
			h := fnv.New128a()
			h.Write([]byte(rec.ID))
			var key [16]byte
			h.Sum(key[:0])
			if first, dup := r.seen[key]; dup {
				if rec.Stage == "" {
					rec.Stage, rec.Reason, rec.Row, rec.Track = "validate", fmt.Sprintf("duplicate record id (first as record %d)", first), nil, nil
				}
			} else {
				r.seen[key] = r.n
			}
			r.buf = append(r.buf, rec)
		}
	}
	k := min(n, len(r.buf))
	out := slices.Clone(r.buf[:k])
	r.buf = r.buf[k:]
	return out, nil
}

// score runs the worker on the chunk's valid records and puts the earlier
// failures back in place.
func score(work func([]Record) []Outcome, recs []Record) []Outcome {
	out := make([]Outcome, len(recs))
	var valid []Record
	var at []int
	for i, r := range recs {
		if r.Stage != "" {
			out[i] = Outcome{Stage: r.Stage, Reason: r.Reason}
			continue
		}
		valid = append(valid, r)
		at = append(at, i)
	}
	if len(valid) > 0 {
		res := work(valid)
		for i, o := range res {
			out[at[i]] = o
		}
	}
	return out
}

// openAt opens an output file for appending after exactly size bytes
// (cutting whatever an interrupted job wrote past its last commit).
func openAt(path string, size int64, fresh bool) (*os.File, error) {
	flag := os.O_CREATE | os.O_WRONLY
	if fresh {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return nil, err
	}
	if !fresh {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(size, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// appendCSV writes rows and syncs; it returns the bytes written.
func appendCSV(f *os.File, rows [][]string) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return 0, err
	}
	if _, err := f.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return int64(b.Len()), f.Sync()
}

func saveJournal(path string, jn *journal) error {
	b, err := json.Marshal(jn)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

// Score predicts every record with workers goroutines, chunk records at a
// time, without writing anything: the scoring core of Run, for benchmarks.
func Score(recs []Record, sc Scorer, workers, chunk int) ([]Outcome, error) {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	if chunk <= 0 {
		chunk = 512
	}
	fns := make([]func([]Record) []Outcome, workers)
	for w := range fns {
		var err error
		if fns[w], err = sc.Worker(); err != nil {
			return nil, err
		}
	}
	out := make([]Outcome, len(recs))
	n := (len(recs) + chunk - 1) / chunk
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < n; k += workers {
				lo, hi := k*chunk, min((k+1)*chunk, len(recs))
				copy(out[lo:hi], score(fns[w], recs[lo:hi]))
			}
		}()
	}
	wg.Wait()
	return out, nil
}
