package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/postgres/pgtest"
	"github.com/reckon-ml/reckon/store/storetest"
)

func fresh(t *testing.T) string { return pgtest.Fresh(t) }

func open(t *testing.T, dsn string) store.Store {
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		s, err := Open(context.Background(), fresh(t))
		if err != nil {
			t.Fatal(err)
		}
		s.SetClock(clock.Now)
		return s
	})
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

// TestConcurrentRegisterProcesses: processes registering the same bytes at
// once make one version and one audit row (issue 12: up to 45% of trials
// made 2-4 versions when the lookup and the insert were two transactions).
func TestConcurrentRegisterProcesses(t *testing.T) {
	rounds := 25
	if testing.Short() {
		rounds = 5
	}
	storetest.ConcurrentRegisterProcesses(t, opener, fresh(t), rounds, 4)
}

// TestConcurrentSubmitProcesses: submitters in separate processes each
// get their own job ids (issue 13).
func TestConcurrentSubmitProcesses(t *testing.T) {
	storetest.ConcurrentSubmitProcesses(t, opener, fresh(t), 4, 25)
}
