package blobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/reckon-ml/reckon/blobs/blobstest"
)

func roundTrip(t *testing.T, b *Bucket) {
	ctx := context.Background()
	data := []byte("a model's bytes\n")
	ref, err := b.Put(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Size != int64(len(data)) || !strings.HasPrefix(ref.Key, "sha256/") || len(ref.SHA256) != 64 {
		t.Fatalf("ref %+v", ref)
	}
	again, err := b.Put(ctx, data)
	if err != nil || again != ref {
		t.Fatalf("second put %+v %v", again, err)
	}
	got, err := b.Get(ctx, ref.Key)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get %q %v", got, err)
	}
	if _, err := b.Get(ctx, Key(strings.Repeat("0", 64))); !errors.Is(err, ErrMissing) {
		t.Errorf("missing blob: %v", err)
	}
	big := bytes.Repeat([]byte("0123456789"), 1<<20) // 10 MiB: a multipart upload on S3
	ref, err = b.Put(ctx, big)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, ref.Key); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("10 MiB round trip: %v", err)
	}
}

func TestDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blobs")
	b, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	roundTrip(t, b)
	// A damaged file is refused, not returned.
	ref, _ := b.Put(context.Background(), []byte("precious"))
	path := filepath.Join(dir, filepath.FromSlash(ref.Key))
	os.WriteFile(path, []byte("tampered"), 0o644)
	if _, err := b.Get(context.Background(), ref.Key); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), ref.Key) {
		t.Errorf("damaged blob: %v", err)
	}
	if err := b.Check(context.Background(), ref.Key); !errors.Is(err, ErrDamaged) {
		t.Errorf("check of a damaged blob: %v", err)
	}
	// Writing the same bytes again repairs it (issue 12: Put skipped any
	// key that existed, so a damaged blob stayed damaged for good).
	if _, err := b.Put(context.Background(), []byte("precious")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(context.Background(), ref.Key); err != nil || string(got) != "precious" {
		t.Errorf("after a second put: %q %v", got, err)
	}
	os.Remove(path)
	if err := b.Check(context.Background(), ref.Key); !errors.Is(err, ErrMissing) {
		t.Errorf("check of a deleted blob: %v", err)
	}
	if _, err := b.Put(context.Background(), []byte("precious")); err != nil || b.Check(context.Background(), ref.Key) != nil {
		t.Errorf("a deleted blob is not rewritten: %v", err)
	}
}

// TestPrivateUnderAnyUmask: blobs are the user's alone even with umask
// 000 (issue 12: they were 0666 in 0777 directories).
func TestPrivateUnderAnyUmask(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "home", "blobs")
	b, err := Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ref, err := b.Put(context.Background(), []byte("secret model"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "sha256"), filepath.Dir(filepath.Join(dir, filepath.FromSlash(ref.Key)))} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want 0700", p, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(ref.Key))); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("blob file: %v %v, want 0600", fi.Mode(), err)
	}
}

func TestKnownDigest(t *testing.T) {
	b, _ := Open(context.Background(), t.TempDir())
	ref, _ := b.Put(context.Background(), []byte("abc"))
	// FIPS 180-2 example: sha256("abc").
	if ref.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("sha256(abc) = %s", ref.SHA256)
	}
}

// TestS3 runs the same round trip against a real S3-compatible server
// (versitygw, see blobstest).
func TestS3(t *testing.T) {
	url, dir := blobstest.S3(t)
	b, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	roundTrip(t, b)
	// The blob really went through the server to its directory.
	ref, _ := b.Put(context.Background(), []byte("abc"))
	if !fileExists(filepath.Join(dir, filepath.FromSlash(ref.Key))) {
		t.Errorf("%s not in the server's directory", ref.Key)
	}
	if !strings.Contains(b.String(), "s3://reckon") {
		t.Errorf("bucket named %s", b)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
