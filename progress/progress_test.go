package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarNonTTYWritesSparseLines(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Unix(0, 0)
	b := New(&buf, "gen", 10)
	b.now = func() time.Time { return clock }
	b.start = clock
	for i := 1; i <= 10; i++ {
		clock = clock.Add(time.Second)
		b.Set(i)
	}
	b.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// One line when first due (t=1s), none in the next 10 s, then Finish.
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "1/10") || !strings.Contains(lines[0], "ETA 9s") {
		t.Errorf("first line %q", lines[0])
	}
	if !strings.Contains(lines[1], "10/10 100.0%") || !strings.Contains(lines[1], "ETA 0s") {
		t.Errorf("final line %q", lines[1])
	}
}

func TestNilWriterIsQuiet(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("a quiet bar panicked: %v", r)
		}
	}()
	b := New(nil, "x", 3)
	b.now = func() time.Time { return b.start.Add(time.Hour) } // always due
	b.Set(1)
	b.SetNote(2, "loss 0.1")
	b.Finish()
	if b.drawn != -1 || b.done != 0 || b.note != "" {
		t.Errorf("a bar without a writer drew or kept state: drawn %d, done %d, note %q", b.drawn, b.done, b.note)
	}
	var nb *Bar
	nb.Set(1)
	nb.SetNote(1, "x")
	nb.Finish()
}

func TestLine(t *testing.T) {
	got := Line("tracks", 45, 90, 9, "5s", 5*time.Second)
	want := "tracks [============            ] 45/90  50.0% 9.0/s elapsed 5s ETA 5s"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
