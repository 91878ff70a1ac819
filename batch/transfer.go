package batch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/reckon-ml/reckon/atomicfile"
	"github.com/reckon-ml/reckon/blobs"
)

// OutPrefix is where in the blob store the pods of a job predicting into
// out (the submitter's --out-dir) leave their files, when they cannot
// write it themselves: one prefix per output directory, so a retry of
// some shards lands beside the first attempt's.
func OutPrefix(out string) string {
	h := sha256.Sum256([]byte(filepath.Clean(out)))
	return "predict-out/" + hex.EncodeToString(h[:8]) + "/"
}

// Upload copies the files under dir (a pod's private output directory)
// to the bucket under prefix, manifests last: a reader that finds a
// shard's manifest finds its other files too.
func Upload(ctx context.Context, b *blobs.Bucket, dir, prefix string) (int, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	manifest := func(p string) bool { return strings.HasPrefix(filepath.Base(p), "manifest-") }
	slices.SortStableFunc(files, func(a, b string) int {
		switch {
		case manifest(a) == manifest(b):
			return strings.Compare(a, b)
		case manifest(a):
			return 1
		}
		return -1
	})
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		rel, err := filepath.Rel(dir, f)
		if err != nil {
			return 0, err
		}
		if err := b.PutAt(ctx, prefix+filepath.ToSlash(rel), data); err != nil {
			return 0, err
		}
	}
	return len(files), nil
}

// Fetch copies what the pods left under prefix into dir, keeping the
// layout (shard-i-of-n/...), manifests last; a file already there with the
// same bytes is left alone. It returns how many files it wrote.
func Fetch(ctx context.Context, b *blobs.Bucket, prefix, dir string) (int, error) {
	keys, err := b.List(ctx, prefix)
	if err != nil {
		return 0, err
	}
	manifest := func(k string) bool { return strings.HasPrefix(path.Base(k), "manifest-") }
	slices.SortStableFunc(keys, func(a, b string) int {
		if manifest(a) != manifest(b) {
			if manifest(a) {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	n := 0
	for _, k := range keys {
		rel := strings.TrimPrefix(k, prefix)
		if rel == "" || strings.Contains(rel, "..") {
			return n, fmt.Errorf("fetching %s: unexpected key %q", prefix, k)
		}
		data, err := b.Get(ctx, k)
		if err != nil {
			return n, err
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if have, err := os.ReadFile(dst); err == nil && bytes.Equal(have, data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return n, err
		}
		if err := atomicfile.Write(dst, data); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
