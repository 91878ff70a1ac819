// Package pipeline runs a declared workload — data source, split,
// features, candidate models, a selection policy, registration — as runs
// in the tracking store, caching every step's output under a key derived
// from the step's configuration, its inputs' hashes and the code version,
// so an unchanged re-run reuses every step and an interrupted one resumes.
package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/yamlfile"
	"go.yaml.in/yaml/v3"
)

// Spec is a pipeline file.
type Spec struct {
	Name     string   `yaml:"name"`
	Team     string   `yaml:"team"`
	Data     Data     `yaml:"data"`
	Split    Split    `yaml:"split"`
	Features Features `yaml:"features"`
	Models   []Model  `yaml:"models"`
	Select   Select   `yaml:"select"`
	Register Register `yaml:"register"`
	// CheckpointEvery is how often long training steps store a checkpoint
	// as a run artifact (default 30s; 0s: every epoch).
	CheckpointEvery *time.Duration `yaml:"checkpoint_every"`

	file  string     // for messages
	dir   string     // relative paths are relative to the file
	lines *yaml.Node // for line numbers of semantic errors
}

// Data is the source: a CSV table (tabular workloads) or a track set,
// read from a directory or generated.
type Data struct {
	Name     string `yaml:"name"`
	Table    string `yaml:"table"`
	Target   string `yaml:"target"`
	Positive string `yaml:"positive"`
	// Task is classification or regression; empty: the target's
	// (tabular.DetectTask).
	Task     string    `yaml:"task"`
	Tracks   string    `yaml:"tracks"`
	Generate *Generate `yaml:"generate"`
}

// Generate asks for reentry tracks from the physics generator.
type Generate struct {
	Count int    `yaml:"count"`
	Seed  uint64 `yaml:"seed"`
	// Variant B cuts each track before reentry, at Replicates drawn
	// horizons per flight or at the fixed Horizons (s).
	Variant    string    `yaml:"variant"`
	Replicates int       `yaml:"replicates"`
	Horizons   []float64 `yaml:"horizons"`
}

// Split: folds (a fold file, or cv KxR) for tables; a held-out share of
// flights for tracks.
type Split struct {
	Folds    string  `yaml:"folds"`
	CV       string  `yaml:"cv"`
	Seed     uint64  `yaml:"seed"`
	TestFrac float64 `yaml:"test_frac"`
}

// Features: for tables, columns left out of the model; for tracks, the
// number of last steps the sequence models see.
type Features struct {
	Exclude []string `yaml:"exclude"`
	Window  int      `yaml:"window"`
}

// Model is one candidate: a kind and hyperparameters over its defaults.
type Model struct {
	Name   string         `yaml:"name"`
	Kind   string         `yaml:"kind"`
	Params map[string]any `yaml:"params"`
}

// Select is the policy that picks among the candidates and the champion.
type Select struct {
	Policy     string `yaml:"policy"`
	Metric     string `yaml:"metric"`
	Constraint string `yaml:"constraint"`
	Maximize   string `yaml:"maximize"`
}

// Register names the registry model and the alias the winner takes.
type Register struct {
	Model string `yaml:"model"`
	Alias string `yaml:"alias"`
}

// Load reads and checks a pipeline file.
func Load(path string) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s, err := Decode(path, f)
	if err != nil {
		return nil, err
	}
	s.dir = filepath.Dir(path)
	return s, nil
}

