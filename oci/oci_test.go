package oci

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// tinyBinary builds a small static Go program in a git checkout of its
// own, committed at a fixed time, the way scripts/build-release builds
// reckon.
func tinyBinary(t *testing.T, cgo string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/tiny\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"tiny\") }\n"), 0o644)
	run := func(env []string, name string, args ...string) {
		cmd := exec.Command(name, args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	date := []string{"GIT_AUTHOR_DATE=2026-12-02T12:00:00Z", "GIT_COMMITTER_DATE=2026-12-02T12:00:00Z",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	run(nil, "git", "init", "-q")
	run(nil, "git", "add", ".")
	run(date, "git", "commit", "-qm", "tiny")
	run([]string{"CGO_ENABLED=" + cgo, "GOOS=linux", "GOARCH=amd64", "GOFLAGS="}, "go", "build", "-trimpath", "-buildvcs=true", "-o", "tiny", ".")
	return filepath.Join(dir, "tiny")
}

func certs(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(p, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o644)
	return p
}

func TestBuild(t *testing.T) {
	bin := tinyBinary(t, "0")
	ca := certs(t)
	im, err := Build(Config{Binary: bin, CACerts: ca})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	d, err := im.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	// The tarball is what docker load and crane read (crane validate
	// --tarball runs exactly this).
	back, err := tarball.ImageFromPath(out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(back); err != nil {
		t.Fatalf("the tarball's image is invalid: %v", err)
	}
	if bd, _ := back.Digest(); bd != d {
		t.Errorf("tarball digest %s, built %s", bd, d)
	}
	// Same inputs, same digest: nothing of the clock or the paths.
	again, err := Build(Config{Binary: bin, CACerts: ca})
	if err != nil {
		t.Fatal(err)
	}
	if ad, _ := again.Image.Digest(); ad != d {
		t.Errorf("rebuilt digest %s, first %s", ad, d)
	}
	if !strings.HasPrefix(im.Ref.String(), "reckon:v0.0.0-20261202120000-") {
		t.Errorf("ref %s", im.Ref)
	}

	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" || strings.Join(c.Entrypoint, " ") != BinPath || c.WorkingDir != Home || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config %+v", c)
	}
	if cf.Created.UTC().Format("2006-01-02T15:04:05Z") != "2026-12-02T12:00:00Z" {
		t.Errorf("created %v: want the commit's time", cf.Created)
	}
	for k, v := range map[string]string{"org.opencontainers.image.revision": im.Info.Commit, "org.opencontainers.image.version": im.Info.Version,
		"org.opencontainers.image.source": Source, "org.opencontainers.image.created": "2026-12-02T12:00:00Z"} {
		if c.Labels[k] != v || v == "" {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}

	// The files, their owners and modes.
	binBytes, _ := os.ReadFile(bin)
	want := map[string]struct {
		mode int64
		uid  int
		size int
	}{
		"usr/local/bin/reckon": {0o755, 0, len(binBytes)}, "etc/passwd": {0o644, 0, -1}, "etc/ssl/certs/ca-certificates.crt": {0o644, 0, -1},
		"tmp": {0o1777, 0, -1}, "home/reckon": {0o700, UID, -1}, "usr/share/doc/reckon/sbom.cdx.json": {0o644, 0, -1},
	}
	r := mutate.Extract(back)
	defer r.Close()
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")
		if name == "etc/passwd" {
			b, _ := io.ReadAll(tr)
			if !strings.Contains(string(b), "reckon:x:65532:65532:") {
				t.Errorf("passwd %q", b)
			}
		}
		if w, ok := want[name]; ok {
			seen[name] = true
			if h.Mode&0o7777 != w.mode || h.Uid != w.uid || (w.size >= 0 && h.Size != int64(w.size)) {
				t.Errorf("%s: mode %o uid %d size %d, want %o %d %d", name, h.Mode, h.Uid, h.Size, w.mode, w.uid, w.size)
			}
		}
	}
	for n := range want {
		if !seen[n] {
			t.Errorf("%s missing from the image", n)
		}
	}
}

// TestBuildRefuses: a binary that would not run in the image is refused
// with the reason.
func TestBuildRefuses(t *testing.T) {
	if _, err := Build(Config{Binary: filepath.Join(t.TempDir(), "none"), CACerts: certs(t)}); err == nil {
		t.Error("a missing binary was accepted")
	}
	notGo := filepath.Join(t.TempDir(), "script")
	os.WriteFile(notGo, []byte("#!/bin/sh\n"), 0o755)
	if _, err := Build(Config{Binary: notGo, CACerts: certs(t)}); err == nil || !strings.Contains(err.Error(), "not a Go binary") {
		t.Errorf("a shell script: %v", err)
	}
	if _, err := exec.LookPath("gcc"); err == nil {
		if _, err := Build(Config{Binary: tinyBinary(t, "1"), CACerts: certs(t)}); err == nil || !strings.Contains(err.Error(), "cgo") {
			t.Errorf("a cgo binary: %v", err)
		}
	}
}

func TestLayerTarNeedsDirectories(t *testing.T) {
	if _, err := layerTar([]file{{name: "a/b", mode: 0o644}}, zeroTime); err == nil {
		t.Error("a file without its directory entry was accepted")
	}
}

var zeroTime = mustTime("2026-01-01T00:00:00Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
