package blobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestS3 runs the same round trip against a real S3-compatible server:
// versitygw (posix back end) started here on 127.0.0.1. The binary comes
// from `go install github.com/versity/versitygw/cmd/versitygw`; .ci/run
// installs it. Without it the test skips.
func TestS3(t *testing.T) {
	gw, err := exec.LookPath("versitygw")
	if err != nil {
		if p := filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw"); fileExists(p) {
			gw = p
		} else if os.Getenv("RECKON_REQUIRE_S3") != "" {
			t.Fatal("RECKON_REQUIRE_S3 is set but versitygw is not installed")
		} else {
			t.Skip("versitygw not installed (go install github.com/versity/versitygw/cmd/versitygw@latest); .ci/run installs it")
		}
	}
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "reckon"), 0o755) // the posix back end: a bucket is a directory
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(gw, "--access", "reckon", "--secret", "reckon-secret", "--port", addr, "posix", root)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw did not listen on %s: %s", addr, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "reckon")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "reckon-secret")
	url := fmt.Sprintf("s3://reckon?endpoint=http://%s&region=us-east-1&use_path_style=true&disable_https=true", addr)
	b, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	roundTrip(t, b)
	// The blob really went through the server to its directory.
	ref, _ := b.Put(context.Background(), []byte("abc"))
	if !fileExists(filepath.Join(root, "reckon", filepath.FromSlash(ref.Key))) {
		t.Errorf("%s not in the server's directory", ref.Key)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
