// Package oci builds reckon's container image without a Docker daemon:
// two layers made from files (a minimal root — passwd and group with a
// non-root user, CA certificates, /tmp, a home — and the static binary
// with its SBOM), a config whose labels and times come from the binary's
// build information, written as a tarball that docker load, podman load
// and crane accept. Nothing in it depends on the clock or the build
// machine's paths, so one commit gives one digest.
package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/buildinfo"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/reckon-ml/reckon/release"
)

// The image's user: not root, the uid distroless images use, so volumes
// and security contexts written for those fit.
const (
	UID     = 65532
	Home    = "/home/reckon"
	BinPath = "/usr/local/bin/reckon"
	// SBOMPath is where the binary's CycloneDX SBOM lies in the image.
	SBOMPath = "/usr/share/doc/reckon/sbom.cdx.json"
	// Source is the repository the image's labels name.
	Source = "https://github.com/reckon-ml/reckon"
)

// Config says what goes into the image.
type Config struct {
	Binary  string // a static reckon (scripts/build-release)
	CACerts string // a PEM bundle, e.g. /etc/ssl/certs/ca-certificates.crt
	// Repository names the image in the tarball (REPO:VERSION); default
	// "reckon".
	Repository string
}

// Image is the built image and what it was built from.
type Image struct {
	Image v1.Image
	Ref   name.Tag
	Info  release.Info
}

// file is one entry of a layer.
type file struct {
	name string // without a leading /; a trailing / makes a directory
	mode int64
	uid  int
	data []byte
}

// contents are the image's two layers' files, what the binary says of
// itself, and the time everything is dated (the commit's).
type contents struct {
	base, app []file
	info      release.Info
	created   time.Time
}

func gather(c Config) (*contents, error) {
	bin, err := os.ReadFile(c.Binary)
	if err != nil {
		return nil, err
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("%s: not a Go binary with build information: %w", c.Binary, err)
	}
	// The version is the one the go command stamps from the checkout: the
	// tag on the commit, or a pseudo-version of it (+dirty when modified).
	info := release.Describe(bi, "")
	if info.Build["CGO_ENABLED"] != "0" {
		return nil, fmt.Errorf("%s was built with cgo: the image has no C library; build it with scripts/build-release", c.Binary)
	}
	if info.Platform != "linux/amd64" && info.Platform != "linux/arm64" {
		return nil, fmt.Errorf("%s is built for %s: the image needs linux/amd64 or linux/arm64", c.Binary, info.Platform)
	}
	created, err := info.CommitTime()
	if err != nil {
		return nil, fmt.Errorf("%s carries no commit time (build it from a git checkout with scripts/build-release): %w", c.Binary, err)
	}
	certs, err := os.ReadFile(c.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w (install Debian's ca-certificates, or give --ca-certs)", err)
	}
	sbom, err := release.SBOM(bi, info.Version)
	if err != nil {
		return nil, err
	}
	base := []file{
		{name: "etc/", mode: 0o755},
		{name: "etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nreckon:x:%d:%d:reckon:%s:/sbin/nologin\n", UID, UID, Home))},
		{name: "etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\nreckon:x:%d:\n", UID))},
		{name: "etc/nsswitch.conf", mode: 0o644, data: []byte("hosts: files dns\n")},
		{name: "etc/ssl/", mode: 0o755},
		{name: "etc/ssl/certs/", mode: 0o755},
		{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: certs},
		{name: "home/", mode: 0o755},
		{name: "home/reckon/", mode: 0o700, uid: UID},
		{name: "tmp/", mode: 0o1777},
	}
	app := []file{
		{name: "usr/", mode: 0o755},
		{name: "usr/local/", mode: 0o755},
		{name: "usr/local/bin/", mode: 0o755},
		{name: strings.TrimPrefix(BinPath, "/"), mode: 0o755, data: bin},
		{name: "usr/share/", mode: 0o755},
		{name: "usr/share/doc/", mode: 0o755},
		{name: "usr/share/doc/reckon/", mode: 0o755},
		{name: strings.TrimPrefix(SBOMPath, "/"), mode: 0o644, data: sbom},
	}
	return &contents{base: base, app: app, info: info, created: created}, nil
}

