package batch

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/reckon-ml/reckon/blobs"
)

func TestUploadFetchRoundTrip(t *testing.T) {
	ctx := t.Context()
	b, err := blobs.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	src := t.TempDir()
	files := map[string]string{"shard-0001-of-0004/predictions-x.csv": "id,p\n1,0.5\n", "shard-0001-of-0004/manifest-x.json": "{}\n", "shard-0001-of-0004/errors-x.csv": "id,stage,reason\n"}
	for rel, body := range files {
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(src, rel), []byte(body), 0o644)
	}
	prefix := OutPrefix("/shared/preds")
	if prefix != OutPrefix("/shared/preds/") || prefix == OutPrefix("/shared/other") {
		t.Errorf("prefix %q: want one per output directory", prefix)
	}
	if n, err := Upload(ctx, b, src, prefix); err != nil || n != 3 {
		t.Fatalf("upload: %d, %v", n, err)
	}
	dst := t.TempDir()
	if n, err := Fetch(ctx, b, prefix, dst); err != nil || n != 3 {
		t.Fatalf("fetch: %d, %v", n, err)
	}
	for rel, body := range files {
		got, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil || string(got) != body {
			t.Errorf("%s: %q, %v; want %q", rel, got, err, body)
		}
	}
	if n, err := Fetch(ctx, b, prefix, dst); err != nil || n != 0 {
		t.Errorf("second fetch wrote %d files (%v), want none", n, err)
	}
	if n, err := Fetch(ctx, b, OutPrefix("/elsewhere"), t.TempDir()); err != nil || n != 0 {
		t.Errorf("fetch of another directory's outputs: %d, %v", n, err)
	}
}
