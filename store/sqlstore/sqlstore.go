// Package sqlstore implements store.Store over database/sql for both
// back ends, SQLite and PostgreSQL: one schema (migrations/, written in the
// SQL both accept) and one set of queries, with the few differences (how
// placeholders are written, which errors mean "try the transaction again",
// how concurrent migrations are serialised) in a Dialect.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is what differs between the back ends.
type Dialect struct {
	Name string
	// Dollar: placeholders are $1, $2, ... (PostgreSQL) rather than ?.
	Dollar bool
	// Retry reports whether a failed transaction may succeed if run again
	// (SQLite: busy past the timeout; PostgreSQL: serialization failure or
	// deadlock).
	Retry func(error) bool
	// MigrationLock, when set, runs first in the migration transaction so
	// that processes opening a fresh database at once apply it once.
	MigrationLock string
	// Integrity, when set, checks the database's own structure (SQLite's
	// integrity_check): "ok" or what is wrong.
	Integrity func(context.Context) (string, error)
}

// DB is a store.Store on a SQL database.
type DB struct {
	r, w *sql.DB // readers and writers (the same pool for PostgreSQL)
	d    Dialect
	now  func() time.Time
}

var _ store.Store = (*DB)(nil)

// SetClock replaces the clock the store stamps runs, heartbeats, versions
// and audit entries with (time.Now by default): the conformance suite
// moves time forward instead of sleeping.
func (s *DB) SetClock(now func() time.Time) { s.now = now }

