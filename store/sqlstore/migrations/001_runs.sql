-- One schema for SQLite and PostgreSQL: only types and syntax both accept
-- (BIGINT, DOUBLE PRECISION, TEXT; ON CONFLICT upserts). Times are Unix
-- nanoseconds.
CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    team         TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    status       TEXT NOT NULL,
    parent       TEXT NOT NULL DEFAULT '',
    started_ns   BIGINT NOT NULL,
    ended_ns     BIGINT NOT NULL DEFAULT 0,
    heartbeat_ns BIGINT NOT NULL,
    code_version TEXT NOT NULL,
    seed         BIGINT NOT NULL
);
CREATE INDEX runs_started ON runs (started_ns);
CREATE INDEX runs_team_started ON runs (team, started_ns);
CREATE INDEX runs_status ON runs (status, heartbeat_ns);
CREATE INDEX runs_parent ON runs (parent);
CREATE INDEX runs_name ON runs (name, started_ns);

CREATE TABLE params (
    run_id TEXT NOT NULL REFERENCES runs (id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE tags (
    run_id TEXT NOT NULL REFERENCES runs (id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);

CREATE TABLE run_inputs (
    run_id TEXT NOT NULL REFERENCES runs (id),
    name   TEXT NOT NULL,
    hash   TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE metrics (
    run_id  TEXT NOT NULL REFERENCES runs (id),
    key     TEXT NOT NULL,
    step    BIGINT NOT NULL,
    value   DOUBLE PRECISION NOT NULL,
    time_ns BIGINT NOT NULL
);
CREATE INDEX metrics_run_key_step ON metrics (run_id, key, step);

-- The last value of each metric per run, kept by LogMetrics, so listing and
-- sorting runs by a metric never scans the series.
CREATE TABLE last_metrics (
    run_id TEXT NOT NULL REFERENCES runs (id),
    key    TEXT NOT NULL,
    step   BIGINT NOT NULL,
    value  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX last_metrics_key_value ON last_metrics (key, value);

CREATE TABLE artifacts (
    run_id  TEXT NOT NULL REFERENCES runs (id),
    name    TEXT NOT NULL,
    blob    TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    size    BIGINT NOT NULL,
    time_ns BIGINT NOT NULL,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE datasets (
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL,
    source     TEXT NOT NULL,
    schema     TEXT NOT NULL,
    nrows      BIGINT NOT NULL,
    created_ns BIGINT NOT NULL,
    PRIMARY KEY (name, hash)
);

CREATE TABLE models (
    name       TEXT PRIMARY KEY,
    created_ns BIGINT NOT NULL,
    latest     BIGINT NOT NULL
);

CREATE TABLE versions (
    model      TEXT NOT NULL REFERENCES models (name),
    version    BIGINT NOT NULL,
    run_id     TEXT NOT NULL REFERENCES runs (id),
    kind       TEXT NOT NULL,
    blob       TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    data_hash  TEXT NOT NULL,
    metrics    TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_ns BIGINT NOT NULL,
    PRIMARY KEY (model, version)
);

CREATE TABLE aliases (
    model   TEXT NOT NULL REFERENCES models (name),
    alias   TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (model, alias)
);

-- Every alias move, never updated or deleted.
CREATE TABLE alias_audit (
    model        TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    alias        TEXT NOT NULL,
    from_version BIGINT NOT NULL,
    to_version   BIGINT NOT NULL,
    who          TEXT NOT NULL,
    why          TEXT NOT NULL,
    time_ns      BIGINT NOT NULL,
    PRIMARY KEY (model, seq)
);

CREATE TABLE step_cache (
    key        TEXT PRIMARY KEY,
    step       TEXT NOT NULL,
    run_id     TEXT NOT NULL REFERENCES runs (id),
    output     TEXT NOT NULL,
    created_ns BIGINT NOT NULL
);
