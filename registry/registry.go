package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/store"
)

// Ref names a registered version: Alias set (NAME@alias), Version set
// (NAME:VERSION), or neither (NAME: the latest version).
type Ref struct {
	Name    string
	Alias   string
	Version int
}

// ParseRef reads NAME, NAME@alias or NAME:VERSION.
func ParseRef(s string) (Ref, error) {
	if n, al, ok := strings.Cut(s, "@"); ok {
		if n == "" || al == "" {
			return Ref{}, fmt.Errorf("%q: want NAME@alias", s)
		}
		return Ref{Name: n, Alias: al}, nil
	}
	if n, v, ok := strings.Cut(s, ":"); ok {
		ver, err := strconv.Atoi(v)
		if err != nil || ver < 1 || n == "" {
			return Ref{}, fmt.Errorf("%q: want NAME:VERSION with a version number >= 1", s)
		}
		return Ref{Name: n, Version: ver}, nil
	}
	if s == "" {
		return Ref{}, errors.New("empty model reference: want NAME, NAME@alias or NAME:VERSION")
	}
	return Ref{Name: s}, nil
}

// String writes the reference as ParseRef reads it.
func (r Ref) String() string {
	switch {
	case r.Alias != "":
		return r.Name + "@" + r.Alias
	case r.Version > 0:
		return r.Name + ":" + strconv.Itoa(r.Version)
	}
	return r.Name
}

// Exact says whether r names one version for good (NAME:VERSION), as an
// audited alias move needs: an alias or "the latest" can move under it.
func (r Ref) Exact() error {
	if r.Alias != "" || r.Version == 0 {
		return fmt.Errorf("%q: want NAME:VERSION, an exact version", r)
	}
	return nil
}

// Resolve returns the version r names; a bare name is the latest version.
// Unknown models, aliases and versions wrap store.ErrNotFound.
func Resolve(ctx context.Context, reg store.Registry, r Ref) (store.Version, error) {
	switch {
	case r.Alias != "":
		return reg.Resolve(ctx, r.Name, r.Alias)
	case r.Version > 0:
		return reg.GetVersion(ctx, r.Name, r.Version)
	}
	m, err := reg.GetModel(ctx, r.Name)
	if err != nil {
		return store.Version{}, err
	}
	return reg.GetVersion(ctx, r.Name, m.Latest)
}

// Label is how a registered version is named in messages, predictions
// files and manifests.
func Label(v store.Version) string { return fmt.Sprintf("%s:%d", v.Model, v.Version) }

// Blobs is what loading and saving need of a blob store (*blobs.Bucket).
type Blobs interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, data []byte) (blobs.Ref, error)
}

// Loaded is a model with the artifact it was built from.
type Loaded struct {
	// Label names it: a file's base name, or NAME:VERSION.
	Label    string
	Artifact *model.Artifact
	Model    model.Model
	// Version is the registered version, nil for a model file.
	Version *store.Version
}

// ReadBlob reads and verifies the artifact stored under key without
// building a model: for artifacts that are not models, such as training
// checkpoints. label names it in messages.
func ReadBlob(ctx context.Context, b Blobs, key, label string) (*model.Artifact, error) {
	data, err := b.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	return model.Read(label, bytes.NewReader(data))
}

// LoadBlob reads the artifact stored under key, verifies it and builds its
// model; label names it in messages.
func LoadBlob(ctx context.Context, b Blobs, key, label string) (*Loaded, error) {
	a, err := ReadBlob(ctx, b, key, label)
	if err != nil {
		return nil, err
	}
	m, err := model.FromArtifact(label, a)
	if err != nil {
		return nil, err
	}
	return &Loaded{Label: label, Artifact: a, Model: m}, nil
}

// LoadVersion loads a registered version's model.
func LoadVersion(ctx context.Context, b Blobs, v store.Version) (*Loaded, error) {
	l, err := LoadBlob(ctx, b, v.Artifact.Key, Label(v))
	if err != nil {
		return nil, err
	}
	l.Version = &v
	return l, nil
}

