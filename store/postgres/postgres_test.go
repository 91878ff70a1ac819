package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/storetest"
)

// The tests need a PostgreSQL server: RECKON_TEST_POSTGRES is a URL of a
// role that may create databases (.ci/run starts one and sets it). Each
// store gets a database of its own, dropped afterwards.
func fresh(t *testing.T) string {
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

func open(t *testing.T, dsn string) store.Store {
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, fresh(t)) })
}

// TestCalibrationSixteenWriters is issue 5's target at full size.
func TestCalibrationSixteenWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("full size outside -short")
	}
	s := open(t, fresh(t))
	defer s.Close()
	storetest.ConcurrentWriters(t, s, 16, 10000)
}

func TestCalibrationSixteenProcesses(t *testing.T) {
	storetest.ConcurrentProcesses(t, opener, fresh(t), 16, 10000)
}

// TestMain lets the test binary act as one writer process of
// ConcurrentProcesses.
func TestMain(m *testing.M) {
	storetest.WriterMain(opener)
	os.Exit(m.Run())
}

func TestRedact(t *testing.T) {
	if got := Redact("postgres://u:secret@h/db"); got != "postgres://u:xxxxx@h/db" {
		t.Errorf("got %s", got)
	}
}

func opener(ctx context.Context, where string) (store.Store, error) { return Open(ctx, where) }
