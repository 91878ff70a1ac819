package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/compare"
	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/examples"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/tabular"
	"github.com/reckon-ml/reckon/trackmodel"
)

// EmbeddedTumor and EmbeddedTumorFolds name the Breast Cancer Wisconsin
// copy and its folds inside the binary (for the demo and bare binaries).
const (
	EmbeddedTumor      = "embedded:tumor"
	EmbeddedTumorFolds = "embedded:tumor-folds"
)

func (s *Spec) checkModel(m *Model) error {
	if s.Tabular() {
		if !slices.Contains(tabular.Kinds, m.Kind) {
			return fmt.Errorf("kind %q: a table's candidates are %s", m.Kind, strings.Join(tabular.Kinds, ", "))
		}
		_, err := tabularSpec(*m)
		return err
	}
	_, err := trackConfig(*m, s.Features, s.Split)
	return err
}

func (s *Spec) checkSelect() error {
	if s.Tabular() {
		pol, err := compare.Parse(s.Select.Policy, s.Select.Metric, s.Select.Constraint, s.Select.Maximize)
		if err != nil {
			return err
		}
		return tabular.CheckPolicy(pol, nil)
	}
	if s.Select.Metric == "" {
		s.Select.Metric = "rmse_s"
	}
	if s.Select.Constraint != "" || s.Select.Maximize != "" {
		return errors.New("constraint and maximize are for tables")
	}
	names := slices.Sorted(maps.Keys((&trackmodel.Evaluation{}).Metrics()))
	if !slices.Contains(names, s.Select.Metric) {
		return fmt.Errorf("metric %q: not one a track model is scored on (metrics: %s)", s.Select.Metric, strings.Join(names, ", "))
	}
	return nil
}

// selectPolicy is the pipeline's policy for the schema's task: rmse by
// default for a numeric target, and no constraint policy there.
func selectPolicy(sp *Spec, s *tabular.Schema) (compare.Policy, error) {
	return compare.ParseTask(sp.Select.Policy, sp.Select.Metric, sp.Select.Constraint, sp.Select.Maximize, s.Regression())
}

// tabularSpec is a candidate's hyperparameters: the kind's defaults with
// params laid over them (names as in the model file, e.g. trees, depth,
// learning_rate for gbdt; threshold for any kind).
func tabularSpec(m Model) (tabular.Spec, error) {
	sp := tabular.DefaultSpec(m.Kind)
	params := map[string]any{}
	for k, v := range m.Params {
		if k == "threshold" {
			f, ok := v.(float64)
			if !ok {
				return sp, fmt.Errorf("params: threshold: want a number, got %v", v)
			}
			sp.Threshold = f
			continue
		}
		params[k] = v
	}
	var into any
	switch m.Kind {
	case tabular.KindGBDT:
		into = &sp.GBDT
	case tabular.KindLogistic:
		into = &sp.Logistic
	case tabular.KindFCN:
		into = &sp.FCN
	case tabular.KindLinear:
		into = &sp.Linear
	}
	if err := decodeParams(params, into); err != nil {
		return sp, err
	}
	return sp, sp.Validate()
}

type tableData struct {
	t      *dataset.Table
	schema *tabular.Schema
	fr     *tabular.Frame
	folds  []dataset.Fold
}

func (x *exec) readTable() (*dataset.Table, []byte, error) {
	src, err := x.spec.Resolve("data.table", x.spec.Data.Table, x.env.AllowData)
	if err != nil {
		return nil, nil, err
	}
	var body []byte
	name := src
	if src == EmbeddedTumor {
		body, name = examples.TumorCSV, examples.TumorCSVName
	} else {
		b, err := os.ReadFile(src)
		if err != nil {
			return nil, nil, err
		}
		body = b
	}
	t, _, err := dataset.ReadCSV(name, bytes.NewReader(body), dataset.ReadOptions{})
	if err != nil {
		return nil, nil, err
	}
	if ex := x.spec.Features.Exclude; len(ex) > 0 {
		var keep []dataset.Column
		for _, c := range t.Columns {
			if !slices.Contains(ex, c.Name) {
				keep = append(keep, c)
			}
		}
		for _, e := range ex {
			if t.Column(e) == nil {
				return nil, nil, fmt.Errorf("%s: features.exclude: no column %q", x.spec.file, e)
			}
			if e == x.spec.Data.Target {
				return nil, nil, fmt.Errorf("%s: features.exclude: %q is the target", x.spec.file, e)
			}
		}
		t.Columns = keep
	}
	return t, body, nil
}

