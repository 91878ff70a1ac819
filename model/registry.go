package model

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
)

// Model is a trained model of any kind.
type Model interface {
	// Kind is the registered kind name, e.g. "baseline-mean-altitude".
	Kind() string
	// Artifact returns what to store; Load of the result gives the model back.
	Artifact() (*Artifact, error)
}

// Loader rebuilds a model of one kind from its artifact.
type Loader func(a *Artifact) (Model, error)

var (
	mu    sync.RWMutex
	kinds = map[string]Loader{}
)

// Register makes a kind loadable. Kinds register from their package's init;
// registering a name twice is a programming error.
func Register(kind string, load Loader) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[kind]; dup {
		panic("model: kind registered twice: " + kind)
	}
	kinds[kind] = load
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// FromArtifact rebuilds a model with its kind's loader.
func FromArtifact(name string, a *Artifact) (Model, error) {
	mu.RLock()
	load, ok := kinds[a.Header.Kind]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%s: unknown model kind %q (this reckon knows: %s)", name, a.Header.Kind, strings.Join(Kinds(), ", "))
	}
	m, err := load(a)
	if err != nil {
		return nil, fmt.Errorf("%s: %s model: %w", name, a.Header.Kind, err)
	}
	return m, nil
}

// Load reads, verifies and rebuilds the model at path.
func Load(path string) (Model, error) {
	_, m, err := Open(path)
	return m, err
}

// Save writes m to path atomically.
func Save(path string, m Model) error {
	a, err := m.Artifact()
	if err != nil {
		return err
	}
	a.Header.Kind = m.Kind()
	return WriteFile(path, a)
}

// Encode returns a's bytes as Write writes them, for blob stores.
func Encode(a *Artifact) ([]byte, error) {
	var b bytes.Buffer
	if err := Write(&b, a); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Ext is the model file extension every command writes and suggests.
const Ext = ".rkm"

// IsFile reports whether path is a regular file that starts like a model
// file. A directory or a CSV that happens to share a model kind's name
// (the repository's gbdt/ package) is not one.
func IsFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return false
	}
	head := make([]byte, len(magic)+1)
	if _, err := io.ReadFull(f, head); err != nil {
		return false
	}
	return string(head) == magic+" "
}

// Open reads, verifies and rebuilds the model file at path, keeping the
// artifact (its header holds the training data's hash, curves, metrics).
func Open(path string) (*Artifact, Model, error) {
	a, err := ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	m, err := FromArtifact(path, a)
	if err != nil {
		return nil, nil, err
	}
	return a, m, nil
}
