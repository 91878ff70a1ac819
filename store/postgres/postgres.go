// Package postgres is the shared tracking store: PostgreSQL through pgx's
// database/sql driver, with store/sqlstore's schema and queries (the same
// ones SQLite runs).
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/reckon-ml/reckon/store/sqlstore"
)

// migrationLock is the advisory lock two processes opening a fresh database
// at once take, so the schema is created once.
const migrationLock = `SELECT pg_advisory_xact_lock(7302215)`

// Open connects to the database at dsn (postgres://user:pass@host/db) and
// applies pending migrations.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", Redact(dsn), err)
	}
	db.SetMaxOpenConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", Redact(dsn), err)
	}
	s, err := sqlstore.New(ctx, db, db, sqlstore.Dialect{Name: "postgres", Dollar: true, Retry: retryable, MigrationLock: migrationLock})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", Redact(dsn), err)
	}
	return s, nil
}

// retryable: serialization failures and deadlocks succeed when run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Redact hides the password of a connection URL for messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://..."
	}
	return u.Redacted()
}
