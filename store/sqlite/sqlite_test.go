package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// TestRefusesWhatIsNotAStore: an empty, foreign or non-SQLite file is
// refused and left as it was (issue 12: `truncate -s 0 reckon.db` made the
// next command start a new store, the registry's history gone).
func TestRefusesWhatIsNotAStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	db, err := sql.Open("sqlite", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE patients (id TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, c := range []struct {
		name, content, want string
	}{
		{"empty.db", "", "empty file (0 bytes)"},
		{"notes.db", "my notes, not a database\n", "not a SQLite database"},
		{"foreign.db", "", "something else"},
	} {
		path := filepath.Join(dir, c.name)
		if c.name != "foreign.db" {
			os.WriteFile(path, []byte(c.content), 0o600)
		}
		before, _ := os.ReadFile(path)
		s, err := Open(ctx, path)
		if err == nil {
			s.Close()
			t.Errorf("%s: opened", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want it to name the file and say %q", c.name, err, c.want)
		}
		if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
			t.Errorf("%s: changed by the refused open", c.name)
		}
	}
}

// TestPrivateFile: the store file is 0600 whatever the umask (issue 12:
// reckon.db was world-readable under the default umask).
func TestPrivateFile(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "reckon.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRun(context.Background(), store.Run{Name: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want 0600", p, fi.Mode(), err)
		}
	}
	s.Close()
}

// TestDamageFoundAfterUncleanStop: when an earlier process left its
// write-ahead log behind, a damaged page is found at open (quick_check)
// and named; IntegrityCheck finds it on any open.
func TestDamageFoundAfterUncleanStop(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "reckon.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		r, err := s.CreateRun(ctx, store.Run{Name: fmt.Sprint("run", i), Params: map[string]string{"lr": strings.Repeat("x", 200)}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.LogMetrics(ctx, r.ID, []store.Point{{Key: "loss", Value: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := s.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("a healthy store: %q %v", res, err)
	}
	s.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	if len(data) < 8*page {
		t.Fatalf("store only %d bytes", len(data))
	}
	// Page 5's b-tree header: an invalid page type.
	data[4*page] = 0x55
	os.WriteFile(path, data, 0o600)
	os.WriteFile(path+"-wal", nil, 0o600) // as a killed process leaves it
	if s, err := Open(ctx, path); err == nil {
		s.Close()
		t.Fatal("a damaged store opened after an unclean stop")
	} else if !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), path) {
		t.Errorf("damaged store: %v", err)
	}
	os.Remove(path + "-wal")
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("without a left-over log the open does not check: %v", err)
	}
	defer s.Close()
	if res, err := s.IntegrityCheck(ctx); err != nil || res == "ok" {
		t.Errorf("integrity check of a damaged store: %q %v", res, err)
	}
}

// TestConcurrentSubmitProcesses: submitters in separate processes each
// get their own job ids (issue 13).
func TestConcurrentSubmitProcesses(t *testing.T) {
	storetest.ConcurrentSubmitProcesses(t, opener, filepath.Join(t.TempDir(), "reckon.db"), 4, 25)
}
