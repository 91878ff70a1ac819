package registry

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/reckon-ml/reckon/baseline"
	"github.com/reckon-ml/reckon/blobs"
	"github.com/reckon-ml/reckon/model"
	"github.com/reckon-ml/reckon/store"
	"github.com/reckon-ml/reckon/store/sqlite"
)

func TestParseRef(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Ref
		err  string
	}{
		{"tumor", Ref{Name: "tumor"}, ""},
		{"tumor@champion", Ref{Name: "tumor", Alias: "champion"}, ""},
		{"tumor:3", Ref{Name: "tumor", Version: 3}, ""},
		{"tumor@", Ref{}, "NAME@alias"},
		{"@champion", Ref{}, "NAME@alias"},
		{"tumor:0", Ref{}, ">= 1"},
		{"tumor:x", Ref{}, ">= 1"},
		{"tumor:3x", Ref{}, ">= 1"},
		{":3", Ref{}, ">= 1"},
		{"", Ref{}, "empty"},
	} {
		got, err := ParseRef(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseRef(%q) = %v, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
		if got.String() != c.in {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), c.in)
		}
	}
}

func TestIsFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"tumor@champion", false},
		{"tumor", false},
		{filepath.Join(dir, "missing.rkm"), true}, // written as a path
		{"models/x.reckon", true},
		{dir, true}, // exists
	} {
		if got := IsFile(c.in); got != c.want {
			t.Errorf("IsFile(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// registered registers one baseline model twice (versions 1 and 2, with
// champion on 1) in a fresh SQLite store and blob directory.
func registered(t *testing.T) (store.Store, *blobs.Bucket, []blobs.Ref) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "reckon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b, err := blobs.Open(ctx, filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	var refs []blobs.Ref
	for i, alt := range []float64{80e3, 81e3} {
		a, err := (&baseline.MeanAltitude{Altitude: alt, Tracks: 1}).Artifact()
		if err != nil {
			t.Fatal(err)
		}
		a.Header.Kind = baseline.Kind
		ref, err := Save(ctx, b, a)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
		r, err := st.CreateRun(ctx, store.Run{Name: fmt.Sprint("train-", i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Finish(ctx, r.ID, store.Succeeded); err != nil {
			t.Fatal(err)
		}
		alias := ""
		if i == 0 {
			alias = "champion"
		}
		if _, err := st.Register(ctx, store.Version{Model: "reentry", RunID: r.ID, Kind: baseline.Kind, Artifact: Artifact(ref)}, alias, "test", "first"); err != nil {
			t.Fatal(err)
		}
	}
	return st, b, refs
}

func TestResolveAndLoad(t *testing.T) {
	ctx := context.Background()
	st, b, refs := registered(t)
	for _, c := range []struct {
		ref     Ref
		version int
	}{
		{Ref{Name: "reentry"}, 2}, // the latest
		{Ref{Name: "reentry", Alias: "champion"}, 1},
		{Ref{Name: "reentry", Version: 2}, 2},
	} {
		l, err := Load(ctx, st, b, c.ref)
		if err != nil {
			t.Fatalf("%s: %v", c.ref, err)
		}
		if l.Version == nil || l.Version.Version != c.version || l.Label != fmt.Sprintf("reentry:%d", c.version) {
			t.Errorf("%s: got %s, want version %d", c.ref, l.Label, c.version)
		}
		if l.Version.Artifact.SHA256 != refs[c.version-1].SHA256 || l.Model.Kind() != baseline.Kind {
			t.Errorf("%s: loaded the wrong bytes or kind (%s)", c.ref, l.Model.Kind())
		}
		m, err := st.GetModel(ctx, "reentry")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := AliasesOf(m, c.version), map[int][]string{1: {"champion"}}[c.version]; !reflect.DeepEqual(got, want) {
			t.Errorf("AliasesOf(version %d) = %v, want %v", c.version, got, want)
		}
	}
	for _, c := range []struct {
		ref  Ref
		want string
	}{
		{Ref{Name: "nosuch"}, "neither a model file nor a registered model"},
		{Ref{Name: "reentry", Alias: "nosuch"}, "reentry@nosuch"},
		{Ref{Name: "reentry", Version: 9}, "reentry:9"},
	} {
		_, err := Load(ctx, st, b, c.ref)
		if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want ErrNotFound mentioning %q", c.ref, err, c.want)
		}
	}
}

func TestLoadBlobRefusesOtherBytes(t *testing.T) {
	ctx := context.Background()
	_, b, refs := registered(t)
	// A blob that is not a model file is refused as corrupt, named.
	ref, err := b.Put(ctx, []byte("not a model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBlob(ctx, b, ref.Key, "champion x"); !errors.Is(err, model.ErrCorrupt) || !strings.Contains(err.Error(), "champion x") {
		t.Errorf("non-model blob: %v", err)
	}
	if _, err := LoadBlob(ctx, b, blobs.Key(strings.Repeat("0", 64)), "gone"); !errors.Is(err, blobs.ErrMissing) {
		t.Errorf("missing blob: %v", err)
	}
	if _, err := LoadBlob(ctx, b, refs[0].Key, "ok"); err != nil {
		t.Errorf("good blob: %v", err)
	}
}

func TestDescribeAndPromote(t *testing.T) {
	ctx := context.Background()
	st, b, _ := registered(t)
	d, err := Describe(ctx, st, b, Ref{Name: "reentry", Alias: "champion"})
	if err != nil || d.Version.Version != 1 || !reflect.DeepEqual(d.Aliases, []string{"champion"}) || !d.Intact || d.Problem != "" {
		t.Fatalf("describe champion: %+v %v", d, err)
	}
	// A damaged artifact is reported by describe (issue 12: models show
	// said nothing while predict failed).
	damaged := &damagingBlobs{Blobs: b, key: d.Artifact.Key}
	if d, err := Describe(ctx, st, damaged, Ref{Name: "reentry", Alias: "champion"}); err != nil || d.Intact || !strings.Contains(d.Problem, "damaged") {
		t.Errorf("describe a damaged champion: %+v %v", d, err)
	}
	for _, c := range []struct {
		ref        Ref
		alias, why string
		want       string
	}{
		{Ref{Name: "reentry", Alias: "champion"}, "prod", "x", "NAME:VERSION"},
		{Ref{Name: "reentry"}, "prod", "x", "NAME:VERSION"},
		{Ref{Name: "reentry", Version: 2}, "prod", "  ", "reason"},
		{Ref{Name: "reentry", Version: 2}, "", "x", "alias"},
		{Ref{Name: "reentry", Version: 9}, "prod", "x", "not found"},
	} {
		if err := Promote(ctx, st, c.ref, c.alias, "ada", c.why); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("promote %s %q %q: %v, want %q", c.ref, c.alias, c.why, err, c.want)
		}
	}
	if err := Promote(ctx, st, Ref{Name: "reentry", Version: 2}, "champion", "ada", "better on the new flights"); err != nil {
		t.Fatal(err)
	}
	d, err = Describe(ctx, st, b, Ref{Name: "reentry", Version: 2})
	if err != nil || !reflect.DeepEqual(d.Aliases, []string{"champion"}) {
		t.Errorf("after promote: %+v %v", d, err)
	}
	h, err := st.History(ctx, "reentry")
	if err != nil || len(h) != 2 || h[1].From != 1 || h[1].To != 2 || h[1].Who != "ada" || h[1].Why != "better on the new flights" {
		t.Errorf("audit %+v %v", h, err)
	}
}

// damagingBlobs answers for key as a damaged blob would.
type damagingBlobs struct {
	Blobs
	key string
}

func (d *damagingBlobs) Get(ctx context.Context, key string) ([]byte, error) {
	if key == d.key {
		return nil, fmt.Errorf("blobs test: %s: %w", key, blobs.ErrDamaged)
	}
	return d.Blobs.Get(ctx, key)
}