type splitOut struct {
	Folds blobs.Ref `json:"folds"`
	N     int       `json:"n"`
	Desc  string    `json:"desc"`
}

type featuresOut struct {
	Schema   blobs.Ref `json:"schema"`
	Features int       `json:"features"`
	Classes  []string  `json:"classes"`
	Positive string    `json:"positive"`
}

type trainOut struct {
	Kind  string             `json:"kind"`
	Model blobs.Ref          `json:"model"`
	CV    blobs.Ref          `json:"cv"`
	Mean  map[string]float64 `json:"mean"`
	SD    map[string]float64 `json:"sd"`
}

type selectOut struct {
	Decision blobs.Ref `json:"decision"`
	Winner   string    `json:"winner"`
	Ranking  []string  `json:"ranking"`
	Reason   string    `json:"reason"`
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (x *exec) tabular(ctx context.Context) error {
	sp := x.spec
	t, _, err := x.readTable()
	if err != nil {
		return err
	}
	hash := t.Hash()
	schemaJSON, err := json.Marshal(map[string]any{"columns": t.Names(), "target": sp.Data.Target})
	if err != nil {
		return err
	}
	ds, err := x.env.Store.PutDataset(ctx, store.Dataset{Name: sp.Data.Name, Hash: hash, Source: t.Source, Schema: string(schemaJSON), Rows: int64(t.Rows())})
	if err != nil {
		return err
	}
	x.res.Data = ds
	if err := x.env.Store.SetTags(ctx, x.run.ID, map[string]string{"data": hash}); err != nil {
		return err
	}
	fmt.Fprintf(x.env.Log, "  %-22s %s: %d rows, version %s\n", "data", t.Source, t.Rows(), short(strings.TrimPrefix(hash, "sha256:")))
	d := &tableData{t: t}

	// features: the schema fitted on the table (types, classes, levels).
	var fo featuresOut
	fcfg := map[string]any{"target": sp.Data.Target, "positive": sp.Data.Positive, "task": sp.Data.Task, "exclude": sp.Features.Exclude}
	if _, err := x.step(ctx, "features", fcfg, map[string]string{"data": hash}, &fo, func(ctx context.Context, s *stepRun) error {
		schema, err := tabular.NewSchemaTask(t, sp.Data.Target, sp.Data.Positive, sp.Data.Task)
		if err != nil {
			return err
		}
		b, err := json.Marshal(schema)
		if err != nil {
			return err
		}
		fo.Schema, err = s.put(ctx, "schema", b)
		fo.Features, fo.Classes, fo.Positive = len(schema.Features), schema.Classes, schema.PositiveLabel()
		return err
	}); err != nil {
		return err
	}
	b, err := x.env.Blobs.Get(ctx, fo.Schema.Key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &d.schema); err != nil {
		return fmt.Errorf("schema %s: %w", fo.Schema.Key, err)
	}
	// The classes are known now: a misspelt one in the policy stops the
	// run here, before any candidate trains.
	if pol, err := selectPolicy(sp, d.schema); err != nil {
		return fmt.Errorf("%s: select: %w", sp.file, err)
	} else if err := d.schema.CheckPolicy(pol); err != nil {
		return fmt.Errorf("%s: select: %w", sp.file, err)
	}
	// And a candidate whose kind cannot fit this target stops it too.
	for i, m := range sp.Models {
		if err := tabular.CheckTask(m.Kind, d.schema); err != nil {
			return fmt.Errorf("%s: models[%d] (%s): %w", sp.file, i, m.Name, err)
		}
	}
	if d.fr, err = d.schema.Encode(t); err != nil {
		return err
	}

	// split: the folds every candidate (and the champion) is scored on.
	var so splitOut
	inputs := map[string]string{"data": hash, "features": fo.Schema.SHA256}
	scfg := map[string]any{"cv": sp.Split.CV, "seed": sp.Split.Seed}
	var foldBody []byte
	if sp.Split.Folds != "" {
		if sp.Split.Folds == EmbeddedTumorFolds {
			foldBody = examples.TumorFolds
		} else {
			path, err := sp.Resolve("split.folds", sp.Split.Folds, x.env.AllowData)
			if err != nil {
				return err
			}
			if foldBody, err = os.ReadFile(path); err != nil {
				return err
			}
		}
		inputs["folds_file"] = sha(foldBody)
	}
	if _, err := x.step(ctx, "split", scfg, inputs, &so, func(ctx context.Context, s *stepRun) error {
		plan := dataset.FoldPlan{CV: sp.Split.CV, Seed: sp.Split.Seed, Field: sp.file + ": split.cv:"}
		if foldBody != nil {
			plan.File, plan.Body = sp.path(sp.Split.Folds), foldBody
		}
		folds, desc, err := d.schema.FoldPlan(plan).Build(d.fr.Strata())
		if err != nil {
			return err
		}
		if foldBody != nil {
			// Reports name the file as the pipeline wrote it.
			desc = fmt.Sprintf("%d folds from %s", len(folds), sp.Split.Folds)
		}
		so.Desc = desc
		b, err := json.Marshal(folds)
		if err != nil {
			return err
		}
		so.N = len(folds)
		so.Folds, err = s.put(ctx, "folds", b)
		return err
	}); err != nil {
		return err
	}
	if b, err = x.env.Blobs.Get(ctx, so.Folds.Key); err != nil {
		return err
	}
	if err := json.Unmarshal(b, &d.folds); err != nil {
		return fmt.Errorf("folds %s: %w", so.Folds.Key, err)
	}

	// train: cross-validate each candidate on the folds, then fit it on
	// every row; both results are artifacts of the step's run.
	var cands []compare.Candidate
	outs := map[string]trainOut{}
	runs := map[string]string{}
	var pending []candidate
	for _, m := range sp.Models {
		spec, _ := tabularSpec(m)
		pending = append(pending, candidate{m.Name, spec, map[string]string{"data": hash, "features": fo.Schema.SHA256, "split": so.Folds.SHA256}})
	}
	if err := x.fanOut(ctx, pending); err != nil {
		return err
	}
	for _, m := range sp.Models {
		if x.skip(m.Name) {
			continue
		}
		spec, _ := tabularSpec(m) // checked when the file was read
		var to trainOut
		in := map[string]string{"data": hash, "features": fo.Schema.SHA256, "split": so.Folds.SHA256}
		st, err := x.step(ctx, "train/"+m.Name, spec, in, &to, func(ctx context.Context, s *stepRun) error {
			return x.trainTabular(ctx, s, spec, d, &to)
		})
		if err != nil {
			return err
		}
		c, err := x.loadCandidate(ctx, m.Name, to.CV)
		if err != nil {
			return err
		}
		cands = append(cands, c)
		outs[m.Name], runs[m.Name] = to, st.RunID
		x.res.Candidates = append(x.res.Candidates, Candidate{Name: m.Name, Kind: to.Kind, Metrics: to.Mean, SHA256: to.Model.SHA256, RunID: st.RunID})
	}
	if x.env.Only != "" {
		return nil
	}

	// select: this run's candidates and the current champion, retrained
	// per fold with its own hyperparameters on the same folds.
	champ, err := x.champion(ctx)
	if err != nil {
		return err
	}
	if champ, err = x.outsideChampion(ctx, champ); err != nil {
		return err
	}
	sel := map[string]string{}
	for _, m := range sp.Models {
		sel["candidate/"+m.Name] = outs[m.Name].Model.SHA256 + " " + outs[m.Name].CV.SHA256
	}
	if champ != nil {
		sel["champion"] = champ.Artifact.SHA256
	}
	var out selectOut
	if _, err := x.step(ctx, "select", sp.Select, sel, &out, func(ctx context.Context, s *stepRun) error {
		all := slices.Clone(cands)
		if champ != nil {
			c, err := x.cvChampion(ctx, s, champ, d)
			if err != nil {
				return err
			}
			all = append(all, c)
		}
		pol, err := selectPolicy(sp, d.schema)
		if err != nil {
			return err
		}
		if len(all) < 2 {
			out.Winner, out.Ranking = all[0].Name, []string{all[0].Name}
			out.Reason = fmt.Sprintf("%s is the only candidate and there is no %s yet", all[0].Name, sp.Register.Alias)
			return nil
		}
		dec, err := pol.Decide(all)
		if err != nil {
			return err
		}
		b, err := json.Marshal(dec)
		if err != nil {
			return err
		}
		out.Winner, out.Ranking, out.Reason = dec.Winner, dec.Ranking, dec.Reason
		out.Decision, err = s.put(ctx, "decision", b)
		return err
	}); err != nil {
		return err
	}
	return x.register(ctx, out, outs, runs, hash, champ)
}

// outsideChampion is the model selection compares this run's candidates
// with. Usually the champion; but when the champion is one of this run's
// candidates (the same bytes: a re-run after the run that promoted it), it
// is compared already, and the one it replaced stands in, so selection sees
// the same inputs as the run that moved the alias, and is reused from the
// cache.
func (x *exec) outsideChampion(ctx context.Context, champ *store.Version) (*store.Version, error) {
	if champ == nil {
		return nil, nil
	}
	twin := false
	for i := range x.res.Candidates {
		if x.res.Candidates[i].SHA256 == champ.Artifact.SHA256 {
			x.res.Candidates[i].Champion = true
			twin = true
		}
	}
	if !twin {
		return champ, nil
	}
	hist, err := x.env.Store.History(ctx, x.spec.Register.Model)
	if err != nil {
		return nil, err
	}
	for i := len(hist) - 1; i >= 0; i-- {
		h := hist[i]
		if h.Alias != x.spec.Register.Alias || h.To != champ.Version {
			continue
		}
		if h.From == 0 {
			return nil, nil
		}
		prev, err := x.env.Store.GetVersion(ctx, x.spec.Register.Model, h.From)
		if err != nil {
			return nil, err
		}
		for _, c := range x.res.Candidates {
			if c.SHA256 == prev.Artifact.SHA256 {
				return nil, nil
			}
		}
		return &prev, nil
	}
	return nil, nil
}

// cvCandidate is what a training step stores of its cross-validation: the
// per-fold scores and predictions selection compares.
type cvCandidate struct {
	Folds []cvFold `json:"folds"`
}

type cvFold struct {
	Scores  map[string]float64 `json:"scores"`
	Rows    []int              `json:"rows"`
	Truth   []bool             `json:"truth"`
	Proba   []float64          `json:"proba"`
	Correct []bool             `json:"correct"`
}

func toStored(c compare.Candidate) cvCandidate {
	var stored cvCandidate
	for _, f := range c.Folds {
		stored.Folds = append(stored.Folds, cvFold{Scores: f.Scores, Rows: f.Rows, Truth: f.Truth, Proba: f.Proba, Correct: f.Correct})
	}
	return stored
}

func (x *exec) loadCandidate(ctx context.Context, name string, ref blobs.Ref) (compare.Candidate, error) {
	b, err := x.env.Blobs.Get(ctx, ref.Key)
	if err != nil {
		return compare.Candidate{}, err
	}
	var st cvCandidate
	if err := json.Unmarshal(b, &st); err != nil {
		return compare.Candidate{}, fmt.Errorf("%s: cross-validation %s: %w", name, ref.Key, err)
	}
	c := compare.Candidate{Name: name}
	for _, f := range st.Folds {
		c.Folds = append(c.Folds, compare.Fold{Scores: f.Scores, Rows: f.Rows, Truth: f.Truth, Proba: f.Proba, Correct: f.Correct})
	}
	return c, nil
}

func (x *exec) progress(label string, total int) (func(int, string), func()) {
	if x.env.Progress == nil {
		return func(int, string) {}, func() {}
	}
	return x.env.Progress(label, total)
}

func (x *exec) trainTabular(ctx context.Context, s *stepRun, spec tabular.Spec, d *tableData, to *trainOut) error {
	set, finish := x.progress("cross-validating "+spec.Model+" (folds)", len(d.folds))
	cv, err := tabular.CrossValidate(ctx, spec, d.schema, d.fr, d.folds, func(done, _ int) { set(done, "") })
	finish()
	if err != nil {
		return err
	}
	b, err := json.Marshal(toStored(tabular.Candidate(spec.Model, cv, d.fr, d.schema)))
	if err != nil {
		return err
	}
	if to.CV, err = s.put(ctx, "cv", b); err != nil {
		return err
	}
	// Each fold's score is a series under fold/ (step = fold); the
	// cross-validated estimate, the mean, is the metric itself and cv/,
	// with its spread under cv_sd/: a last value is never one fold's.
	var pts []store.Point
	for i, f := range cv.Folds {
		for k, v := range f.Scores {
			pts = append(pts, store.Point{Key: store.FoldPrefix + k, Step: int64(i), Value: v})
		}
	}
	for k, v := range cv.Mean {
		pts = append(pts, store.Point{Key: k, Step: 0, Value: v}, store.Point{Key: "cv/" + k, Step: 0, Value: v})
	}
	for k, v := range cv.SD {
		pts = append(pts, store.Point{Key: "cv_sd/" + k, Step: 0, Value: v})
	}
	if err := x.env.Store.LogMetrics(ctx, s.run.ID, pts); err != nil {
		return err
	}
	m, err := tabular.Train(ctx, spec, d.schema, d.fr, nil)
	if err != nil {
		return err
	}
	m.Metrics = cv.Mean
	if m.Reference, err = m.ProfileFrame(d.fr); err != nil {
		return err
	}
	art, err := m.FileArtifact(d.t.Hash(), "")
	if err != nil {
		return err
	}
	to.Kind, to.Mean, to.SD = spec.Model, cv.Mean, cv.SD
	to.Model, err = s.putArtifact(ctx, "model", art)
	return err
}

// champion is the version the register alias points at, nil when none.
func (x *exec) champion(ctx context.Context) (*store.Version, error) {
	v, err := x.env.Store.Resolve(ctx, x.spec.Register.Model, x.spec.Register.Alias)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	x.res.Champion = &v
	return &v, nil
}

func championName(v *store.Version) string {
	return fmt.Sprintf("%s (%s)", registry.Label(*v), v.Kind)
}

// cvChampion scores the champion's recipe on this run's folds: a fitted
// model cannot be scored on rows it was trained on, so its hyperparameters
// are cross-validated exactly as the candidates' were.
func (x *exec) cvChampion(ctx context.Context, s *stepRun, v *store.Version, d *tableData) (compare.Candidate, error) {
	l, err := registry.LoadBlob(ctx, x.env.Blobs, v.Artifact.Key, "champion "+championName(v))
	if err != nil {
		return compare.Candidate{}, err
	}
	tm, ok := l.Model.(*tabular.Model)
	if !ok {
		return compare.Candidate{}, fmt.Errorf("champion %s is a %s model, not a tabular model", championName(v), l.Model.Kind())
	}
	set, finish := x.progress("cross-validating the champion (folds)", len(d.folds))
	cv, err := tabular.CrossValidate(ctx, tm.Spec, d.schema, d.fr, d.folds, func(done, _ int) { set(done, "") })
	finish()
	if err != nil {
		return compare.Candidate{}, fmt.Errorf("champion %s: %w", championName(v), err)
	}
	c := tabular.Candidate(championName(v), cv, d.fr, d.schema)
	x.res.Candidates = append(x.res.Candidates, Candidate{Name: championName(v), Kind: v.Kind, Metrics: cv.Mean, SHA256: v.Artifact.SHA256, RunID: v.RunID, Champion: true})
	return c, nil
}

// register records the best of this run's candidates. The alias moves to
// it, in the same transaction, only when the policy preferred it to the
// current champion; otherwise it is registered without the alias and the
// reason is its note. The same bytes are never registered twice.
func (x *exec) register(ctx context.Context, sel selectOut, outs map[string]trainOut, runs map[string]string, dataHash string, champ *store.Version) error {
	sp := x.spec
	best := ""
	for _, n := range sel.Ranking {
		if _, ok := outs[n]; ok {
			best = n
			break
		}
	}
	if best == "" {
		return fmt.Errorf("select: no candidate of this run in the ranking %v", sel.Ranking)
	}
	to := outs[best]
	moves := sel.Winner == best
	// The alias's actual target, whatever selection compared with.
	current := x.res.Champion
	why := sel.Reason
	x.res.Winner, x.res.Ranking, x.res.Reason = sel.Winner, sel.Ranking, sel.Reason
	if !moves {
		stays := champ
		if current != nil {
			stays = current
		}
		why = fmt.Sprintf("%s stays %s: %s", championName(stays), sp.Register.Alias, sel.Reason)
	}
	v := store.Version{Model: sp.Register.Model, RunID: runs[best], Kind: to.Kind, DataHash: dataHash, Metrics: to.Mean,
		Artifact: registry.Artifact(to.Model)}
	alias := ""
	if moves {
		alias = sp.Register.Alias
	} else {
		v.Note = why
	}
	// One transaction: bytes already registered (earlier, or by a run
	// racing this one) are their version, and the alias moves only if it
	// is not already there, and still where it was when this run read it
	// (a racing run may have moved it to something this one never
	// compared with).
	from := 0
	if current != nil {
		from = current.Version
	}
	reg, err := x.env.Store.RegisterIf(ctx, v, alias, from, x.env.User, why)
	if err != nil {
		return err
	}
	x.res.Registered, x.res.AliasMoved = reg.Version, reg.Moved
	if reg.Stale {
		fmt.Fprintf(x.env.Log, "  %-22s %s@%s moved to %s:%d while this run compared with %s: left there; run again to compare with it\n",
			"register", sp.Register.Model, sp.Register.Alias, sp.Register.Model, reg.AliasAt, versionLabel(sp.Register.Model, from))
		x.res.Reason += fmt.Sprintf(" (not moved: %s@%s had moved to %s:%d meanwhile)", sp.Register.Model, sp.Register.Alias, sp.Register.Model, reg.AliasAt)
	}
	if moves && !reg.Moved && !reg.Stale {
		// Already there, whatever this run read before it (a racing
		// run may have moved it since).
		current = &reg.Version
	}
	if reg.New {
		x.res.Action = "registered"
		fmt.Fprintf(x.env.Log, "  %-22s %s as %s; %s\n", "register", best, registry.Label(reg.Version), aliasNote(x.res, current))
	} else {
		x.res.Action = "already registered"
		fmt.Fprintf(x.env.Log, "  %-22s %s is already %s; %s\n", "register", best, registry.Label(reg.Version), aliasNote(x.res, current))
	}
	return nil
}

func versionLabel(model string, v int) string {
	if v == 0 {
		return "no version"
	}
	return fmt.Sprintf("%s:%d", model, v)
}

func aliasNote(r *Result, champ *store.Version) string {
	switch {
	case r.AliasMoved:
		return fmt.Sprintf("%s -> %s:%d", r.Alias, r.Registered.Model, r.Registered.Version)
	case champ != nil && champ.Version == r.Registered.Version:
		return fmt.Sprintf("it is already %s", r.Alias)
	case champ != nil:
		return fmt.Sprintf("%s stays %s", r.Alias, championName(champ))
	}
	return "no alias"
}
