-- One version per (model, content): Register looks the bytes up here and
-- the primary key refuses a second version of the same bytes even if two
-- registrations slipped past the lookup. A table rather than a unique
-- index on versions, because stores written before this migration may
-- already hold duplicates: each keeps its first version.
CREATE TABLE version_bytes (
    model   TEXT NOT NULL REFERENCES models (name),
    sha256  TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (model, sha256)
);
INSERT INTO version_bytes (model, sha256, version)
    SELECT model, sha256, MIN(version) FROM versions GROUP BY model, sha256;