// Build makes the image.
func Build(c Config) (*Image, error) {
	ct, err := gather(c)
	if err != nil {
		return nil, err
	}
	info, created := ct.info, ct.created
	img := empty.Image
	for _, l := range []struct {
		files []file
		by    string
	}{{ct.base, "reckon root: passwd, group, CA certificates, /tmp, " + Home}, {ct.app, "reckon " + info.Version + " and its SBOM"}} {
		tb, err := layerTar(l.files, created)
		if err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tb)), nil },
			tarball.WithMediaType(types.DockerLayer), tarball.WithCompressionLevel(gzip.BestCompression))
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: created}, CreatedBy: l.by, Comment: "oci.Build"}})
		if err != nil {
			return nil, err
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", strings.TrimPrefix(info.Platform, "linux/")
	cf.Created = v1.Time{Time: created}
	cf.Author = Source
	cf.Config = v1.Config{
		Entrypoint: []string{BinPath},
		Cmd:        []string{"--help"},
		User:       fmt.Sprintf("%d:%d", UID, UID),
		WorkingDir: Home,
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + Home,
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels:       Labels(info),
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, err
	}
	repo := c.Repository
	if repo == "" {
		repo = "reckon"
	}
	ref, err := name.NewTag(repo + ":" + tagOf(info.Version))
	if err != nil {
		return nil, err
	}
	return &Image{Image: img, Ref: ref, Info: info}, nil
}

// Labels are the image's OCI annotations
// (https://github.com/opencontainers/image-spec/blob/main/annotations.md).
func Labels(info release.Info) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "reckon",
		"org.opencontainers.image.description": "reckon: data to monitored batch predictions, one static binary",
		"org.opencontainers.image.version":     info.Version,
		"org.opencontainers.image.revision":    info.Commit,
		"org.opencontainers.image.created":     info.BuildTime,
		"org.opencontainers.image.source":      Source,
	}
}

// tagOf makes a version a valid tag (letters, digits, _ . -; at most 128).
func tagOf(v string) string {
	b := []byte(v)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			b[i] = '-'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}

// layerTar is a tar of files, sorted, every entry owned by uid/gid (root
// unless the file says) and dated t, no user or group names: the same
// files give the same bytes.
func layerTar(files []file, t time.Time) ([]byte, error) {
	sorted := append([]file(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, f := range sorted {
		h := &tar.Header{Name: f.name, Mode: f.mode, Uid: f.uid, Gid: f.uid, ModTime: t.UTC(), Format: tar.FormatPAX}
		if strings.HasSuffix(f.name, "/") {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
			if dir := path.Dir(f.name); dir != "." && !hasDir(sorted, dir+"/") {
				return nil, fmt.Errorf("layer: %s has no directory entry %s/", f.name, dir)
			}
		}
		if err := w.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func hasDir(files []file, dir string) bool {
	for _, f := range files {
		if f.name == dir {
			return true
		}
	}
	return false
}

// Write writes the image as a docker load / crane tarball and returns the
// image's digest (of its manifest: what a registry would name it by).
func (im *Image) Write(path string) (v1.Hash, error) {
	d, err := im.Image.Digest()
	if err != nil {
		return d, err
	}
	if err := tarball.WriteToFile(path, im.Ref, im.Image); err != nil {
		return d, err
	}
	// Read it back as docker load and crane would, and check every digest
	// and size in it (crane validate --tarball does the same).
	back, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return d, fmt.Errorf("%s: reading the image back: %w", path, err)
	}
	if err := validate.Image(back); err != nil {
		return d, fmt.Errorf("%s: the image written is invalid: %w", path, err)
	}
	if bd, err := back.Digest(); err != nil || bd != d {
		return d, fmt.Errorf("%s: the image written has digest %s, not %s (%v)", path, bd, d, err)
	}
	return d, nil
}

// CompressedSize is what pulling the image moves: its gzip-compressed
// layers, its config and its manifest.
func CompressedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return 0, err
	}
	n := m.Config.Size + int64(len(raw))
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

// WriteRootfs writes the image's files into dir (which must not exist)
// with their modes, and their owners when run as root: the Dockerfile's
// build stage makes the same root this way and copies it into scratch.
func WriteRootfs(c Config, dir string) error {
	ct, err := gather(c)
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for _, f := range append(ct.base, ct.app...) {
		p := filepath.Join(dir, filepath.FromSlash(f.name))
		mode := os.FileMode(f.mode & 0o777)
		if f.mode&0o1000 != 0 {
			mode |= os.ModeSticky
		}
		if strings.HasSuffix(f.name, "/") {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
		} else if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return err
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
		if os.Geteuid() == 0 {
			if err := os.Lchown(p, f.uid, f.uid); err != nil {
				return err
			}
		}
	}
	return nil
}
