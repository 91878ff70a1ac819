package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "reckon.db"))
		if err != nil {
			t.Fatal(err)
		}
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
