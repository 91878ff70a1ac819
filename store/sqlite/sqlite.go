// Package sqlite is the embedded tracking store: one SQLite file under
// reckon's home (pure Go, modernc.org/sqlite), in WAL mode with a busy
// timeout and immediate write transactions, so concurrent writers from
// goroutines or processes queue instead of failing with "database is
// locked". The queries are store/sqlstore's, shared with PostgreSQL.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
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
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
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
	r, err := sql.Open("sqlite", dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	db, err := sqlstore.New(ctx, w, r, sqlstore.Dialect{Name: "sqlite", Retry: busy})
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return db, nil
}

func busy(err error) bool {
	m := err.Error()
	return strings.Contains(m, "SQLITE_BUSY") || strings.Contains(m, "database is locked")
}