// LoadBytes loads version v's model from its file's bytes (fetched by a
// client from a server).
func LoadBytes(b []byte, v store.Version) (*Loaded, error) {
	label := Label(v)
	a, err := model.Read(label, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	m, err := model.FromArtifact(label, a)
	if err != nil {
		return nil, err
	}
	return &Loaded{Label: label, Artifact: a, Model: m, Version: &v}, nil
}

// Load resolves r and loads the version's model.
func Load(ctx context.Context, reg store.Registry, b Blobs, r Ref) (*Loaded, error) {
	v, err := Resolve(ctx, reg, r)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) && r.Alias == "" && r.Version == 0 {
			return nil, fmt.Errorf("%q is neither a model file nor a registered model (see reckon models ls): %w", r.Name, err)
		}
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	return LoadVersion(ctx, b, v)
}

// LoadFile loads a model file.
func LoadFile(path string) (*Loaded, error) {
	a, m, err := model.Open(path)
	if err != nil {
		return nil, err
	}
	return &Loaded{Label: filepath.Base(path), Artifact: a, Model: m}, nil
}

// IsFile says whether a --model argument names a model file rather than a
// registered model: a regular file, or anything written as a path or with
// the model file extension. A directory of the same name (examples/tumor
// beside a model tumor) does not count. Only the other case needs the
// tracking store.
func IsFile(s string) bool {
	if st, err := os.Stat(s); err == nil && st.Mode().IsRegular() {
		return true
	}
	return strings.ContainsAny(s, `/\`) || strings.HasSuffix(s, model.Ext)
}

// Save stores an artifact in the blob store under its content key.
func Save(ctx context.Context, b Blobs, a *model.Artifact) (blobs.Ref, error) {
	data, err := model.Encode(a)
	if err != nil {
		return blobs.Ref{}, err
	}
	return b.Put(ctx, data)
}

// Artifact is a saved model as a registered version records it.
func Artifact(ref blobs.Ref) store.Artifact {
	return store.Artifact{Name: "model", Key: ref.Key, SHA256: ref.SHA256, Size: ref.Size}
}

// AliasesOf lists, sorted, the aliases of m that point at version.
func AliasesOf(m store.Model, version int) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m.Aliases)) {
		if m.Aliases[k] == version {
			out = append(out, k)
		}
	}
	return out
}

// Described is a registered version with the aliases that point at it and
// the state of its artifact in the blob store.
type Described struct {
	store.Version
	Aliases []string `json:"aliases"`
	// Intact: the artifact's blob is present and matches its sha256.
	Intact bool `json:"artifact_intact"`
	// Problem says why not ("" when intact).
	Problem string `json:"artifact_problem,omitempty"`
}

// Describe resolves r, lists the version's aliases and verifies its
// artifact (a damaged champion is reported here, not first by predict).
func Describe(ctx context.Context, reg store.Registry, b Blobs, r Ref) (Described, error) {
	v, err := Resolve(ctx, reg, r)
	if err != nil {
		return Described{}, err
	}
	m, err := reg.GetModel(ctx, r.Name)
	if err != nil {
		return Described{}, err
	}
	d := Described{Version: v, Aliases: AliasesOf(m, v.Version), Intact: true}
	if _, err := b.Get(ctx, v.Artifact.Key); err != nil {
		if ctx.Err() != nil {
			return d, err
		}
		d.Intact, d.Problem = false, err.Error()
	}
	return d, nil
}

// Promote points alias at the version r names exactly (NAME:VERSION: a
// moving reference would make the audit log ambiguous), audited with who
// and why; why must say something.
func Promote(ctx context.Context, reg store.Registry, r Ref, alias, who, why string) error {
	if err := r.Exact(); err != nil {
		return fmt.Errorf("promote: %w", err)
	}
	if alias == "" || strings.TrimSpace(why) == "" {
		return errors.New("an alias and a reason are required: every alias move is audited with why")
	}
	return reg.MoveAlias(ctx, r.Name, alias, r.Version, who, why)
}
