// Package auth is who may do what in a shared reckon: tokens that name a
// user, a team and a role, and the one rule that says whether a role may
// act on a team's things. It is pure: the store keeps the tokens
// (Tokens), the server asks Allowed.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Role is what a token may do, each including the ones after it:
// admin > trainer > predictor > viewer, except that only an admin acts on
// other teams.
type Role string

const (
	Admin     Role = "admin"
	Trainer   Role = "trainer"
	Predictor Role = "predictor"
	Viewer    Role = "viewer"
)

// Roles in decreasing power.
var Roles = []Role{Admin, Trainer, Predictor, Viewer}

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("role %q: want admin, trainer, predictor or viewer", s)
	}
	return r, nil
}

func (r Role) rank() int { return len(Roles) - slices.Index(Roles, r) }

// Action is what a request does.
type Action string

const (
	Read      Action = "read"       // runs, metrics, artifacts, datasets, jobs, queues, drift
	ReadModel Action = "read-model" // models, versions, aliases
	Predict   Action = "predict"    // run predictions
	Train     Action = "train"      // submit jobs, run pipelines, register versions, cancel own team's jobs
	MoveAlias Action = "move-alias" // promote, roll back
	Manage    Action = "manage"     // tokens
)

// needs is the least role each action takes.
var needs = map[Action]Role{Read: Viewer, ReadModel: Viewer, Predict: Predictor, Train: Trainer, MoveAlias: Trainer, Manage: Admin}

// Principal is who is asking: the token's user, team and role.
type Principal struct {
	User    string `json:"user"`
	Team    string `json:"team"`
	Role    Role   `json:"role"`
	TokenID string `json:"token_id"`
	// Job: a worker's token, scoped to this job of the team ("" for a
	// person's): it acts on no other job but the ones it fanned out.
	Job string `json:"job,omitempty"`
}

// MayTouchJob says whether p may change job id (whose parent is parent):
// any of its team's jobs for a person's token, only its own job and its
// children for a worker's.
func (p Principal) MayTouchJob(id, parent string) bool {
	return p.Job == "" || p.Job == id || p.Job == parent
}

// Allowed says whether p may do a to something of team ("" for things of
// no team, such as the list of models). Nobody acts on another team's
// things but an admin.
func Allowed(p Principal, a Action, team string) bool {
	need, ok := needs[a]
	if !ok || !slices.Contains(Roles, p.Role) {
		return false
	}
	if p.Role == Admin {
		return true
	}
	if team != "" && team != p.Team {
		return false
	}
	return p.Role.rank() >= need.rank()
}

// Token is a stored token: never its secret, only its hash.
type Token struct {
	ID      string    `json:"id"`
	User    string    `json:"user"`
	Team    string    `json:"team"`
	Role    Role      `json:"role"`
	Hash    string    `json:"-"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"` // zero: never
	Revoked time.Time `json:"revoked,omitzero"`
	Job     string    `json:"job,omitempty"` // a worker's token: its job
}

// Principal is who the token speaks for.
func (t Token) Principal() Principal {
	return Principal{User: t.User, Team: t.Team, Role: t.Role, TokenID: t.ID, Job: t.Job}
}

// Errors of Check; the server answers all of them with 401, saying which.
var (
	ErrNoToken = errors.New("no token: send Authorization: Bearer TOKEN (reckon tokens create makes one)")
	ErrUnknown = errors.New("unknown token")
	ErrExpired = errors.New("the token has expired")
	ErrRevoked = errors.New("the token was revoked")
)

// secretPrefix marks reckon's tokens, so that secret scanners can find a
// leaked one.
const secretPrefix = "rk_"

// NewSecret is a fresh token secret (256 random bits) and its hash.
func NewSecret() (secret, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	secret = secretPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, Hash(secret), nil
}

