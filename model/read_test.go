package model

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// endless is /dev/zero: it never ends.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	clear(p)
	e.n += int64(len(p))
	return len(p), nil
}

// TestReadIsBounded: a file that is not a model is refused after its first
// bytes (issue 12: eval --model /dev/zero read gigabytes first).
func TestReadIsBounded(t *testing.T) {
	z := &endless{}
	if _, err := Read("/dev/zero", z); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "not a reckon model file") {
		t.Errorf("zeros: %v", err)
	}
	if z.n > 4096 {
		t.Errorf("read %d bytes of an endless stream", z.n)
	}
	// A valid preamble promising little, followed by an endless stream:
	// no more than promised (+1) is read.
	z = &endless{}
	_, err := Read("lying", io.MultiReader(strings.NewReader(magic+" 1 10 8\n"), z))
	if !errors.Is(err, ErrCorrupt) || z.n > 8192 {
		t.Errorf("a preamble followed by zeros: %v after %d bytes", err, z.n)
	}
}