// New wraps open pools (w for writes, r for reads) and applies pending
// migrations. Close closes both.
func New(ctx context.Context, w, r *sql.DB, d Dialect) (*DB, error) {
	s := &DB{r: r, w: w, d: d, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// IntegrityCheck runs the back end's own check of its database: "ok", what
// is wrong, or "not checked" where it has none (PostgreSQL checks its
// pages itself).
func (s *DB) IntegrityCheck(ctx context.Context) (string, error) {
	if s.d.Integrity == nil {
		return "not checked", nil
	}
	return s.d.Integrity(ctx)
}

// Close closes the pools.
func (s *DB) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// q rewrites ? placeholders for the dialect. The queries here never hold a
// literal question mark.
func (s *DB) q(query string) string {
	if !s.d.Dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// tx is a write transaction with the dialect's placeholders.
type tx struct {
	*sql.Tx
	s   *DB
	ctx context.Context
}

func (t tx) exec(query string, args ...any) (sql.Result, error) {
	return t.ExecContext(t.ctx, t.s.q(query), args...)
}

func (t tx) row(query string, args ...any) *sql.Row {
	return t.QueryRowContext(t.ctx, t.s.q(query), args...)
}

func (t tx) query(query string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(t.ctx, t.s.q(query), args...)
}

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction. Twenty lines do what a migration library would, without a
// dependency that brings every database driver along.
func (s *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return s.tx(ctx, func(t tx) error {
		if s.d.MigrationLock != "" {
			if _, err := t.exec(s.d.MigrationLock); err != nil {
				return err
			}
		}
		if _, err := t.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ns BIGINT NOT NULL)`); err != nil {
			return err
		}
		for _, name := range names {
			base := strings.TrimPrefix(name, "migrations/")
			v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: no version number", base)
			}
			var n int
			if err := t.row(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := t.exec(string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			if _, err := t.exec(`INSERT INTO schema_migrations (version, applied_ns) VALUES (?, ?)`, v, s.now().UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
}

// tx runs fn in a write transaction, run again while the dialect says a
// failure was contention (another process holding SQLite's write lock past
// the busy timeout, a PostgreSQL deadlock), so it never reaches the user.
func (s *DB) tx(ctx context.Context, fn func(tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx1(ctx, fn)
		if err == nil || s.d.Retry == nil || !s.d.Retry(err) || attempt == 20 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

func (s *DB) tx1(ctx context.Context, fn func(tx) error) error {
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx{t, s, ctx}); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}

func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *DB) CreateRun(ctx context.Context, r store.Run) (store.Run, error) {
	if r.ID == "" {
		r.ID = newID()
	}
	now := s.now()
	r.Status, r.Started, r.Heartbeat, r.Ended = store.Running, now, now, time.Time{}
	err := s.tx(ctx, func(t tx) error {
		_, err := t.exec(`INSERT INTO runs (id, name, team, user_name, status, parent, started_ns, heartbeat_ns, code_version, seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Name, r.Team, r.User, string(r.Status), r.Parent, now.UnixNano(), now.UnixNano(), r.CodeVersion, int64(r.Seed))
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(r.Inputs)) {
			if _, err := t.exec(`INSERT INTO run_inputs (run_id, name, hash) VALUES (?, ?, ?)`, r.ID, k, r.Inputs[k]); err != nil {
				return err
			}
		}
		if err := putParams(t, r.ID, r.Params); err != nil {
			return err
		}
		return putTags(t, r.ID, r.Tags)
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("create run: %w", err)
	}
	return r, nil
}

func exists(t tx, id string) (store.Status, error) {
	var st string
	err := t.row(`SELECT status FROM runs WHERE id = ?`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	return store.Status(st), err
}

// putParams inserts parameters that are new and compares those already
// there: insert-or-ignore first, so two writers racing on one key cannot
// both see it absent.
func putParams(t tx, id string, params map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if _, err := t.exec(`INSERT INTO params (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO NOTHING`, id, k, params[k]); err != nil {
			return err
		}
		var old string
		if err := t.row(`SELECT value FROM params WHERE run_id = ? AND key = ?`, id, k).Scan(&old); err != nil {
			return err
		}
		if old != params[k] {
			return &store.ParamError{Run: id, Key: k, Old: old, New: params[k]}
		}
	}
	return nil
}

func putTags(t tx, id string, tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if _, err := t.exec(`INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`, id, k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) LogParams(ctx context.Context, id string, params map[string]string) error {
	return s.tx(ctx, func(t tx) error {
		if _, err := exists(t, id); err != nil {
			return err
		}
		return putParams(t, id, params)
	})
}

func (s *DB) SetTags(ctx context.Context, id string, tags map[string]string) error {
	return s.tx(ctx, func(t tx) error {
		if _, err := exists(t, id); err != nil {
			return err
		}
		return putTags(t, id, tags)
	})
}

// metricBatch rows go in one INSERT: 5 values each, under SQLite's and
// PostgreSQL's limits on bound parameters.
const metricBatch = 200

func (s *DB) LogMetrics(ctx context.Context, id string, pts []store.Point) error {
	now := s.now().UnixNano()
	return s.tx(ctx, func(t tx) error {
		if _, err := exists(t, id); err != nil {
			return err
		}
		last := map[string]store.Point{}
		for start := 0; start < len(pts); start += metricBatch {
			chunk := pts[start:min(start+metricBatch, len(pts))]
			args := make([]any, 0, 5*len(chunk))
			for _, p := range chunk {
				ns := now
				if !p.Time.IsZero() {
					ns = p.Time.UnixNano()
				}
				args = append(args, id, p.Key, p.Step, p.Value, ns)
				if l, ok := last[p.Key]; !ok || p.Step >= l.Step {
					last[p.Key] = p
				}
			}
			vals := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?),", len(chunk)), ",")
			if _, err := t.exec(`INSERT INTO metrics (run_id, key, step, value, time_ns) VALUES `+vals, args...); err != nil {
				return err
			}
		}
		for _, k := range slices.Sorted(maps.Keys(last)) {
			p := last[k]
			_, err := t.exec(`INSERT INTO last_metrics (run_id, key, step, value) VALUES (?, ?, ?, ?)
				ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, value = excluded.value WHERE excluded.step >= last_metrics.step`, id, k, p.Step, p.Value)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *DB) Metric(ctx context.Context, id, key string) ([]store.Point, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT step, value, time_ns FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, time_ns`), id, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Point
	for rows.Next() {
		p := store.Point{Key: key}
		var ns int64
		if err := rows.Scan(&p.Step, &p.Value, &ns); err != nil {
			return nil, err
		}
		p.Time = time.Unix(0, ns)
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *DB) Heartbeat(ctx context.Context, id string) error {
	return s.tx(ctx, func(t tx) error {
		res, err := t.exec(`UPDATE runs SET heartbeat_ns = ? WHERE id = ?`, s.now().UnixNano(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("run %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

func (s *DB) Finish(ctx context.Context, id string, st store.Status) error {
	if st != store.Succeeded && st != store.Failed && st != store.Interrupted {
		return fmt.Errorf("run %s: cannot finish as %q", id, st)
	}
	return s.tx(ctx, func(t tx) error {
		cur, err := exists(t, id)
		if err != nil {
			return err
		}
		if cur != store.Running && cur != store.Queued {
			return fmt.Errorf("run %s is %s: %w", id, cur, store.ErrFinished)
		}
		_, err = t.exec(`UPDATE runs SET status = ?, ended_ns = ? WHERE id = ?`, string(st), s.now().UnixNano(), id)
		return err
	})
}

func (s *DB) MarkStale(ctx context.Context, before time.Time) ([]string, error) {
	var ids []string
	err := s.tx(ctx, func(t tx) error {
		ids = ids[:0]
		rows, err := t.query(`SELECT id FROM runs WHERE status = ? AND heartbeat_ns < ? ORDER BY id`, string(store.Running), before.UnixNano())
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := t.exec(`UPDATE runs SET status = ?, ended_ns = ? WHERE id = ? AND status = ?`, string(store.Interrupted), s.now().UnixNano(), id, string(store.Running)); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

const runCols = `r.id, r.name, r.team, r.user_name, r.status, r.parent, r.started_ns, r.ended_ns, r.heartbeat_ns, r.code_version, r.seed`

func scanRun(sc interface{ Scan(...any) error }) (store.Run, error) {
	var r store.Run
	var st string
	var started, ended, hb, seed int64
	if err := sc.Scan(&r.ID, &r.Name, &r.Team, &r.User, &st, &r.Parent, &started, &ended, &hb, &r.CodeVersion, &seed); err != nil {
		return r, err
	}
	r.Status, r.Started, r.Heartbeat, r.Seed = store.Status(st), time.Unix(0, started), time.Unix(0, hb), uint64(seed)
	if ended != 0 {
		r.Ended = time.Unix(0, ended)
	}
	return r, nil
}

func (s *DB) GetRun(ctx context.Context, id string) (store.Run, error) {
	r, err := scanRun(s.r.QueryRowContext(ctx, s.q(`SELECT `+runCols+` FROM runs r WHERE r.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return r, err
	}
	runs := []store.Run{r}
	if err := s.fill(ctx, runs); err != nil {
		return r, err
	}
	return runs[0], nil
}

// fill loads params, tags, inputs and last metrics of runs.
func (s *DB) fill(ctx context.Context, runs []store.Run) error {
	if len(runs) == 0 {
		return nil
	}
	// In slices: a statement takes only so many variables (SQLite's limit
	// is 32,766), and a listing of every run has more.
	const chunk = 500
	if len(runs) > chunk {
		for i := 0; i < len(runs); i += chunk {
			if err := s.fill(ctx, runs[i:min(i+chunk, len(runs))]); err != nil {
				return err
			}
		}
		return nil
	}
	idx := map[string]int{}
	args := make([]any, len(runs))
	for i := range runs {
		idx[runs[i].ID] = i
		args[i] = runs[i].ID
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(runs)), ",") + ")"
	strs := func(query string, set func(r *store.Run, k, v string)) error {
		rows, err := s.r.QueryContext(ctx, s.q(query+in), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				return err
			}
			set(&runs[idx[id]], k, v)
		}
		return rows.Err()
	}
	put := func(m *map[string]string, k, v string) {
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[k] = v
	}
	if err := strs(`SELECT run_id, key, value FROM params WHERE run_id IN `, func(r *store.Run, k, v string) { put(&r.Params, k, v) }); err != nil {
		return err
	}
	if err := strs(`SELECT run_id, key, value FROM tags WHERE run_id IN `, func(r *store.Run, k, v string) { put(&r.Tags, k, v) }); err != nil {
		return err
	}
	if err := strs(`SELECT run_id, name, hash FROM run_inputs WHERE run_id IN `, func(r *store.Run, k, v string) { put(&r.Inputs, k, v) }); err != nil {
		return err
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT run_id, key, value FROM last_metrics WHERE run_id IN `+in), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, k string
		var v float64
		if err := rows.Scan(&id, &k, &v); err != nil {
			return err
		}
		r := &runs[idx[id]]
		if r.Last == nil {
			r.Last = map[string]float64{}
		}
		r.Last[k] = v
	}
	return rows.Err()
}

// ListRuns answers from indexes: sorted by a metric, it walks
// last_metrics(key, value) for the runs that have the metric and only then,
// if the limit is not reached, adds the runs that lack it.
func (s *DB) ListRuns(ctx context.Context, q store.Query) ([]store.Run, error) {
	var where []string
	var args []any
	if q.Team != "" {
		where = append(where, `r.team = ?`)
		args = append(args, q.Team)
	}
	if q.Status != "" {
		where = append(where, `r.status = ?`)
		args = append(args, string(q.Status))
	}
	if q.Name != "" {
		where = append(where, `r.name = ?`)
		args = append(args, q.Name)
	}
	limit := func(n, off int) string {
		switch {
		case n > 0 && off > 0:
			return ` LIMIT ` + strconv.Itoa(n) + ` OFFSET ` + strconv.Itoa(off)
		case n > 0:
			return ` LIMIT ` + strconv.Itoa(n)
		case off > 0: // SQLite takes no OFFSET without a LIMIT, PostgreSQL no LIMIT -1
			return ` LIMIT 9223372036854775807 OFFSET ` + strconv.Itoa(off)
		}
		return ""
	}
	cond := func(extra ...string) string {
		w := append(slices.Clone(where), extra...)
		if len(w) == 0 {
			return ""
		}
		return ` WHERE ` + strings.Join(w, " AND ")
	}
	// Keyset conditions: after the cursor's run in each part's order.
	newer := func(a []any) (string, []any) {
		if q.After == nil || q.After.WithMetric {
			return "", a
		}
		return `r.started_ns <= ? AND (r.started_ns < ? OR r.id > ?)`, append(slices.Clone(a), q.After.Started, q.After.Started, q.After.ID)
	}
	var runs []store.Run
	if q.SortMetric == "" {
		c, a := newer(args)
		got, err := s.list(ctx, `SELECT `+runCols+` FROM runs r`+cond(nonEmpty(c)...)+` ORDER BY r.started_ns DESC, r.id`+limit(q.Limit, q.Offset), a)
		if err != nil {
			return nil, err
		}
		runs = got
	} else {
		dir := "ASC"
		if q.Desc {
			dir = "DESC"
		}
		withKey := slices.Concat(args, []any{q.SortMetric})
		if q.After == nil || q.After.WithMetric {
			extra, a := []string{`m.key = ?`}, withKey
			if q.After != nil {
				// value >= v first, so that the index on (key, value)
				// starts the scan there; ties after the cursor by id.
				cmp, ge := ">", ">="
				if q.Desc {
					cmp, ge = "<", "<="
				}
				extra = append(extra, `m.value `+ge+` ?`, `(m.value `+cmp+` ? OR m.run_id > ?)`)
				a = append(slices.Clone(withKey), q.After.Value, q.After.Value, q.After.ID)
			}
			got, err := s.list(ctx, `SELECT `+runCols+` FROM last_metrics m JOIN runs r ON r.id = m.run_id`+cond(extra...)+` ORDER BY m.value `+dir+`, m.run_id`+limit(q.Limit, q.Offset), a)
			if err != nil {
				return nil, err
			}
			runs = got
		}
		if q.Limit == 0 || len(runs) < q.Limit {
			rest := 0
			if q.Limit > 0 {
				rest = q.Limit - len(runs)
			}
			// The offset left for the runs without the metric: what the
			// ones with it did not use up.
			off := 0
			if q.Offset > 0 && q.After == nil {
				var with int
				if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM last_metrics m JOIN runs r ON r.id = m.run_id`+cond(`m.key = ?`)), withKey...).Scan(&with); err != nil {
					return nil, err
				}
				off = max(0, q.Offset-with)
			}
			c, a := newer(withKey)
			more, err := s.list(ctx, `SELECT `+runCols+` FROM runs r`+cond(append([]string{`NOT EXISTS (SELECT 1 FROM last_metrics m WHERE m.run_id = r.id AND m.key = ?)`}, nonEmpty(c)...)...)+` ORDER BY r.started_ns DESC, r.id`+limit(rest, off), a)
			if err != nil {
				return nil, err
			}
			runs = append(runs, more...)
		}
	}
	return runs, s.fill(ctx, runs)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func (s *DB) list(ctx context.Context, query string, args []any) ([]store.Run, error) {
	rows, err := s.r.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var runs []store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

func (s *DB) LogArtifact(ctx context.Context, id string, a store.Artifact) error {
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	return s.tx(ctx, func(t tx) error {
		if _, err := exists(t, id); err != nil {
			return err
		}
		_, err := t.exec(`INSERT INTO artifacts (run_id, name, blob, sha256, size, time_ns) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (run_id, name) DO UPDATE SET blob = excluded.blob, sha256 = excluded.sha256, size = excluded.size, time_ns = excluded.time_ns`,
			id, a.Name, a.Key, a.SHA256, a.Size, a.Time.UnixNano())
		return err
	})
}

func (s *DB) Artifacts(ctx context.Context, id string) ([]store.Artifact, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT name, blob, sha256, size, time_ns FROM artifacts WHERE run_id = ? ORDER BY name`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Artifact
	for rows.Next() {
		var a store.Artifact
		var ns int64
		if err := rows.Scan(&a.Name, &a.Key, &a.SHA256, &a.Size, &ns); err != nil {
			return nil, err
		}
		a.Time = time.Unix(0, ns)
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *DB) PutDataset(ctx context.Context, d store.Dataset) (store.Dataset, error) {
	if d.Name == "" || d.Hash == "" {
		return d, errors.New("dataset: name and hash are required")
	}
	if d.Schema == "" {
		d.Schema = "{}"
	}
	err := s.tx(ctx, func(t tx) error {
		_, err := t.exec(`INSERT INTO datasets (name, hash, source, schema, nrows, created_ns) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name, hash) DO NOTHING`,
			d.Name, d.Hash, d.Source, d.Schema, d.Rows, s.now().UnixNano())
		if err != nil {
			return err
		}
		var ns int64
		err = t.row(`SELECT source, schema, nrows, created_ns FROM datasets WHERE name = ? AND hash = ?`, d.Name, d.Hash).Scan(&d.Source, &d.Schema, &d.Rows, &ns)
		d.Created = time.Unix(0, ns)
		return err
	})
	return d, err
}

func (s *DB) DatasetVersions(ctx context.Context, name string) ([]store.Dataset, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT name, hash, source, schema, nrows, created_ns FROM datasets WHERE name = ? ORDER BY created_ns, hash`), name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Dataset
	for rows.Next() {
		var d store.Dataset
		var ns int64
		if err := rows.Scan(&d.Name, &d.Hash, &d.Source, &d.Schema, &d.Rows, &ns); err != nil {
			return nil, err
		}
		d.Created = time.Unix(0, ns)
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *DB) Register(ctx context.Context, v store.Version, alias, who, why string) (store.Registration, error) {
	return s.register(ctx, v, alias, nil, who, why)
}

