-- The scheduler's jobs (sched.Store). A job's state moves only by
-- compare-and-set on the state and attempt the caller saw; an attempt is
-- a row whose primary key refuses a second start of the same number.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    seq          BIGINT NOT NULL,
    team         TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    args         TEXT NOT NULL,
    workdir      TEXT NOT NULL,
    flavor       TEXT NOT NULL,
    cpu          DOUBLE PRECISION NOT NULL,
    memory_gb    DOUBLE PRECISION NOT NULL,
    gpus         BIGINT NOT NULL,
    priority     BIGINT NOT NULL,
    shards       BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    expected_ns  BIGINT NOT NULL,
    parent       TEXT NOT NULL,
    state        TEXT NOT NULL,
    submitted_ns BIGINT NOT NULL,
    admitted_ns  BIGINT NOT NULL DEFAULT 0,
    ended_ns     BIGINT NOT NULL DEFAULT 0,
    borrowed     BIGINT NOT NULL DEFAULT 0,
    attempt      BIGINT NOT NULL DEFAULT 0,
    failures     BIGINT NOT NULL DEFAULT 0,
    devices      TEXT NOT NULL DEFAULT '',
    cancel       BIGINT NOT NULL DEFAULT 0,
    preempt      BIGINT NOT NULL DEFAULT 0,
    waiting      BIGINT NOT NULL DEFAULT 0,
    exit_code    BIGINT NOT NULL DEFAULT 0,
    message      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX jobs_seq ON jobs (seq);
CREATE INDEX jobs_state ON jobs (state, seq);
CREATE INDEX jobs_team ON jobs (team, seq);
CREATE INDEX jobs_parent ON jobs (parent, seq);

CREATE TABLE job_attempts (
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    n          BIGINT NOT NULL,
    team       TEXT NOT NULL,
    flavor     TEXT NOT NULL,
    gpus       BIGINT NOT NULL,
    cpu        DOUBLE PRECISION NOT NULL,
    devices    TEXT NOT NULL,
    started_ns BIGINT NOT NULL,
    ended_ns   BIGINT NOT NULL DEFAULT 0,
    outcome    TEXT NOT NULL DEFAULT '',
    exit_code  BIGINT NOT NULL DEFAULT 0,
    message    TEXT NOT NULL DEFAULT '',
    log_blob   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, n)
);
CREATE INDEX job_attempts_ended ON job_attempts (ended_ns);

CREATE TABLE job_runs (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    run_id TEXT NOT NULL,
    PRIMARY KEY (job_id, run_id)
);

-- Named leases: one scheduler at a time holds "scheduler".
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_ns BIGINT NOT NULL
);
