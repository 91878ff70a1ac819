// Package pgtest gives tests a fresh PostgreSQL database of their own on
// the server named by RECKON_TEST_POSTGRES (a role that may create
// databases; .ci/run starts a private server and sets it). Without it the
// tests skip, or fail when RECKON_REQUIRE_POSTGRES is set.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// Fresh creates an empty database, dropped when the test ends, and returns
// its URL.
func Fresh(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("RECKON_TEST_POSTGRES")
	if admin == "" {
		if os.Getenv("RECKON_REQUIRE_POSTGRES") != "" {
			t.Fatal("RECKON_REQUIRE_POSTGRES is set but RECKON_TEST_POSTGRES is not")
		}
		t.Skip("RECKON_TEST_POSTGRES is not set (e.g. postgres://postgres:pw@127.0.0.1:5432/postgres?sslmode=disable); .ci/run starts a server and sets it")
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "reckon_test_" + hex.EncodeToString(b)
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("creating a test database: %v", err)
	}
	t.Cleanup(func() {
		db.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`)
		db.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