func (s *DB) RegisterIf(ctx context.Context, v store.Version, alias string, from int, who, why string) (store.Registration, error) {
	return s.register(ctx, v, alias, &from, who, why)
}

func (s *DB) register(ctx context.Context, v store.Version, alias string, expect *int, who, why string) (store.Registration, error) {
	if v.Model == "" {
		return store.Registration{Version: v}, errors.New("register: model name is required")
	}
	if v.Artifact.SHA256 == "" {
		return store.Registration{Version: v}, fmt.Errorf("register %s: the artifact's sha256 is required (versions are unique by content)", v.Model)
	}
	metrics, err := json.Marshal(v.Metrics)
	if err != nil {
		return store.Registration{Version: v}, err
	}
	var reg store.Registration
	err = s.tx(ctx, func(t tx) error {
		reg = store.Registration{Version: v}
		st, err := exists(t, v.RunID)
		if err != nil {
			return err
		}
		if st != store.Succeeded {
			return fmt.Errorf("register %s: run %s is %s: %w", v.Model, v.RunID, st, store.ErrNotSucceeded)
		}
		now := s.now()
		if _, err := t.exec(`INSERT INTO models (name, created_ns, latest) VALUES (?, ?, 0) ON CONFLICT (name) DO NOTHING`, v.Model, now.UnixNano()); err != nil {
			return err
		}
		// Taking the model row's lock first (PostgreSQL; SQLite's
		// immediate transaction holds the database's) serialises
		// registrations of one model, so the lookup below sees every
		// committed one.
		if _, err := t.exec(`UPDATE models SET latest = latest WHERE name = ?`, v.Model); err != nil {
			return err
		}
		// Where the alias points now (0: nowhere yet).
		var at int64
		if alias != "" {
			err := t.row(`SELECT version FROM aliases WHERE model = ? AND alias = ?`, v.Model, alias).Scan(&at)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var have int64
		err = t.row(`SELECT version FROM version_bytes WHERE model = ? AND sha256 = ?`, v.Model, v.Artifact.SHA256).Scan(&have)
		// The caller decided against the alias's target it read; if the
		// alias moved since (and not to these very bytes), that decision
		// is stale: register, but leave the alias where it is.
		stale := alias != "" && expect != nil && at != int64(*expect) && (err != nil || have != at)
		if stale && err != nil {
			note := fmt.Sprintf("%s@%s moved to %s:%d while this run compared with %s; not moved: run again to compare with it", v.Model, alias, v.Model, at, versionOrNone(v.Model, *expect))
			v.Note = strings.TrimPrefix(v.Note+"; "+note, "; ")
		}
		switch {
		case err == nil:
			old, err := scanVersion(t.row(`SELECT `+versionCols+` FROM versions WHERE model = ? AND version = ?`, v.Model, have))
			if err != nil {
				return err
			}
			reg.Version = old
		case errors.Is(err, sql.ErrNoRows):
			if err := insertVersion(t, &v, string(metrics), now); err != nil {
				return err
			}
			reg.Version, reg.New = v, true
		default:
			return err
		}
		if stale {
			reg.Stale, reg.AliasAt = true, int(at)
			return nil
		}
		if alias == "" {
			return nil
		}
		err = moveAlias(t, v.Model, alias, reg.Version.Version, who, why, now)
		if errors.Is(err, store.ErrAliasUnchanged) {
			return nil
		}
		reg.Moved = err == nil
		return err
	})
	return reg, err
}

func versionOrNone(model string, v int) string {
	if v == 0 {
		return "no version"
	}
	return fmt.Sprintf("%s:%d", model, v)
}

func insertVersion(t tx, v *store.Version, metrics string, now time.Time) error {
	if _, err := t.exec(`UPDATE models SET latest = latest + 1 WHERE name = ?`, v.Model); err != nil {
		return err
	}
	var latest int64
	if err := t.row(`SELECT latest FROM models WHERE name = ?`, v.Model).Scan(&latest); err != nil {
		return err
	}
	v.Version, v.Created = int(latest), now
	_, err := t.exec(`INSERT INTO versions (model, version, run_id, kind, blob, sha256, size, data_hash, metrics, note, created_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.Model, v.Version, v.RunID, v.Kind, v.Artifact.Key, v.Artifact.SHA256, v.Artifact.Size, v.DataHash, metrics, v.Note, now.UnixNano())
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO version_bytes (model, sha256, version) VALUES (?, ?, ?)`, v.Model, v.Artifact.SHA256, v.Version)
	return err
}

func moveAlias(t tx, model, alias string, version int, who, why string, now time.Time) error {
	if alias == "" || strings.ContainsAny(alias, "@: ") {
		return fmt.Errorf("alias %q: want a non-empty name without '@', ':' or spaces", alias)
	}
	var n int
	if err := t.row(`SELECT COUNT(*) FROM versions WHERE model = ? AND version = ?`, model, version).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s:%d: %w", model, version, store.ErrNotFound)
	}
	var from int64
	err := t.row(`SELECT version FROM aliases WHERE model = ? AND alias = ?`, model, alias).Scan(&from)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if from == int64(version) {
		return fmt.Errorf("%s@%s is already %s:%d: %w", model, alias, model, version, store.ErrAliasUnchanged)
	}
	if _, err := t.exec(`INSERT INTO aliases (model, alias, version) VALUES (?, ?, ?) ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version`, model, alias, version); err != nil {
		return err
	}
	var seq int64
	if err := t.row(`SELECT COALESCE(MAX(seq), 0) + 1 FROM alias_audit WHERE model = ?`, model).Scan(&seq); err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO alias_audit (model, seq, alias, from_version, to_version, who, why, time_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		model, seq, alias, from, version, who, why, now.UnixNano())
	return err
}

