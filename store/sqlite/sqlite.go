// Package sqlite is the embedded tracking store: one SQLite file under
// reckon's home (pure Go, modernc.org/sqlite), in WAL mode with a busy
// timeout and immediate write transactions, so concurrent writers from
// goroutines or processes queue instead of failing with "database is
// locked".
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/reckon-ml/reckon/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a store.Store on one SQLite file. Writes go through a pool of one
// connection, so this process's writers queue in Go rather than contend in
// SQLite's busy handler (which is not fair: under load a writer could wait
// out the timeout); other processes are covered by the busy timeout and a
// retry of transactions that still see SQLITE_BUSY.
type DB struct {
	db  *sql.DB // readers
	w   *sql.DB // the writer
	now func() time.Time
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the store at path and applies pending
// migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	w, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	s := &DB{w: w, now: time.Now}
	// The writer creates the file and switches it to WAL before readers
	// open it.
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if s.db, err = sql.Open("sqlite", dsn); err != nil {
		w.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return s, nil
}

// Close closes the database.
func (s *DB) Close() error { return errors.Join(s.db.Close(), s.w.Close()) }

// migrate applies the embedded migrations not yet recorded, each in its own
// transaction. Twenty lines do what a migration library would, without a
// dependency that brings every database driver along.
func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ns INTEGER NOT NULL)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: no version number", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_ns) VALUES (?, ?)`, v, s.now().UnixNano())
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// tx runs fn in a write transaction, retried while another process holds
// the write lock past the busy timeout.
func (s *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.tx1(ctx, fn)
		if err == nil || !busy(err) || attempt == 20 {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

func (s *DB) tx1(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func busy(err error) bool {
	m := err.Error()
	return strings.Contains(m, "SQLITE_BUSY") || strings.Contains(m, "database is locked")
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
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO runs (id, name, team, user_name, status, started_ns, heartbeat_ns, code_version, seed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Name, r.Team, r.User, r.Status, now.UnixNano(), now.UnixNano(), r.CodeVersion, int64(r.Seed))
		if err != nil {
			return err
		}
		if err := putParams(ctx, tx, r.ID, r.Params); err != nil {
			return err
		}
		return putTags(ctx, tx, r.ID, r.Tags)
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("create run: %w", err)
	}
	return r, nil
}

func exists(ctx context.Context, tx *sql.Tx, id string) (store.Status, error) {
	var st string
	err := tx.QueryRowContext(ctx, `SELECT status FROM runs WHERE id = ?`, id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	return store.Status(st), err
}

func putParams(ctx context.Context, tx *sql.Tx, id string, params map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT value FROM params WHERE run_id = ? AND key = ?`, id, k).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO params (run_id, key, value) VALUES (?, ?, ?)`, id, k, params[k]); err != nil {
				return err
			}
		case err != nil:
			return err
		case old != params[k]:
			return &store.ParamError{Run: id, Key: k, Old: old, New: params[k]}
		}
	}
	return nil
}