// Decode reads a pipeline strictly: unknown keys, wrong types and missing
// or contradictory settings are errors naming the file and line.
func Decode(name string, r io.Reader) (*Spec, error) {
	s := &Spec{file: name, dir: "."}
	root, err := yamlfile.Decode(name, "pipeline", r, s)
	if err != nil {
		return nil, err
	}
	s.lines = root
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// line finds the line of a key path such as "models", 2, "kind" (0 when
// absent).
func (s *Spec) line(path ...any) int { return yamlfile.Line(s.lines, path...) }

func (s *Spec) errorf(path []any, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", s.file, s.line(path...), fmt.Sprintf(format, args...))
}

// Tabular reports whether the pipeline works on a table (else on tracks).
func (s *Spec) Tabular() bool { return s.Data.Table != "" }

// File is the path the spec was read from.
func (s *Spec) File() string { return s.file }

// path resolves a path relative to the pipeline file.
func (s *Spec) path(p string) string {
	if p == "" || filepath.IsAbs(p) || strings.HasPrefix(p, "embedded:") {
		return p
	}
	return filepath.Join(s.dir, p)
}

// Resolve resolves a data path of the pipeline (field names it in
// errors, e.g. "data.table") and confines it: after following every
// symlink it must lie under the pipeline file's directory or one of
// allow. A pipeline is a file anyone may hand over; it must not be able to
// make reckon read (and quote, and store) /etc/shadow or ~/.ssh.
func (s *Spec) Resolve(field, p string, allow []string) (string, error) {
	if p == "" || strings.HasPrefix(p, "embedded:") {
		return p, nil
	}
	path := s.path(p)
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", s.errorf(fieldPath(field), "%s: %s: %v", field, p, unwrapPath(err))
	}
	real, err = filepath.Abs(real)
	if err != nil {
		return "", err
	}
	roots := append([]string{s.dir}, allow...)
	for _, r := range roots {
		rr, err := filepath.EvalSymlinks(r)
		if err != nil {
			continue
		}
		if rr, err = filepath.Abs(rr); err != nil {
			continue
		}
		if rel, err := filepath.Rel(rr, real); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return path, nil
		}
	}
	where := "the pipeline's directory " + s.dir
	if len(allow) > 0 {
		where += " or the --allow-data directories " + strings.Join(allow, ", ")
	}
	return "", s.errorf(fieldPath(field), "%s: %s is outside %s: a pipeline reads data beside it (pass --allow-data DIR to reckon run to allow another directory)", field, p, where)
}

func fieldPath(field string) []any {
	var out []any
	for _, f := range strings.Split(field, ".") {
		out = append(out, f)
	}
	return out
}

