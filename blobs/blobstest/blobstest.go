// Package blobstest starts a real S3-compatible server for tests:
// versitygw with its posix back end, on 127.0.0.1 only. The binary comes
// from `go install github.com/versity/versitygw/cmd/versitygw`; it is a
// test-time tool, not a dependency of reckon. Without it the tests skip,
// or fail when RECKON_REQUIRE_S3 is set (as .ci/run does).
package blobstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// S3 starts versitygw serving a bucket named "reckon" from a temporary
// directory and returns the s3:// URL blobs.Open opens and the bucket's
// directory. Credentials are set in the test's environment.
func S3(t *testing.T) (url, dir string) {
	t.Helper()
	gw, err := exec.LookPath("versitygw")
	if err != nil {
		p := filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw")
		if _, serr := os.Stat(p); serr == nil {
			gw = p
		} else if os.Getenv("RECKON_REQUIRE_S3") != "" {
			t.Fatal("RECKON_REQUIRE_S3 is set but versitygw is not installed")
		} else {
			t.Skip("versitygw not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0); .ci/run installs it")
		}
	}
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "reckon"), 0o755); err != nil { // posix back end: a bucket is a directory
		t.Fatal(err)
	}
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
	return fmt.Sprintf("s3://reckon?endpoint=http://%s&region=us-east-1&use_path_style=true&disable_https=true", addr), filepath.Join(root, "reckon")
}
