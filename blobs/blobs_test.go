package blobs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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
	os.WriteFile(filepath.Join(dir, filepath.FromSlash(ref.Key)), []byte("tampered"), 0o644)
	if _, err := b.Get(context.Background(), ref.Key); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged blob: %v", err)
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
