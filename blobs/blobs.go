// Package blobs keeps run artifacts (models, checkpoints, logs, step
// outputs) in a bucket: a local directory by
// default, s3:// for S3-compatible storage shared by several machines.
// Blobs are addressed by content (sha256), so writing one twice is free,
// a key never changes meaning, and a reader can verify what it got.
package blobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/reckon-ml/reckon/atomicfile"
)

// Ref is a stored blob.
type Ref struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Bucket is a content-addressed blob store.
type Bucket struct {
	s   store
	url string
}

// store is where a bucket's bytes live: a directory or an S3 bucket.
// get returns ErrMissing for a key it does not hold.
type store interface {
	put(ctx context.Context, key string, data []byte) error
	get(ctx context.Context, key string) ([]byte, error)
	list(ctx context.Context, prefix string) ([]string, error)
}

// Open opens a bucket: a directory path (created if missing), file:///dir,
// or s3://bucket?endpoint=http://host:port&region=R&use_path_style=true
// (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else
// ~/.aws/credentials).
func Open(_ context.Context, where string) (*Bucket, error) {
	if dir, ok := strings.CutPrefix(where, "file://"); ok {
		where = dir
	}
	if !strings.Contains(where, "://") {
		dir, err := filepath.Abs(where)
		if err != nil {
			return nil, err
		}
		// Models and data are the user's alone, whatever the umask:
		// directories 0700, files 0600 (os.CreateTemp's mode).
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("blobs %s: %w", where, err)
		}
		return &Bucket{s: dirStore(dir), url: dir}, nil
	}
	u, err := url.Parse(where)
	if err != nil {
		return nil, fmt.Errorf("blobs %s: %w", redact(where), err)
	}
	if u.Scheme != "s3" {
		return nil, fmt.Errorf("blobs %s: unknown scheme %q: give a directory or s3://BUCKET?PARAMS", redact(where), u.Scheme)
	}
	s, err := openS3(u)
	if err != nil {
		return nil, fmt.Errorf("blobs %s: %w", redact(where), err)
	}
	return &Bucket{s: s, url: redact(where)}, nil
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// String names the bucket for messages.
func (b *Bucket) String() string { return b.url }

// Close releases the bucket (nothing is held open between requests).
func (b *Bucket) Close() error { return nil }

// Key is where content with this sha256 (hex) lives.
func Key(sum string) string { return "sha256/" + sum[:2] + "/" + sum }

// Put stores data under its content key. A blob already there is read and
// compared first: intact, nothing is written; missing or damaged, it is
// (re)written, so writing the same bytes again heals a damaged copy. The
// write is atomic: a reader sees the whole blob or none (a directory
// gets a finished temporary file renamed; S3 makes an object visible when
// its upload completes).
func (b *Bucket) Put(ctx context.Context, data []byte) (Ref, error) {
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	ref := Ref{Key: Key(sum), SHA256: sum, Size: int64(len(data))}
	if have, err := b.read(ctx, ref.Key); err == nil && bytes.Equal(have, data) {
		return ref, nil
	}
	if err := b.s.put(ctx, ref.Key, data); err != nil {
		return ref, fmt.Errorf("blobs %s: writing %s: %w", b.url, ref.Key, err)
	}
	return ref, nil
}

// ErrMissing is returned for a key the bucket does not hold.
var ErrMissing = errors.New("blob missing")

// ErrDamaged is returned for a blob whose content does not match its key.
var ErrDamaged = errors.New("blob damaged: its content does not match its sha256")

// Get reads a blob and checks it against its content key.
func (b *Bucket) Get(ctx context.Context, key string) ([]byte, error) {
	data, err := b.read(ctx, key)
	if err != nil {
		return nil, err
	}
	if sum, ok := strings.CutPrefix(key, "sha256/"); ok {
		sum = sum[strings.LastIndexByte(sum, '/')+1:]
		h := sha256.Sum256(data)
		if hex.EncodeToString(h[:]) != sum {
			return nil, fmt.Errorf("blobs %s: %s: %w", b.url, key, ErrDamaged)
		}
	}
	return data, nil
}

// Check reads a blob and verifies it: nil, or an error wrapping ErrMissing
// or ErrDamaged (or the bucket's own).
func (b *Bucket) Check(ctx context.Context, key string) error {
	_, err := b.Get(ctx, key)
	return err
}

func (b *Bucket) read(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, fmt.Errorf("blobs %s: %w", b.url, err)
	}
	data, err := b.s.get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("blobs %s: %s: %w", b.url, key, err)
	}
	return data, nil
}

// PutAt stores data under a name of the caller's (not its content): the
// outputs a job's pods leave for their submitter (batch.Upload). Like Put,
// the write is atomic.
func (b *Bucket) PutAt(ctx context.Context, key string, data []byte) error {
	if strings.HasPrefix(key, "sha256/") {
		return fmt.Errorf("blobs %s: %s: names under sha256/ are content keys (use Put)", b.url, key)
	}
	if err := checkKey(key); err != nil {
		return fmt.Errorf("blobs %s: %w", b.url, err)
	}
	if err := b.s.put(ctx, key, data); err != nil {
		return fmt.Errorf("blobs %s: writing %s: %w", b.url, key, err)
	}
	return nil
}

// List is the keys under prefix, in order.
func (b *Bucket) List(ctx context.Context, prefix string) ([]string, error) {
	keys, err := b.s.list(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("blobs %s: listing %s: %w", b.url, prefix, err)
	}
	return keys, nil
}

// checkKey refuses a name that is not a clean relative slash path, so no
// key reaches outside a directory bucket or means two things.
func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || path.Clean(key) != key || key == ".." || strings.HasPrefix(key, "../") || strings.Contains(key, "\\") {
		return fmt.Errorf("%q is not a blob name: want a relative slash path without . or .. parts", key)
	}
	return nil
}

// dirStore keeps each key as a file under a directory, written atomically
// (atomicfile), directories 0700 and files 0600.
type dirStore string

func (d dirStore) put(_ context.Context, key string, data []byte) error {
	p := filepath.Join(string(d), filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(p, data)
}

func (d dirStore) get(_ context.Context, key string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(string(d), filepath.FromSlash(key)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrMissing
	}
	return data, err
}

// list walks the directory; the temporary files of writes under way
// (atomicfile's .NAME.tmp-*) are not keys.
func (d dirStore) list(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	root := string(d)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		key := filepath.ToSlash(rel)
		if e.IsDir() {
			// Skip directories that cannot hold a key under prefix.
			if key != "." && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(key, prefix) && !(strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), ".tmp-")) {
			keys = append(keys, key)
		}
		return nil
	})
	sort.Strings(keys)
	return keys, err
}
