-- API tokens (auth.Tokens): a user, a team and a role each; only the
-- SHA-256 of the secret is kept, and found by it.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    user_name  TEXT NOT NULL,
    team       TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_ns BIGINT NOT NULL,
    expires_ns BIGINT NOT NULL,
    revoked_ns BIGINT NOT NULL
);
