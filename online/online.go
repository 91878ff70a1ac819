// Package online answers predictions one request at a time: rows as JSON
// values or CSV cells, checked against the model's schema and named by row
// and field when wrong, scored by a model that stays loaded, and swapped
// for the new version in the background when its alias moves, so that no
// request waits for a load, fails during a swap or mixes two versions.
package online

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reckon-ml/reckon/dataset"
	"github.com/reckon-ml/reckon/registry"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/tabular"
)

// ErrNotTabular refuses models that score tracks.
var ErrNotTabular = errors.New("online predictions take table rows; this model scores tracks (use reckon predict)")

// Served is one loaded version.
type Served struct {
	Version store.Version
	Team    string // the team of the run that trained it
	model   *tabular.Model
	known   map[string]bool // the fields a row may have: features and target
	pool    sync.Pool       // replicas: the network keeps activations per call
}

// Cache keeps the served version of each reference.
type Cache struct {
	reg   store.Store
	blobs registry.Blobs
	ttl   time.Duration
	now   func() time.Time

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	mu         sync.Mutex // held by the first load only
	cur        atomic.Pointer[Served]
	checked    atomic.Int64 // unix ns of the last look at the alias
	refreshing atomic.Bool
}

// NewCache serves models from the registry; an alias is looked at again
// when a request comes ttl after the last look (0: one second).
func NewCache(reg store.Store, b registry.Blobs, ttl time.Duration) *Cache {
	if ttl <= 0 {
		ttl = time.Second
	}
	return &Cache{reg: reg, blobs: b, ttl: ttl, now: time.Now, entries: map[string]*entry{}}
}

// Get is the version ref names now (as of at most ttl ago).
func (c *Cache) Get(ctx context.Context, ref registry.Ref) (*Served, error) {
	key := ref.String()
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &entry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	s := e.cur.Load()
	if s == nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		if s = e.cur.Load(); s == nil {
			v, err := registry.Resolve(ctx, c.reg, ref)
			if err != nil {
				return nil, err
			}
			if s, err = c.load(ctx, v); err != nil {
				return nil, err
			}
			e.cur.Store(s)
			e.checked.Store(c.now().UnixNano())
		}
		return s, nil
	}
	if c.now().UnixNano()-e.checked.Load() > int64(c.ttl) && e.refreshing.CompareAndSwap(false, true) {
		go c.refresh(e, ref, s)
	}
	return s, nil
}

// refresh swaps in the version the alias points at now, if it moved. A
// failure keeps the served version (and is tried again after ttl).
func (c *Cache) refresh(e *entry, ref registry.Ref, cur *Served) {
	defer e.refreshing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	v, err := registry.Resolve(ctx, c.reg, ref)
	e.checked.Store(c.now().UnixNano())
	if err != nil || v.Version == cur.Version.Version {
		return
	}
	if s, err := c.load(ctx, v); err == nil {
		e.cur.Store(s)
	}
}

func (c *Cache) load(ctx context.Context, v store.Version) (*Served, error) {
	l, err := registry.LoadVersion(ctx, c.blobs, v)
	if err != nil {
		return nil, err
	}
	m, ok := l.Model.(*tabular.Model)
	if !ok {
		return nil, fmt.Errorf("%s: %w", registry.Label(v), ErrNotTabular)
	}
	s := &Served{Version: v, model: m, known: map[string]bool{m.Schema.Target: true}}
	for _, f := range m.Schema.Features {
		s.known[f.Name] = true
	}
	if run, err := c.reg.GetRun(ctx, v.RunID); err == nil {
		s.Team = run.Team
	}
	s.pool.New = func() any {
		r, err := m.Replica()
		if err != nil {
			return nil
		}
		return r
	}
	return s, nil
}

// RowError names a bad row and field.
type RowError struct {
	Row     int    `json:"row"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d, field %s: %s", e.Row, e.Field, e.Message)
}

// Prediction is one row's answer.
type Prediction struct {
	Class         string             `json:"class,omitempty"`
	Probabilities map[string]float64 `json:"probabilities,omitempty"`
	// Value is a regression model's predicted value.
	Value *float64  `json:"value,omitempty"`
	Error *RowError `json:"error,omitempty"`
}

// Row is one input row: feature name to a JSON value (a number, a string,
// or null for missing).
type Row map[string]json.RawMessage

// Predict scores rows. A bad row is an error naming it, unless partial:
// then it gets its error in place and the others are answered.
func (s *Served) Predict(rows []Row, partial bool) ([]Prediction, error) {
	schema := s.model.Schema
	cols := len(schema.Features)
	out := make([]Prediction, len(rows))
	x := make([]float64, 0, len(rows)*cols)
	var good []int
	for i, r := range rows {
		vals, err := encode(schema, s.known, i, r)
		if err != nil {
			if !partial {
				return nil, err
			}
			out[i].Error = err
			continue
		}
		x = append(x, vals...)
		good = append(good, i)
	}
	if len(good) == 0 {
		return out, nil
	}
	cat := make([]bool, cols)
	for j, f := range schema.Features {
		cat[j] = f.Type == dataset.Categorical
	}
	m, _ := s.pool.Get().(*tabular.Model)
	if m == nil {
		return nil, errors.New("the model cannot be copied for this request")
	}
	defer s.pool.Put(m)
	if schema.Regression() {
		v, err := m.PredictThreads(&tabular.Frame{X: x, Rows: len(good), Cols: cols, Categorical: cat}, 1)
		if err != nil {
			return nil, err
		}
		for k, i := range good {
			out[i] = Prediction{Value: &v[k]}
		}
		return out, nil
	}
	p, err := m.ProbaThreads(&tabular.Frame{X: x, Rows: len(good), Cols: cols, Categorical: cat}, 1)
	if err != nil {
		return nil, err
	}
	cls := m.Decide(p, len(good))
	K := len(schema.Classes)
	for k, i := range good {
		pr := make(map[string]float64, K)
		for c, name := range schema.Classes {
			pr[name] = p[k*K+c]
		}
		out[i] = Prediction{Class: schema.Classes[cls[k]], Probabilities: pr}
	}
	return out, nil
}

// encode is a row in the model's feature order: numbers (NaN missing) and
// category codes (unseen levels share the code after the known ones).
func encode(s *tabular.Schema, known map[string]bool, i int, r Row) ([]float64, *RowError) {
	out := make([]float64, len(s.Features))
	for name := range r {
		if !known[name] {
			return nil, &RowError{Row: i, Field: name, Message: "not a feature of this model"}
		}
	}
	for j, f := range s.Features {
		raw, ok := r[f.Name]
		if !ok || string(raw) == "null" {
			out[j] = math.NaN()
			continue
		}
		if f.Type != dataset.Categorical {
			var v float64
			if err := json.Unmarshal(raw, &v); err != nil {
				var str string
				if json.Unmarshal(raw, &str) != nil {
					return nil, &RowError{Row: i, Field: f.Name, Message: fmt.Sprintf("%s is not a number", raw)}
				}
				if v, err = strconv.ParseFloat(str, 64); err != nil {
					return nil, &RowError{Row: i, Field: f.Name, Message: fmt.Sprintf("%q is not a number", str)}
				}
			}
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, &RowError{Row: i, Field: f.Name, Message: "not a finite number"}
			}
			out[j] = v
			continue
		}
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			str = string(raw) // a number given for a category: its text
		}
		code := len(f.Levels)
		for k, l := range f.Levels {
			if l == str {
				code = k
				break
			}
		}
		out[j] = float64(code)
	}
	return out, nil
}