func (s *DB) MoveAlias(ctx context.Context, model, alias string, version int, who, why string) error {
	return s.tx(ctx, func(t tx) error {
		// Lock the model row first so audit sequence numbers cannot collide.
		res, err := t.exec(`UPDATE models SET latest = latest WHERE name = ?`, model)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("model %s: %w", model, store.ErrNotFound)
		}
		return moveAlias(t, model, alias, version, who, why, s.now())
	})
}

func (s *DB) GetModel(ctx context.Context, name string) (store.Model, error) {
	ms, err := s.models(ctx, `WHERE name = ?`, name)
	if err != nil {
		return store.Model{}, err
	}
	if len(ms) == 0 {
		return store.Model{}, fmt.Errorf("model %s: %w", name, store.ErrNotFound)
	}
	return ms[0], nil
}

func (s *DB) ListModels(ctx context.Context) ([]store.Model, error) { return s.models(ctx, "") }

func (s *DB) models(ctx context.Context, where string, args ...any) ([]store.Model, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT name, created_ns, latest FROM models `+where+` ORDER BY name`), args...)
	if err != nil {
		return nil, err
	}
	var out []store.Model
	idx := map[string]int{}
	for rows.Next() {
		var m store.Model
		var ns, latest int64
		if err := rows.Scan(&m.Name, &ns, &latest); err != nil {
			rows.Close()
			return nil, err
		}
		m.Created, m.Latest = time.Unix(0, ns), int(latest)
		idx[m.Name] = len(out)
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT model, alias, version FROM aliases ORDER BY model, alias`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var m, a string
		var v int64
		if err := rows.Scan(&m, &a, &v); err != nil {
			return nil, err
		}
		if i, ok := idx[m]; ok {
			if out[i].Aliases == nil {
				out[i].Aliases = map[string]int{}
			}
			out[i].Aliases[a] = int(v)
		}
	}
	return out, rows.Err()
}