// Hash is what the store keeps of a secret. The secret has 256 random
// bits, so a plain SHA-256 (not a slow password hash) cannot be reversed.
func Hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Tokens keeps tokens.
type Tokens interface {
	// CreateToken stores t (an empty ID gets a fresh one).
	CreateToken(ctx context.Context, t Token) (Token, error)
	// TokenByHash finds the token with this hash; ErrUnknown if none.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// ListTokens is every token, newest first.
	ListTokens(ctx context.Context) ([]Token, error)
	// RevokeToken marks a token revoked at now; ErrUnknown if none.
	RevokeToken(ctx context.Context, id string, now time.Time) error
}

// Check is the principal a bearer secret speaks for at now.
func Check(ctx context.Context, ts Tokens, secret string, now time.Time) (Principal, error) {
	if secret == "" {
		return Principal{}, ErrNoToken
	}
	if !strings.HasPrefix(secret, secretPrefix) {
		return Principal{}, ErrUnknown
	}
	h := Hash(secret)
	t, err := ts.TokenByHash(ctx, h)
	if err != nil {
		return Principal{}, err
	}
	// The store found it by hash; compare again without a timing
	// difference, whatever the store's index does.
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(h)) != 1 {
		return Principal{}, ErrUnknown
	}
	switch {
	case !t.Revoked.IsZero():
		return Principal{}, ErrRevoked
	case !t.Expires.IsZero() && !now.Before(t.Expires):
		return Principal{}, ErrExpired
	}
	return t.Principal(), nil
}

// Bearer is the secret of an Authorization header ("" when none).
func Bearer(header string) string {
	scheme, secret, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(secret)
}

// Issue makes a token for user in team with role, valid for ttl (0:
// until revoked): the secret, shown once, and what the store keeps.
func Issue(ctx context.Context, ts Tokens, user, team string, role Role, ttl time.Duration, now time.Time) (string, Token, error) {
	switch {
	case user == "":
		return "", Token{}, errors.New("--user is required: the person or service the token is for")
	case team == "":
		return "", Token{}, errors.New("--team is required: the team whose things the token acts on")
	case !slices.Contains(Roles, role):
		return "", Token{}, fmt.Errorf("role %q: want admin, trainer, predictor or viewer", role)
	case ttl < 0:
		return "", Token{}, errors.New("--expires: want a positive duration")
	}
	secret, hash, err := NewSecret()
	if err != nil {
		return "", Token{}, err
	}
	t := Token{User: user, Team: team, Role: role, Hash: hash, Created: now.UTC()}
	if ttl > 0 {
		t.Expires = now.Add(ttl).UTC()
	}
	t, err = ts.CreateToken(ctx, t)
	return secret, t, err
}

// IssueForJob creates the token a scheduler hands an attempt of job: a
// trainer of the job's team, scoped to the job, named for the user who
// submitted it, living ttl at most (RevokeJob ends it with the attempt).
func IssueForJob(ctx context.Context, ts Tokens, job, user, team string, ttl time.Duration, now time.Time) (string, Token, error) {
	if job == "" {
		return "", Token{}, errors.New("a worker's token needs its job")
	}
	secret, hash, err := NewSecret()
	if err != nil {
		return "", Token{}, err
	}
	t := Token{User: user + " (job " + job + ")", Team: team, Role: Trainer, Hash: hash, Created: now.UTC(), Job: job}
	if ttl > 0 {
		t.Expires = now.Add(ttl).UTC()
	}
	t, err = ts.CreateToken(ctx, t)
	return secret, t, err
}

// RevokeJob revokes every live token scoped to job.
func RevokeJob(ctx context.Context, ts Tokens, job string, now time.Time) error {
	all, err := ts.ListTokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range all {
		if t.Job == job && t.Revoked.IsZero() {
			if err := ts.RevokeToken(ctx, t.ID, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// ParseTTL reads a lifetime: 30d, 12h, 90m (Go durations, plus d for
// days); "" or "never" for none.
func ParseTTL(s string) (time.Duration, error) {
	if s == "" || s == "never" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != days {
			return 0, fmt.Errorf("--expires %q: want a number of days (30d), hours (12h) or never", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires %q: want a number of days (30d), hours (12h) or never", s)
	}
	return d, nil
}