// unwrapPath drops the path an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (s *Spec) check() error {
	at := func(path ...any) []any { return path }
	if s.Name == "" || strings.ContainsAny(s.Name, "/@: ") {
		return s.errorf(at("name"), "name: want a pipeline name without '/', '@', ':' or spaces, got %q", s.Name)
	}
	d := s.Data
	sources := 0
	for _, set := range []bool{d.Table != "", d.Tracks != "", d.Generate != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return s.errorf(at("data"), "data: give exactly one of table (a CSV), tracks (a track set directory) or generate (count, seed)")
	}
	if d.Name == "" {
		return s.errorf(at("data"), "data.name: name the dataset (its versions are recorded under this name)")
	}
	if s.Tabular() {
		if d.Target == "" {
			return s.errorf(at("data"), "data.target: a table needs its class column")
		}
		if (s.Split.Folds == "") == (s.Split.CV == "") {
			return s.errorf(at("split"), "split: a table needs exactly one of folds (a fold file) or cv (KxR, e.g. 5x3)")
		}
		if s.Split.CV != "" {
			if _, _, err := dataset.ParseCV(s.Split.CV); err != nil {
				return s.errorf(at("split", "cv"), "split.cv: %v", err)
			}
		}
		if s.Split.TestFrac != 0 || s.Features.Window != 0 {
			return s.errorf(at("split"), "split.test_frac and features.window are for track sets, not tables")
		}
		if t := d.Task; t != "" && t != "classification" && t != "regression" {
			return s.errorf(at("data", "task"), "data.task %q: classification or regression (or none: the target's)", t)
		}
	} else {
		if d.Target != "" || d.Positive != "" || s.Split.Folds != "" || s.Split.CV != "" || len(s.Features.Exclude) > 0 {
			return s.errorf(at("data"), "target, positive, split.folds, split.cv and features.exclude are for tables, not track sets")
		}
		if g := d.Generate; g != nil {
			switch {
			case g.Count < 2:
				return s.errorf(at("data", "generate", "count"), "data.generate.count: want at least 2 tracks")
			case g.Variant != "" && g.Variant != "A" && g.Variant != "B":
				return s.errorf(at("data", "generate", "variant"), "data.generate.variant %q: want A (whole tracks) or B (forecast cuts)", g.Variant)
			case g.Variant != "B" && (g.Replicates != 0 || len(g.Horizons) > 0):
				return s.errorf(at("data", "generate"), "data.generate: replicates and horizons are for variant: B")
			case g.Replicates < 0 || (g.Replicates > 0 && len(g.Horizons) > 0):
				return s.errorf(at("data", "generate", "replicates"), "data.generate.replicates: want a positive count of drawn horizons per flight, and not beside fixed horizons")
			}
			for i, h := range g.Horizons {
				if !(h > 0) {
					return s.errorf(at("data", "generate", "horizons"), "data.generate.horizons[%d]: want a positive horizon in seconds, got %v", i, h)
				}
			}
		}
		if s.Split.TestFrac == 0 {
			s.Split.TestFrac = 0.2
		}
		if !(s.Split.TestFrac > 0 && s.Split.TestFrac < 1) {
			return s.errorf(at("split", "test_frac"), "split.test_frac: want a share in (0, 1), got %v", s.Split.TestFrac)
		}
		if s.Features.Window != 0 && s.Features.Window < 16 {
			return s.errorf(at("features", "window"), "features.window: want at least 16 steps")
		}
	}
	if len(s.Models) == 0 {
		return s.errorf(at("models"), "models: list at least one candidate")
	}
	seen := map[string]bool{}
	for i := range s.Models {
		m := &s.Models[i]
		if m.Name == "" {
			m.Name = m.Kind
		}
		if seen[m.Name] {
			return s.errorf(at("models", i), "models[%d]: a second candidate named %q; give each a distinct name", i, m.Name)
		}
		seen[m.Name] = true
		if err := s.checkModel(m); err != nil {
			return s.errorf(at("models", i), "models[%d] (%s): %v", i, m.Name, err)
		}
	}
	if s.Select.Policy == "" {
		return s.errorf(at("select"), "select.policy: wins, primary or constraint (tables); primary (track sets)")
	}
	if !s.Tabular() && s.Select.Policy != "primary" {
		return s.errorf(at("select", "policy"), "select.policy: track sets are selected by primary (a metric such as rmse_s, lower is better)")
	}
	if err := s.checkSelect(); err != nil {
		return s.errorf(at("select"), "select: %v", err)
	}
	if s.Register.Model == "" || strings.ContainsAny(s.Register.Model, "@: ") {
		return s.errorf(at("register"), "register.model: name the registry model (no '@', ':' or spaces)")
	}
	if s.Register.Alias == "" {
		s.Register.Alias = "champion"
	}
	if s.CheckpointEvery != nil && *s.CheckpointEvery < 0 {
		return s.errorf(at("checkpoint_every"), "checkpoint_every: want a duration such as 30s")
	}
	return nil
}

// decodeParams lays a candidate's params over defaults through JSON, so
// the names are those of the model files (json tags) and an unknown name
// is an error.
func decodeParams(params map[string]any, into any) error {
	if len(params) == 0 {
		return nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("params: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// SetParam sets one parameter of every candidate of a kind (the demo's
// lighter LSTM schedule, say) and checks the candidates again, as when the
// file was read.
func (s *Spec) SetParam(kind, name string, v any) error {
	for i := range s.Models {
		m := &s.Models[i]
		if m.Kind != kind {
			continue
		}
		if m.Params == nil {
			m.Params = map[string]any{}
		}
		m.Params[name] = v
		if err := s.checkModel(m); err != nil {
			return fmt.Errorf("%s: models.%s: %w", s.file, m.Name, err)
		}
	}
	return nil
}
