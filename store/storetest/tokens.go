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
	b, err := ts.CreateToken(ctx, auth.Token{User: "bo", Team: "reentry", Role: auth.Viewer, Hash: h2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ts.TokenByHash(ctx, h1)
	if err != nil || got.ID != a.ID || got.User != "ana" || got.Team != "oncology" || got.Role != auth.Trainer || !got.Expires.Equal(exp) || !got.Revoked.IsZero() {
		t.Errorf("by hash: %+v %v", got, err)
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