const versionCols = `model, version, run_id, kind, blob, sha256, size, data_hash, metrics, note, created_ns`

func scanVersion(sc interface{ Scan(...any) error }) (store.Version, error) {
	var v store.Version
	var version, ns int64
	var metrics string
	if err := sc.Scan(&v.Model, &version, &v.RunID, &v.Kind, &v.Artifact.Key, &v.Artifact.SHA256, &v.Artifact.Size, &v.DataHash, &metrics, &v.Note, &ns); err != nil {
		return v, err
	}
	v.Version, v.Created, v.Artifact.Name, v.Artifact.Time = int(version), time.Unix(0, ns), "model", time.Unix(0, ns)
	if err := json.Unmarshal([]byte(metrics), &v.Metrics); err != nil {
		return v, fmt.Errorf("%s:%d: metrics: %w", v.Model, v.Version, err)
	}
	return v, nil
}

func (s *DB) GetVersion(ctx context.Context, model string, version int) (store.Version, error) {
	v, err := scanVersion(s.r.QueryRowContext(ctx, s.q(`SELECT `+versionCols+` FROM versions WHERE model = ? AND version = ?`), model, version))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%s:%d: %w", model, version, store.ErrNotFound)
	}
	return v, err
}

func (s *DB) Resolve(ctx context.Context, model, alias string) (store.Version, error) {
	var version int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT version FROM aliases WHERE model = ? AND alias = ?`), model, alias).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Version{}, fmt.Errorf("%s@%s: %w", model, alias, store.ErrNotFound)
	}
	if err != nil {
		return store.Version{}, err
	}
	return s.GetVersion(ctx, model, int(version))
}

func (s *DB) Versions(ctx context.Context, model string) ([]store.Version, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+versionCols+` FROM versions WHERE model = ? ORDER BY version`), model)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *DB) History(ctx context.Context, model string) ([]store.AliasMove, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT alias, from_version, to_version, who, why, time_ns FROM alias_audit WHERE model = ? ORDER BY seq`), model)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AliasMove
	for rows.Next() {
		m := store.AliasMove{Model: model}
		var from, to, ns int64
		if err := rows.Scan(&m.Alias, &from, &to, &m.Who, &m.Why, &ns); err != nil {
			return nil, err
		}
		m.From, m.To, m.Time = int(from), int(to), time.Unix(0, ns)
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *DB) PutCache(ctx context.Context, e store.CacheEntry) error {
	return s.tx(ctx, func(t tx) error {
		st, err := exists(t, e.RunID)
		if err != nil {
			return err
		}
		if st != store.Succeeded {
			return fmt.Errorf("cache %s: run %s is %s: %w", e.Step, e.RunID, st, store.ErrNotSucceeded)
		}
		_, err = t.exec(`INSERT INTO step_cache (key, step, run_id, output, created_ns) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET step = excluded.step, run_id = excluded.run_id, output = excluded.output, created_ns = excluded.created_ns`,
			e.Key, e.Step, e.RunID, e.Output, s.now().UnixNano())
		return err
	})
}

