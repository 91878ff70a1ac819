package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reckon-ml/reckon/auth"
	"github.com/reckon-ml/reckon/store"
)

// tokensKept: a token is found by its hash only, listed newest first
// without its hash mattering to anyone, revoked once; a second token
// with the same hash is refused.
func tokensKept(t *testing.T, s store.Store, clock *Clock) {
	ctx := context.Background()
	ts, ok := s.(auth.Tokens)
	if !ok {
		t.Fatalf("%T does not keep tokens (auth.Tokens)", s)
	}
	_, h1, _ := auth.NewSecret()
	_, h2, _ := auth.NewSecret()
	exp := clock.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Microsecond)
	a, err := ts.CreateToken(ctx, auth.Token{User: "ana", Team: "oncology", Role: auth.Trainer, Hash: h1, Expires: exp})
	if err != nil || a.ID == "" {
		t.Fatalf("%+v %v", a, err)
	}
	clock.Advance(time.Second)
	b, err := ts.CreateToken(ctx, auth.Token{User: "bo", Team: "reentry", Role: auth.Viewer, Hash: h2, Job: "j7"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.TokenByHash(ctx, h1)
	if err != nil || got.ID != a.ID || got.User != "ana" || got.Team != "oncology" || got.Role != auth.Trainer || !got.Expires.Equal(exp) || !got.Revoked.IsZero() {
		t.Errorf("by hash: %+v %v", got, err)
	}
	if got, err := ts.TokenByHash(ctx, h2); err != nil || got.ID != b.ID || got.Job != "j7" {
		t.Errorf("a worker's token by hash: %+v %v", got, err)
	}
	if _, err := ts.TokenByHash(ctx, "nope"); !errors.Is(err, auth.ErrUnknown) {
		t.Errorf("unknown hash: %v", err)
	}
	if _, err := ts.CreateToken(ctx, auth.Token{User: "eve", Team: "x", Role: auth.Admin, Hash: h1}); err == nil {
		t.Error("a second token with the same hash was stored")
	}
	list, err := ts.ListTokens(ctx)
	if err != nil || len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID {
		t.Errorf("list: %+v %v", list, err)
	}
	when := clock.Now()
	if err := ts.RevokeToken(ctx, a.ID, when); err != nil {
		t.Fatal(err)
	}
	if err := ts.RevokeToken(ctx, a.ID, when.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := ts.TokenByHash(ctx, h1); !got.Revoked.Equal(when.UTC()) {
		t.Errorf("revoked at %v, want %v", got.Revoked, when)
	}
	if err := ts.RevokeToken(ctx, "nope", when); !errors.Is(err, auth.ErrUnknown) {
		t.Errorf("revoking an unknown token: %v", err)
	}
}

// metricSample: a long series comes back reduced to about n points with
// its extremes, a short one whole.
func metricSample(t *testing.T, s store.Store) {
	ctx := context.Background()
	ms, ok := s.(interface {
		MetricSample(ctx context.Context, id, key string, n int) ([]store.Point, int, error)
	})
	if !ok {
		t.Skipf("%T reduces no series", s)
	}
	r, err := s.CreateRun(ctx, store.Run{Name: "long"})
	if err != nil {
		t.Fatal(err)
	}
	var pts []store.Point
	for i := range 10000 {
		v := float64(i%100) / 100
		switch i {
		case 3333:
			v = 50
		case 6666:
			v = -50
		}
		pts = append(pts, store.Point{Key: "loss", Step: int64(i), Value: v})
	}
	if err := s.LogMetrics(ctx, r.ID, pts); err != nil {
		t.Fatal(err)
	}
	got, total, err := ms.MetricSample(ctx, r.ID, "loss", 200)
	if err != nil || total != 10000 || len(got) > 202 || len(got) < 100 {
		t.Fatalf("%d points of %d: %v", len(got), total, err)
	}
	lo, hi := 0.0, 0.0
	for i, p := range got {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
		if i > 0 && p.Step < got[i-1].Step {
			t.Fatalf("out of step order at %d", i)
		}
	}
	if lo != -50 || hi != 50 || got[0].Step != 0 || got[len(got)-1].Step != 9999 {
		t.Errorf("extremes %v..%v, steps %d..%d", lo, hi, got[0].Step, got[len(got)-1].Step)
	}
	short, total, err := ms.MetricSample(ctx, r.ID, "loss", 20000)
	if err != nil || total != 10000 || len(short) != 10000 {
		t.Errorf("a series under n: %d of %d, %v", len(short), total, err)
	}
}
