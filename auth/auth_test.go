package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestAllowed is the access rule, every role by every action on its own
// team's things, another team's and things of no team.
func TestAllowed(t *testing.T) {
	// want[role] lists the actions allowed on the own team's things.
	want := map[Role][]Action{
		Viewer:    {Read, ReadModel},
		Predictor: {Read, ReadModel, Predict},
		Trainer:   {Read, ReadModel, Predict, Train, MoveAlias},
		Admin:     {Read, ReadModel, Predict, Train, MoveAlias, Manage},
	}
	actions := []Action{Read, ReadModel, Predict, Train, MoveAlias, Manage}
	for _, role := range Roles {
		p := Principal{User: "u", Team: "oncology", Role: role}
		for _, a := range actions {
			own := contains(want[role], a)
			if got := Allowed(p, a, "oncology"); got != own {
				t.Errorf("%s %s on its team: %v, want %v", role, a, got, own)
			}
			if got := Allowed(p, a, ""); got != own {
				t.Errorf("%s %s on no team: %v, want %v", role, a, got, own)
			}
			other := role == Admin
			if got := Allowed(p, a, "reentry"); got != other {
				t.Errorf("%s %s on another team: %v, want %v", role, a, got, other)
			}
		}
	}
	if Allowed(Principal{Team: "x", Role: "root"}, Read, "x") || Allowed(Principal{Team: "x", Role: Admin}, "fly", "x") {
		t.Error("an unknown role or action was allowed")
	}
}

func contains(s []Action, a Action) bool {
	for _, x := range s {
		if x == a {
			return true
		}
	}
	return false
}

type memTokens map[string]Token

func (m memTokens) CreateToken(_ context.Context, t Token) (Token, error) {
	m[t.Hash] = t
	return t, nil
}
func (m memTokens) TokenByHash(_ context.Context, h string) (Token, error) {
	t, ok := m[h]
	if !ok {
		return Token{}, ErrUnknown
	}
	return t, nil
}
func (m memTokens) ListTokens(context.Context) ([]Token, error) { return nil, nil }
func (m memTokens) RevokeToken(context.Context, string, time.Time) error {
	return nil
}

// TestCheck: a secret is known by its hash only; expiry and revocation
// refuse it; headers other than Bearer give no secret.
func TestCheck(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	ts := memTokens{}
	secret, hash, err := NewSecret()
	if err != nil || !strings.HasPrefix(secret, "rk_") || len(secret) < 40 || hash == secret || strings.Contains(hash, secret) {
		t.Fatalf("secret %q hash %q %v", secret, hash, err)
	}
	ts.CreateToken(ctx, Token{ID: "t1", User: "ana", Team: "oncology", Role: Trainer, Hash: hash, Expires: now.Add(time.Hour)})
	p, err := Check(ctx, ts, secret, now)
	if err != nil || p != (Principal{User: "ana", Team: "oncology", Role: Trainer, TokenID: "t1"}) {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := Check(ctx, ts, secret, now.Add(time.Hour)); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	other, _, _ := NewSecret()
	for _, c := range []struct {
		secret string
		want   error
	}{{"", ErrNoToken}, {other, ErrUnknown}, {"hunter2", ErrUnknown}} {
		if _, err := Check(ctx, ts, c.secret, now); !errors.Is(err, c.want) {
			t.Errorf("%q: %v, want %v", c.secret, err, c.want)
		}
	}
	tok := ts[hash]
	tok.Revoked = now
	ts[hash] = tok
	if _, err := Check(ctx, ts, secret, now); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked: %v", err)
	}
	for h, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "": "", "Bearer": ""} {
		if got := Bearer(h); got != want {
			t.Errorf("Bearer(%q) = %q, want %q", h, got, want)
		}
	}
}
