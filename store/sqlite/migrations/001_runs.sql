CREATE TABLE runs (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    team         TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    status       TEXT NOT NULL,
    started_ns   INTEGER NOT NULL,
    ended_ns     INTEGER NOT NULL DEFAULT 0,
    heartbeat_ns INTEGER NOT NULL,
    code_version TEXT NOT NULL,
    seed         INTEGER NOT NULL
);
CREATE INDEX runs_team_started ON runs (team, started_ns);
CREATE INDEX runs_status ON runs (status, heartbeat_ns);

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

CREATE TABLE metrics (
    run_id  TEXT NOT NULL REFERENCES runs (id),
    key     TEXT NOT NULL,
    step    INTEGER NOT NULL,
    value   REAL NOT NULL,
    time_ns INTEGER NOT NULL
);
CREATE INDEX metrics_run_key_step ON metrics (run_id, key, step);

-- The last value of each metric per run, kept by LogMetrics, so listing and
-- sorting runs by a metric never scans the series.
CREATE TABLE last_metrics (
    run_id TEXT NOT NULL REFERENCES runs (id),
    key    TEXT NOT NULL,
    step   INTEGER NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX last_metrics_key_value ON last_metrics (key, value);
