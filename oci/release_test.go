package oci

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/reckon-ml/reckon/release"
)

// TestReproducibleRelease builds reckon's release binary and image twice,
// from two clones of HEAD in different directories, as scripts/build-image
// does for a user: the binaries and the image tarballs must be
// byte-identical, the binary must say the commit and its time, and the
// compressed image must stay within the 20 MB the packaging issue allows.
// It takes minutes (two static links of reckon), so -short skips it;
// .ci/run runs it.
func TestReproducibleRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("two release builds of reckon: run without -short (.ci/run does)")
	}
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skip("not in a git checkout")
	}
	src := strings.TrimSpace(string(root))
	git := func(dir string, args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	head := git(src, "rev-parse", "HEAD")
	var bins, images [][]byte
	for _, name := range []string{"first", "second-clone-elsewhere"} {
		dir := filepath.Join(t.TempDir(), name)
		if out, err := exec.Command("git", "clone", "-q", "--no-hardlinks", src, dir).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
		cmd := exec.Command("scripts/build-image", "dist/image.tar")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("scripts/build-image in %s: %v\n%s", dir, err, out)
		} else {
			t.Logf("%s", out)
		}
		bin, _ := os.ReadFile(filepath.Join(dir, "dist", "reckon"))
		img, _ := os.ReadFile(filepath.Join(dir, "dist", "image.tar"))
		bins, images = append(bins, bin), append(images, img)
		if len(bins) == 1 {
			checkVersion(t, filepath.Join(dir, "dist", "reckon"), head, git(src, "show", "-s", "--format=%cI", "HEAD"))
			checkSize(t, filepath.Join(dir, "dist", "image.tar"))
		}
	}
	if len(bins[0]) == 0 || !bytes.Equal(bins[0], bins[1]) {
		t.Errorf("two release builds of %s differ (%d and %d bytes)", head, len(bins[0]), len(bins[1]))
	}
	if len(images[0]) == 0 || !bytes.Equal(images[0], images[1]) {
		t.Errorf("two images of %s differ", head)
	}
}

func checkVersion(t *testing.T, bin, commit, commitTime string) {
	t.Helper()
	out, err := exec.Command(bin, "version", "--json").Output()
	if err != nil {
		t.Fatalf("%s version --json: %v", bin, err)
	}
	var v release.Info
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	want, _ := time.Parse(time.RFC3339, commitTime)
	got, err := v.CommitTime()
	if v.Commit != commit || v.Modified || err != nil || !got.Equal(want) || !strings.HasPrefix(v.Version, "v") || strings.Contains(v.Version, "dirty") {
		t.Errorf("version %+v, want commit %s of %s, unmodified", v, commit, commitTime)
	}
	if v.Build["CGO_ENABLED"] != "0" || v.Build["-trimpath"] != "true" || len(v.Modules) == 0 {
		t.Errorf("build %v, %d modules", v.Build, len(v.Modules))
	}
}

func checkSize(t *testing.T, path string) {
	t.Helper()
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := CompressedSize(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image: %.1f MB compressed", float64(n)/1e6)
	if n > 20e6 {
		t.Errorf("the image is %.1f MB compressed: the packaging issue allows 20 MB", float64(n)/1e6)
	}
}
