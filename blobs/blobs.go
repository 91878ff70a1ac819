// Package blobs keeps run artifacts (models, checkpoints, logs, step
// outputs) in a bucket through gocloud.dev/blob: a local directory by
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
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob" // registers s3://
	"gocloud.dev/gcerrors"
)

// Ref is a stored blob.
type Ref struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Bucket is a content-addressed blob store.
type Bucket struct {
	b   *blob.Bucket
	url string
	dir string // the directory of a local bucket, "" for S3
}

// Open opens a bucket: a directory path (created if missing), file:///dir,
// or s3://bucket?endpoint=http://host:port&region=R&use_path_style=true
// (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
func Open(ctx context.Context, where string) (*Bucket, error) {
	if !strings.Contains(where, "://") {
		dir, err := filepath.Abs(where)
		if err != nil {
			return nil, err
		}
		// Models and data are the user's alone, whatever the umask:
		// directories 0700, files 0600 (set after each write: fileblob
		// creates them 0666 less the umask).
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("blobs %s: %w", where, err)
		}
		// No sidecar attribute files: the blobs are plain files a user can
		// copy; metadata lives in the tracking store.
		b, err := fileblob.OpenBucket(dir, &fileblob.Options{Metadata: fileblob.MetadataDontWrite, DirFileMode: 0o700})
		if err != nil {
			return nil, fmt.Errorf("blobs %s: %w", where, err)
		}
		return &Bucket{b: b, url: dir, dir: dir}, nil
	}
	b, err := blob.OpenBucket(ctx, where)
	if err != nil {
		return nil, fmt.Errorf("blobs %s: %w", redact(where), err)
	}
	return &Bucket{b: b, url: redact(where)}, nil
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

// Close releases the bucket.
func (b *Bucket) Close() error { return b.b.Close() }

// Key is where content with this sha256 (hex) lives.
func Key(sum string) string { return "sha256/" + sum[:2] + "/" + sum }

// Put stores data under its content key. A blob already there is read and
// compared first: intact, nothing is written; missing or damaged, it is
// (re)written, so writing the same bytes again heals a damaged copy. The
// write is atomic: a reader sees the whole blob or none (fileblob renames
// a finished temporary file; S3 makes an object visible when its upload
// completes).
func (b *Bucket) Put(ctx context.Context, data []byte) (Ref, error) {
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	ref := Ref{Key: Key(sum), SHA256: sum, Size: int64(len(data))}
	if have, err := b.read(ctx, ref.Key); err == nil && bytes.Equal(have, data) {
		return ref, nil
	}
	if err := b.b.WriteAll(ctx, ref.Key, data, nil); err != nil {
		return ref, fmt.Errorf("blobs %s: writing %s: %w", b.url, ref.Key, err)
	}
	if b.dir != "" {
		if err := os.Chmod(filepath.Join(b.dir, filepath.FromSlash(ref.Key)), 0o600); err != nil {
			return ref, fmt.Errorf("blobs %s: %w", b.url, err)
		}
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
	r, err := b.b.NewReader(ctx, key, nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("blobs %s: %s: %w", b.url, key, ErrMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("blobs %s: %s: %w", b.url, key, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, r); err != nil {
		return nil, fmt.Errorf("blobs %s: reading %s: %w", b.url, key, err)
	}
	return buf.Bytes(), nil
}

// PutAt stores data under a name of the caller's (not its content): the
// outputs a job's pods leave for their submitter (batch.Upload). Like Put,
// the write is atomic.
func (b *Bucket) PutAt(ctx context.Context, key string, data []byte) error {
	if strings.HasPrefix(key, "sha256/") {
		return fmt.Errorf("blobs %s: %s: names under sha256/ are content keys (use Put)", b.url, key)
	}
	if err := b.b.WriteAll(ctx, key, data, nil); err != nil {
		return fmt.Errorf("blobs %s: writing %s: %w", b.url, key, err)
	}
	if b.dir != "" {
		if err := os.Chmod(filepath.Join(b.dir, filepath.FromSlash(key)), 0o600); err != nil {
			return fmt.Errorf("blobs %s: %w", b.url, err)
		}
	}
	return nil
}

// List is the keys under prefix, in order.
func (b *Bucket) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	it := b.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return keys, nil
		}
		if err != nil {
			return nil, fmt.Errorf("blobs %s: listing %s: %w", b.url, prefix, err)
		}
		if !o.IsDir {
			keys = append(keys, o.Key)
		}
	}
}