func putTags(ctx context.Context, tx *sql.Tx, id string, tags map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`, id, k, tags[k]); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) LogParams(ctx context.Context, id string, params map[string]string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := exists(ctx, tx, id); err != nil {
			return err
		}
		return putParams(ctx, tx, id, params)
	})
}

func (s *DB) SetTags(ctx context.Context, id string, tags map[string]string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := exists(ctx, tx, id); err != nil {
			return err
		}
		return putTags(ctx, tx, id, tags)
	})
}

func (s *DB) LogMetrics(ctx context.Context, id string, pts []store.Point) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := exists(ctx, tx, id); err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO metrics (run_id, key, step, value, time_ns) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		last := map[string]store.Point{}
		for _, p := range pts {
			t := p.Time
			if t.IsZero() {
				t = s.now()
			}
			if _, err := ins.ExecContext(ctx, id, p.Key, p.Step, p.Value, t.UnixNano()); err != nil {
				return err
			}
			if l, ok := last[p.Key]; !ok || p.Step >= l.Step {
				last[p.Key] = p
			}
		}
		for k, p := range last {
			_, err := tx.ExecContext(ctx, `INSERT INTO last_metrics (run_id, key, step, value) VALUES (?, ?, ?, ?)
				ON CONFLICT (run_id, key) DO UPDATE SET step = excluded.step, value = excluded.value WHERE excluded.step >= last_metrics.step`, id, k, p.Step, p.Value)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *DB) Metric(ctx context.Context, id, key string) ([]store.Point, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT step, value, time_ns FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, rowid`, id, key)
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
	res, err := s.w.ExecContext(ctx, `UPDATE runs SET heartbeat_ns = ? WHERE id = ?`, s.now().UnixNano(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("run %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func (s *DB) Finish(ctx context.Context, id string, st store.Status) error {
	if st != store.Succeeded && st != store.Failed && st != store.Interrupted {
		return fmt.Errorf("run %s: cannot finish as %q", id, st)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		cur, err := exists(ctx, tx, id)
		if err != nil {
			return err
		}
		if cur != store.Running && cur != store.Queued {
			return fmt.Errorf("run %s is %s: %w", id, cur, store.ErrFinished)
		}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended_ns = ? WHERE id = ?`, st, s.now().UnixNano(), id)
		return err
	})
}

func (s *DB) MarkStale(ctx context.Context, before time.Time) ([]string, error) {
	var ids []string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM runs WHERE status = ? AND heartbeat_ns < ?`, store.Running, before.UnixNano())
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
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE runs SET status = ?, ended_ns = ? WHERE id = ?`, store.Interrupted, s.now().UnixNano(), id); err != nil {
				return err
			}
		}
		return nil
	})
	return ids, err
}

const runCols = `r.id, r.name, r.team, r.user_name, r.status, r.started_ns, r.ended_ns, r.heartbeat_ns, r.code_version, r.seed`

func scanRun(sc interface{ Scan(...any) error }) (store.Run, error) {
	var r store.Run
	var st string
	var started, ended, hb, seed int64
	if err := sc.Scan(&r.ID, &r.Name, &r.Team, &r.User, &st, &started, &ended, &hb, &r.CodeVersion, &seed); err != nil {
		return r, err
	}
	r.Status, r.Started, r.Heartbeat, r.Seed = store.Status(st), time.Unix(0, started), time.Unix(0, hb), uint64(seed)
	if ended != 0 {
		r.Ended = time.Unix(0, ended)
	}
	return r, nil
}

func (s *DB) GetRun(ctx context.Context, id string) (store.Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runCols+` FROM runs r WHERE r.id = ?`, id))
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

// fill loads params, tags and last metrics of runs.
func (s *DB) fill(ctx context.Context, runs []store.Run) error {
	if len(runs) == 0 {
		return nil
	}
	idx := map[string]int{}
	args := make([]any, len(runs))
	for i := range runs {
		idx[runs[i].ID] = i
		args[i] = runs[i].ID
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(runs)), ",") + ")"
	load := func(q string, set func(r *store.Run, k string, v any)) error {
		rows, err := s.db.QueryContext(ctx, q+in, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, k string
			var v any
			if err := rows.Scan(&id, &k, &v); err != nil {
				return err
			}
			set(&runs[idx[id]], k, v)
		}
		return rows.Err()
	}
	if err := load(`SELECT run_id, key, value FROM params WHERE run_id IN `, func(r *store.Run, k string, v any) {
		if r.Params == nil {
			r.Params = map[string]string{}
		}
		r.Params[k] = fmt.Sprint(v)
	}); err != nil {
		return err
	}
	if err := load(`SELECT run_id, key, value FROM tags WHERE run_id IN `, func(r *store.Run, k string, v any) {
		if r.Tags == nil {
			r.Tags = map[string]string{}
		}
		r.Tags[k] = fmt.Sprint(v)
	}); err != nil {
		return err
	}
	return load(`SELECT run_id, key, value FROM last_metrics WHERE run_id IN `, func(r *store.Run, k string, v any) {
		if r.Last == nil {
			r.Last = map[string]float64{}
		}
		f, _ := v.(float64)
		r.Last[k] = f
	})
}

func (s *DB) ListRuns(ctx context.Context, q store.Query) ([]store.Run, error) {
	var where []string
	var args []any
	from := `FROM runs r`
	order := `r.started_ns DESC, r.id`
	if q.SortMetric != "" {
		from += ` LEFT JOIN last_metrics m ON m.run_id = r.id AND m.key = ?`
		args = append(args, q.SortMetric)
		dir := "ASC"
		if q.Desc {
			dir = "DESC"
		}
		order = `m.value IS NULL, m.value ` + dir + `, r.id`
	}
	if q.Team != "" {
		where = append(where, `r.team = ?`)
		args = append(args, q.Team)
	}
	if q.Status != "" {
		where = append(where, `r.status = ?`)
		args = append(args, q.Status)
	}
	sqlText := `SELECT ` + runCols + ` ` + from
	if len(where) > 0 {
		sqlText += ` WHERE ` + strings.Join(where, " AND ")
	}
	sqlText += ` ORDER BY ` + order
	if q.Limit > 0 {
		sqlText += ` LIMIT ` + strconv.Itoa(q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	var runs []store.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return runs, s.fill(ctx, runs)
}
