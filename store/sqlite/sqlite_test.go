package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "reckon.db"))
		if err != nil {
			t.Fatal(err)
		}
		s.SetClock(clock.Now)
		return s
	})
}

// TestReopenKeepsDataAndMigrations: opening an existing file applies no
// migration twice and keeps what was written.
func TestReopenKeepsDataAndMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reckon.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.CreateRun(ctx, store.Run{Name: "kept"})
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetRun(ctx, r.ID)
	if err != nil || got.Name != "kept" {
		t.Fatalf("reopened: %+v %v", got, err)
	}
}

// TestCalibrationSixteenWriters is issue 5's target at full size (CI runs
// it without the race detector): 16 goroutines x 10,000 points.
func TestCalibrationSixteenWriters(t *testing.T) {
	if testing.Short() {
		t.Skip("full size outside -short")
	}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "reckon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.ConcurrentWriters(t, s, 16, 10000)
}

// TestCalibrationSixteenProcesses: the same target with 16 separate
// processes writing to one file (1,000 points each with -short).
func TestCalibrationSixteenProcesses(t *testing.T) {
	storetest.ConcurrentProcesses(t, opener, filepath.Join(t.TempDir(), "reckon.db"), 16, 10000)
}

func TestMain(m *testing.M) {
	storetest.WriterMain(opener)
	os.Exit(m.Run())
}

func opener(ctx context.Context, where string) (store.Store, error) { return Open(ctx, where) }

// TestConcurrentRegisterProcesses: processes registering the same bytes at
// once make one version and one audit row (issue 12: up to 12% of trials
// made 2-4 versions when the lookup and the insert were two transactions).
func TestConcurrentRegisterProcesses(t *testing.T) {
	rounds := 25
	if testing.Short() {
		rounds = 5
	}
	storetest.ConcurrentRegisterProcesses(t, opener, filepath.Join(t.TempDir(), "reckon.db"), rounds, 4)
}
