package batch

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/dataset"
)

// ShardDir is where shard i of n writes inside the job's --out directory,
// so shards sharing one volume never touch each other's files.
func ShardDir(out string, s Shard) string {
	if s.N <= 1 {
		return out
	}
	return filepath.Join(out, fmt.Sprintf("shard-%04d-of-%04d", s.I, s.N))
}

// ShardState is one shard's situation.
type ShardState struct {
	Shard     Shard  `json:"shard"`
	Dir       string `json:"dir"`
	State     string `json:"state"` // complete, interrupted, missing
	Chunks    int    `json:"chunks_done,omitempty"`
	Predicted int    `json:"predicted"`
	Failed    int    `json:"failed_records"`
	Manifest  string `json:"manifest,omitempty"`
}

// Status reports every shard of the job in out (or the one unsharded job).
func Status(out string) ([]ShardState, error) {
	dirs, n, err := shardDirs(out)
	if err != nil {
		return nil, err
	}
	var states []ShardState
	if n == 0 {
		st, err := stateOf(out, Shard{})
		if err != nil {
			return nil, err
		}
		return []ShardState{st}, nil
	}
	for i := range n {
		s := Shard{I: i, N: n}
		if _, ok := dirs[i]; !ok {
			states = append(states, ShardState{Shard: s, Dir: ShardDir(out, s), State: "missing"})
			continue
		}
		st, err := stateOf(ShardDir(out, s), s)
		if err != nil {
			return nil, err
		}
		states = append(states, st)
	}
	return states, nil
}

// shardDirs finds shard-I-of-N directories; n is 0 when there are none.
func shardDirs(out string) (map[int]bool, int, error) {
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, 0, err
	}
	found, n := map[int]bool{}, 0
	for _, e := range ents {
		var i, m int
		if _, err := fmt.Sscanf(e.Name(), "shard-%d-of-%d", &i, &m); err != nil || !e.IsDir() {
			continue
		}
		if n != 0 && m != n {
			return nil, 0, fmt.Errorf("%s holds shards of %d and of %d", out, n, m)
		}
		n, found[i] = m, true
	}
	return found, n, nil
}

func stateOf(dir string, s Shard) (ShardState, error) {
	st := ShardState{Shard: s, Dir: dir, State: "missing"}
	b, err := os.ReadFile(filepath.Join(dir, JournalName))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	var jn journal
	if err := json.Unmarshal(b, &jn); err != nil {
		return st, fmt.Errorf("%s: unreadable journal: %w", dir, err)
	}
	st.Chunks, st.Predicted, st.Failed = jn.Chunks, jn.Predicted, jn.Failed
	if jn.Done {
		st.State, st.Manifest = "complete", filepath.Join(dir, filesFor(jn.Stamp).Manifest)
	} else {
		st.State = "interrupted"
	}
	return st, nil
}

// MergeResult is the merged job.
type MergeResult struct {
	Shards      int      `json:"shards"`
	Model       string   `json:"model"`
	Inputs      []Input  `json:"inputs"`
	Read        int      `json:"read"`
	Predicted   int      `json:"predicted"`
	Failed      int      `json:"failed"`
	Predictions string   `json:"predictions"`
	Errors      string   `json:"errors"`
	Sources     []string `json:"sources"`
	// Drift is the merged drift file, when every shard wrote one.
	Drift        string `json:"drift,omitempty"`
	DatasetDrift *bool  `json:"dataset_drift,omitempty"`
}

