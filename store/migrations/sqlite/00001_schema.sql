-- Times are UTC microseconds since the Unix epoch (BIGINT), so that what
-- the audit chain hashed is exactly what is read back. NULL means unset.

-- +goose Up
CREATE TABLE scans (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at   BIGINT  NOT NULL,
    finished_at  BIGINT,
    state        TEXT    NOT NULL CHECK (state IN ('running', 'done', 'interrupted')),
    triggered_by TEXT    NOT NULL,
    resources    INTEGER NOT NULL DEFAULT 0,
    pass         INTEGER NOT NULL DEFAULT 0,
    fail         INTEGER NOT NULL DEFAULT 0,
    errors       INTEGER NOT NULL DEFAULT 0,
    -- owner identifies the process running the scan (host|boot|pidns|pid|start)
    -- and lease_until is renewed while it runs: together they tell a later
    -- opener whether a running scan was abandoned.
    owner        TEXT    NOT NULL DEFAULT '',
    lease_until  BIGINT
);
CREATE INDEX scans_running ON scans (state) WHERE state = 'running';

CREATE TABLE evidence (
    sha256       TEXT    PRIMARY KEY,
    kind         TEXT    NOT NULL,
    media_type   TEXT    NOT NULL,
    size         BIGINT  NOT NULL,
    resource_id  TEXT    NOT NULL DEFAULT '',
    description  TEXT    NOT NULL DEFAULT '',
    period_start BIGINT,
    period_end   BIGINT,
    expires_at   BIGINT,
    created_at   BIGINT  NOT NULL,
    content      BLOB    NOT NULL
);

CREATE TABLE results (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    scan_id         BIGINT  NOT NULL REFERENCES scans (id),
    resource_id     TEXT    NOT NULL,
    check_id        TEXT    NOT NULL,
    check_version   INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    severity        INTEGER NOT NULL,
    reason          TEXT    NOT NULL DEFAULT '',
    findings        TEXT,
    evidence_sha256 TEXT    REFERENCES evidence (sha256),
    at              BIGINT  NOT NULL
);
CREATE INDEX results_scan ON results (scan_id, resource_id, check_id);
CREATE INDEX results_history ON results (resource_id, check_id, at);

-- One row per resource and check, pointing at its newest result.
CREATE TABLE latest_results (
    resource_id TEXT   NOT NULL,
    check_id    TEXT   NOT NULL,
    result_id   BIGINT NOT NULL REFERENCES results (id),
    at          BIGINT NOT NULL,
    PRIMARY KEY (resource_id, check_id)
);

CREATE TABLE tasks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT    NOT NULL UNIQUE,
    check_id    TEXT    NOT NULL,
    resource_id TEXT    NOT NULL,
    item        TEXT    NOT NULL,
    title       TEXT    NOT NULL DEFAULT '',
    message     TEXT    NOT NULL DEFAULT '',
    location    TEXT,
    severity    INTEGER NOT NULL,
    criticality INTEGER NOT NULL,
    area        TEXT    NOT NULL DEFAULT '',
    owner       TEXT    NOT NULL DEFAULT '',
    assignee    TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL CHECK (status IN ('open', 'in_progress', 'resolved')),
    regression  BOOLEAN NOT NULL DEFAULT FALSE,
    opened_at   BIGINT  NOT NULL,
    first_seen  BIGINT  NOT NULL,
    last_seen   BIGINT  NOT NULL,
    resolved_at BIGINT
);
CREATE INDEX tasks_resource ON tasks (resource_id);
CREATE INDEX tasks_status ON tasks (status);

CREATE TABLE exceptions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    check_id    TEXT   NOT NULL,
    resource_id TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL DEFAULT '',
    reason      TEXT   NOT NULL,
    approver    TEXT   NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    revoked_by  TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX exceptions_active ON exceptions (expires_at) WHERE revoked_at IS NULL;

-- The audit log is append-only and hash-chained; seq is set by the store,
-- never by the database, so that a gap shows.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY,
    at          BIGINT  NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    object      TEXT    NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    source      TEXT    NOT NULL DEFAULT '',
    prev        TEXT    NOT NULL,
    hash        TEXT    NOT NULL
);
CREATE INDEX audit_object ON audit (object, seq);
CREATE INDEX audit_actor ON audit (actor, seq);

-- The chain's head: the last seq and hash. Appenders lock this one row, so
-- two appending at once queue instead of forking the chain, and a removed
-- tail shows as a head that points past the last entry.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- +goose Down
DROP TABLE audit_head;
DROP TABLE audit;
DROP TABLE exceptions;
DROP TABLE tasks;
DROP TABLE latest_results;
DROP TABLE results;
DROP TABLE evidence;
DROP TABLE scans;
