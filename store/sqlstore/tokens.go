package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/reckon-ml/reckon/auth"
)

var _ auth.Tokens = (*DB)(nil)

func nsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// CreateToken implements auth.Tokens.
func (s *DB) CreateToken(ctx context.Context, t auth.Token) (auth.Token, error) {
	if t.ID == "" {
		t.ID = newID()
	}
	if t.Created.IsZero() {
		t.Created = s.now().UTC()
	}
	err := s.tx(ctx, func(x tx) error {
		_, err := x.exec(`INSERT INTO tokens (id, hash, user_name, team, role, created_ns, expires_ns, revoked_ns, job) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.Hash, t.User, t.Team, string(t.Role), nsOf(t.Created), nsOf(t.Expires), nsOf(t.Revoked), t.Job)
		return err
	})
	return t, err
}

const tokenCols = `id, hash, user_name, team, role, created_ns, expires_ns, revoked_ns, job`

func scanToken(sc interface{ Scan(...any) error }) (auth.Token, error) {
	var t auth.Token
	var role string
	var c, e, r int64
	if err := sc.Scan(&t.ID, &t.Hash, &t.User, &t.Team, &role, &c, &e, &r, &t.Job); err != nil {
		return t, err
	}
	t.Role, t.Created, t.Expires, t.Revoked = auth.Role(role), timeOf(c), timeOf(e), timeOf(r)
	return t, nil
}

// TokenByHash implements auth.Tokens.
func (s *DB) TokenByHash(ctx context.Context, hash string) (auth.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, s.q(`SELECT `+tokenCols+` FROM tokens WHERE hash = ?`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, auth.ErrUnknown
	}
	return t, err
}

// ListTokens implements auth.Tokens.
func (s *DB) ListTokens(ctx context.Context) ([]auth.Token, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY created_ns DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []auth.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken implements auth.Tokens; revoking twice keeps the first time.
func (s *DB) RevokeToken(ctx context.Context, id string, now time.Time) error {
	return s.tx(ctx, func(x tx) error {
		var revoked int64
		if err := x.row(`SELECT revoked_ns FROM tokens WHERE id = ?`, id).Scan(&revoked); errors.Is(err, sql.ErrNoRows) {
			return auth.ErrUnknown
		} else if err != nil {
			return err
		}
		if revoked != 0 {
			return nil
		}
		_, err := x.exec(`UPDATE tokens SET revoked_ns = ? WHERE id = ?`, nsOf(now), id)
		return err
	})
}
