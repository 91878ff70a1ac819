// Package sqlite is the embedded tracking store: one SQLite file under
// reckon's home (pure Go, modernc.org/sqlite), in WAL mode with a busy
// timeout and immediate write transactions, so concurrent writers from
// goroutines or processes queue instead of failing with "database is
// locked". The queries are store/sqlstore's, shared with PostgreSQL.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/reckon-ml/reckon/store/sqlstore"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Open opens (creating if needed) the store at path and applies pending
// migrations. Writes go through a pool of one connection, so this
// process's writers queue in Go rather than contend in SQLite's busy
// handler (which is not fair: under load a writer could wait out the
// timeout); other processes are covered by the busy timeout and a retry of
// transactions that still see SQLITE_BUSY.
//
// A new file is created 0600 (the store holds who ran what, and secrets a
// user may have put in parameters), whole: it is made under a temporary
// name and linked into place, so a process opening it at the same moment
// never sees a half-made (empty) file. An existing file must be a reckon
// store: an empty or foreign file is refused rather than silently made a
// new store (its history would be gone without a word). When the write-
// ahead log of an earlier process is still there (it stopped without
// closing the store, or is still running) SQLite's quick check runs before
// anything is read.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	_, walErr := os.Stat(path + "-wal")
	if err := prepare(ctx, path); err != nil {
		return nil, err
	}
	leftWAL := walErr == nil
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
	// The writer creates the file and switches it to WAL (in the
	// migration) before readers open it.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if leftWAL {
		if res, err := check(ctx, w, "quick_check"); err != nil || res != "ok" {
			if ctx.Err() != nil {
				w.Close()
				return nil, ctx.Err()
			}
			w.Close()
			if err == nil {
				err = fmt.Errorf("%s", res)
			}
			return nil, fmt.Errorf("store %s is damaged (SQLite quick_check after an unclean stop: %v); restore it from a backup, or keep a copy and try the sqlite3 .recover command", path, err)
		}
	}
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	db, err := sqlstore.New(ctx, w, r, sqlstore.Dialect{Name: "sqlite", Retry: busy,
		Integrity: func(ctx context.Context) (string, error) {
			res, err := check(ctx, r, "integrity_check")
			if err != nil && ctx.Err() == nil {
				// Damage bad enough to stop the check is its finding.
				return strings.TrimPrefix(res+"; "+err.Error(), "; "), nil
			}
			return res, err
		}})
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return db, nil
}

// prepare creates a missing store, and refuses an existing file that
// cannot be one: empty, not SQLite, not a file, another program's database.
func prepare(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return create(ctx, path)
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("store %s is not a file", path)
	}
	if fi.Size() == 0 {
		return fmt.Errorf("store %s is an empty file (0 bytes), not a reckon store: if it held your runs and models, restore it from a backup; to start a new store, move it aside (mv %s %s.empty) and run the command again", path, path, path)
	}
	head := make([]byte, 16)
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	defer f.Close()
	if _, err := io.ReadFull(f, head); err != nil || string(head) != "SQLite format 3\x00" {
		return fmt.Errorf("store %s is not a SQLite database (it starts %q): give another --store, or move the file aside to start a new store", path, printable(head))
	}
	// Read-only and without the pragmas: switching someone else's
	// database to WAL would already change it.
	return isReckon(ctx, path)
}

// create makes a store with reckon's schema under a temporary name and
// links it to path; losing the race to another process is not an error.
func create(ctx context.Context, path string) error {
	tmp := fmt.Sprintf("%s.new-%d", path, os.Getpid())
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	f.Close()
	defer os.Remove(tmp)
	db, err := sql.Open("sqlite", "file:"+tmp)
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	s, err := sqlstore.New(ctx, db, db, sqlstore.Dialect{Name: "sqlite"})
	if err != nil {
		db.Close()
		return fmt.Errorf("store %s: creating: %w", path, err)
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("store %s: creating: %w", path, err)
	}
	err = os.Link(tmp, path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		// A file system without hard links: rename, which cannot refuse
		// to replace, only if the name is still free.
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			err = os.Rename(tmp, path)
		}
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("store %s: %w", path, err)
	}
	return nil
}

// isReckon refuses an existing SQLite database that reckon did not make:
// migrating it would add reckon's tables to someone else's database.
func isReckon(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(30000)")
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	defer db.Close()
	var tables, ours int
	err = db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(*) FILTER (WHERE name = 'schema_migrations') FROM sqlite_master WHERE type = 'table'`).Scan(&tables, &ours)
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	if tables > 0 && ours == 0 {
		return fmt.Errorf("store %s is a SQLite database of something else (%d tables, none of reckon's): give another --store", path, tables)
	}
	return nil
}

func printable(b []byte) string {
	out := []rune{}
	for _, c := range b {
		if c < 32 || c > 126 {
			c = '.'
		}
		out = append(out, rune(c))
	}
	return string(out)
}

// check runs PRAGMA integrity_check or quick_check: "ok" or the first
// problems found.
func check(ctx context.Context, db *sql.DB, pragma string) (string, error) {
	rows, err := db.QueryContext(ctx, "PRAGMA "+pragma+"(20)")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return "", err
		}
		lines = append(lines, l)
	}
	return strings.Join(lines, "; "), rows.Err()
}

func busy(err error) bool {
	m := err.Error()
	return strings.Contains(m, "SQLITE_BUSY") || strings.Contains(m, "database is locked")
}
