package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/sqlite"
)

// TestFindsWhatIsBroken: a damaged model, a deleted step output and a
// deleted log are each reported once per reference, with what they break;
// intact blobs are not; the report is OK again once they are rewritten.
func TestFindsWhatIsBroken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "reckon.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b, err := blobs.Open(ctx, filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	put := func(s string) blobs.Ref {
		ref, err := b.Put(ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	model, folds, log, fine := put("model bytes"), put("folds"), put("a log"), put("intact")
	r, err := st.CreateRun(ctx, store.Run{Name: "tumor/train/gbdt", Tags: map[string]string{"pipeline": "tumor"}})
	if err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]blobs.Ref{"model": model, "folds": folds, "log": log, "schema": fine} {
		if err := st.LogArtifact(ctx, r.ID, store.Artifact{Name: name, Key: ref.Key, SHA256: ref.SHA256, Size: ref.Size}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Finish(ctx, r.ID, store.Succeeded); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Register(ctx, store.Version{Model: "tumor", RunID: r.ID, Artifact: store.Artifact{Key: model.Key, SHA256: model.SHA256}}, "champion", "ada", "first"); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(ctx, st, b, nil)
	if err != nil || !rep.OK() || rep.Blobs != 4 || rep.Versions != 1 || rep.Artifacts != 4 || rep.Database != "ok" {
		t.Fatalf("intact workspace: %+v %v", rep, err)
	}
	file := func(ref blobs.Ref) string { return filepath.Join(dir, "blobs", filepath.FromSlash(ref.Key)) }
	os.WriteFile(file(model), []byte("model bytez"), 0o600)
	os.Remove(file(folds))
	os.Remove(file(log))
	var calls int
	rep, err = Run(ctx, st, b, func(done, total int) { calls++ })
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || calls != 5 {
		t.Fatalf("broken workspace reported OK (%d progress calls): %+v", calls, rep)
	}
	got := map[string]Problem{}
	for _, p := range rep.Problems {
		got[p.What] = p
	}
	want := map[string]string{
		"model tumor:1": "damaged",
		"run " + r.ID + " (tumor/train/gbdt) artifact model": "damaged",
		"run " + r.ID + " (tumor/train/gbdt) artifact folds": "missing",
		"run " + r.ID + " (tumor/train/gbdt) artifact log":   "missing",
	}
	if len(got) != len(want) {
		t.Errorf("problems %+v, want %v", rep.Problems, want)
	}
	for what, state := range want {
		if got[what].State != state {
			t.Errorf("%s: %q, want %q", what, got[what].State, state)
		}
	}
	if p := got["model tumor:1"]; !strings.Contains(p.Breaks, "tumor@champion") || !strings.Contains(p.Fix, "pipeline tumor") {
		t.Errorf("model problem does not say what breaks or how to fix: %+v", p)
	}
	if p := got["run "+r.ID+" (tumor/train/gbdt) artifact folds"]; !strings.Contains(p.Fix, "next reckon run of pipeline tumor") {
		t.Errorf("step output fix: %+v", p)
	}
	// Writing the bytes again heals them.
	put("model bytes")
	put("folds")
	put("a log")
	if rep, err := Run(ctx, st, b, nil); err != nil || !rep.OK() {
		t.Errorf("after rewriting: %+v %v", rep, err)
	}
}