func (s *DB) GetCache(ctx context.Context, key string) (store.CacheEntry, error) {
	e := store.CacheEntry{Key: key}
	var ns int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT step, run_id, output, created_ns FROM step_cache WHERE key = ?`), key).Scan(&e.Step, &e.RunID, &e.Output, &ns)
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("cache %s: %w", key, store.ErrNotFound)
	}
	e.Created = time.Unix(0, ns)
	return e, err
}

// MetricSample is a metric's series reduced in the database to at most
// about n points, for charts of long series: the first and the last point,
// and per equal range of steps its lowest and highest value (placed at
// the range's first and last step, within a range's width of where they
// were), so that no spike is lost and only ~n rows leave the database.
// total is the series' length. Series of at most n points come whole.
func (s *DB) MetricSample(ctx context.Context, id, key string, n int) (pts []store.Point, total int, err error) {
	var lo, hi sql.NullInt64
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT COUNT(*), MIN(step), MAX(step) FROM metrics WHERE run_id = ? AND key = ?`), id, key).Scan(&total, &lo, &hi); err != nil {
		return nil, 0, err
	}
	if total <= n || !lo.Valid || hi.Int64 == lo.Int64 {
		all, err := s.Metric(ctx, id, key)
		return all, len(all), err
	}
	buckets := max((n-2)/2, 1)
	span := hi.Int64 - lo.Int64 + 1
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT (step - ?) * ? / ? AS b, MIN(step), MAX(step), MIN(value), MAX(value)
		FROM metrics WHERE run_id = ? AND key = ? GROUP BY b ORDER BY b`), lo.Int64, buckets, span, id, key)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var b, s0, s1 int64
		var vmin, vmax float64
		if err := rows.Scan(&b, &s0, &s1, &vmin, &vmax); err != nil {
			return nil, 0, err
		}
		pts = append(pts, store.Point{Key: key, Step: s0, Value: vmin})
		if s1 != s0 {
			pts = append(pts, store.Point{Key: key, Step: s1, Value: vmax})
		}
	}
	return pts, total, rows.Err()
}