// Merge joins the shards of one job into into. The shards are gathered
// from all of dirs: each may be a job's --out holding every shard (one
// shared volume) or only some (pods with volumes of their own, each run
// with --out PODi --shard i/n). Every shard must be complete, found once,
// made by the same model on the same inputs, and every record present
// exactly once.
func Merge(dirs []string, into string) (*MergeResult, error) {
	var mans []*Manifest
	var mdirs []string
	var bad []string
	found := map[Shard]string{}
	n := -1
	for _, d := range dirs {
		states, err := Status(d)
		if err != nil {
			return nil, err
		}
		for _, st := range states {
			if st.State == "missing" {
				continue // perhaps in another of dirs
			}
			if n >= 0 && st.Shard.N != n {
				return nil, fmt.Errorf("%s: shard %s, but %s holds shards of %d", st.Dir, st.Shard, found[Shard{I: 0, N: n}], n)
			}
			n = st.Shard.N
			if prev, dup := found[st.Shard]; dup {
				return nil, fmt.Errorf("shard %s is in %s and in %s", st.Shard, prev, st.Dir)
			}
			found[st.Shard] = st.Dir
			if st.State != "complete" {
				bad = append(bad, fmt.Sprintf("%s in %s (%s)", st.Shard, st.Dir, st.State))
				continue
			}
			b, err := os.ReadFile(st.Manifest)
			if err != nil {
				return nil, err
			}
			var m Manifest
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("%s: %w", st.Manifest, err)
			}
			mans = append(mans, &m)
			mdirs = append(mdirs, st.Dir)
		}
	}
	if n < 0 {
		return nil, fmt.Errorf("no prediction job in %s", strings.Join(dirs, ", "))
	}
	for i := range max(n, 1) {
		if s := (Shard{I: i, N: n}); n > 1 {
			if _, ok := found[s]; !ok {
				bad = append(bad, fmt.Sprintf("%s (missing from %s)", s, strings.Join(dirs, ", ")))
			}
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return nil, fmt.Errorf("shards not complete: %s; run those again (reckon predict status DIR)", strings.Join(bad, ", "))
	}
	if len(mans) == 0 {
		return nil, errors.New("nothing to merge")
	}
	res := &MergeResult{Model: mans[0].Model, Inputs: mans[0].Inputs, Shards: len(mans)}
	seenShard := map[Shard]bool{}
	for i, m := range mans {
		if m.Model != res.Model || !sameContent(m.Inputs, res.Inputs) {
			return nil, fmt.Errorf("%s: made by %s on other inputs than %s's (%s); shards of different jobs cannot be merged", mdirs[i], m.Model, mdirs[0], res.Model)
		}
		if seenShard[m.Shard] {
			return nil, fmt.Errorf("%s: shard %s appears twice", mdirs[i], m.Shard)
		}
		seenShard[m.Shard] = true
		if m.Shard.N != mans[0].Shard.N {
			return nil, fmt.Errorf("%s: shard %s, others are of %d", mdirs[i], m.Shard, mans[0].Shard.N)
		}
	}
	if n := mans[0].Shard.N; n > 1 && len(mans) != n {
		return nil, fmt.Errorf("%d of %d shards given", len(mans), n)
	}
	var header []string
	var preds, errs [][]string
	where := map[string]string{}
	for i, m := range mans {
		p, err := readCSV(filepath.Join(mdirs[i], m.Files.Predictions))
		if err != nil {
			return nil, err
		}
		e, err := readCSV(filepath.Join(mdirs[i], m.Files.Errors))
		if err != nil {
			return nil, err
		}
		if header == nil {
			header = p[0]
		} else if !slices.Equal(header, p[0]) {
			return nil, fmt.Errorf("%s: predictions columns differ", mdirs[i])
		}
		for _, rows := range [][][]string{p[1:], e[1:]} {
			for _, r := range rows {
				if prev, dup := where[r[0]]; dup {
					return nil, fmt.Errorf("record %q is in %s and in %s", r[0], prev, mdirs[i])
				}
				where[r[0]] = mdirs[i]
			}
		}
		preds, errs = append(preds, p[1:]...), append(errs, e[1:]...)
		res.Read += m.Read
		res.Predicted += m.Predicted
		res.Failed += m.Failed
		res.Sources = append(res.Sources, mdirs[i])
	}
	if len(preds)+len(errs) != res.Read {
		return nil, fmt.Errorf("%d records in the files, %d read by the shards", len(preds)+len(errs), res.Read)
	}
	byID := func(rows [][]string) {
		sort.SliceStable(rows, func(a, b int) bool { return dataset.CompareTrackIDs(rows[a][0], rows[b][0]) < 0 })
	}
	byID(preds)
	byID(errs)
	if err := os.MkdirAll(into, 0o755); err != nil {
		return nil, err
	}
	res.Predictions, res.Errors = filepath.Join(into, "predictions-merged.csv"), filepath.Join(into, "errors-merged.csv")
	if err := writeCSV(res.Predictions, append([][]string{header}, preds...)); err != nil {
		return nil, err
	}
	if err := writeCSV(res.Errors, append([][]string{{"record_id", "stage", "reason"}}, errs...)); err != nil {
		return nil, err
	}
	var drifts []string
	for i, m := range mans {
		if m.Files.Drift != "" {
			drifts = append(drifts, filepath.Join(mdirs[i], m.Files.Drift))
		}
	}
	if len(drifts) == len(mans) {
		d, err := mergeDrift(drifts, res.Model)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		res.Drift, res.DatasetDrift = filepath.Join(into, "drift-merged.json"), &d.Report.DatasetDrift
		if err := atomicfile.Write(res.Drift, append(b, '\n')); err != nil {
			return nil, err
		}
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	return res, atomicfile.Write(filepath.Join(into, "manifest-merged.json"), append(b, '\n'))
}

func readCSV(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return rows, nil
}

func writeCSV(path string, rows [][]string) error {
	var b strings.Builder
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	return atomicfile.Write(path, []byte(b.String()))
}

// sameContent compares inputs by hash: shards may read copies at other
// paths.
func sameContent(a, b []Input) bool {
	return slices.EqualFunc(a, b, func(x, y Input) bool { return x.Hash == y.Hash })
}
