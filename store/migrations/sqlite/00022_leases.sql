-- Leases: a named right to act, held by one process until it expires (the
-- scheduler's leadership). A holder renews its row; another takes it only
-- once it has expired. The same row works on SQLite and PostgreSQL, and
-- through connection poolers, where session advisory locks do not.
--
-- schedule_runs claims each scheduled job once per period: the primary key
-- is the job and the period's start. A claim that lapses unfinished (its
-- holder died) may be taken again.

-- +goose Up
CREATE TABLE leases (
    name        TEXT   PRIMARY KEY,
    holder      TEXT   NOT NULL,
    acquired_at BIGINT NOT NULL,
    renewed_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);

CREATE TABLE schedule_runs (
    job           TEXT   NOT NULL,
    due_at        BIGINT NOT NULL,
    holder        TEXT   NOT NULL,
    started_at    BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL,
    finished_at   BIGINT,
    outcome       TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (job, due_at)
);

-- +goose Down
DROP TABLE schedule_runs;
DROP TABLE leases;
