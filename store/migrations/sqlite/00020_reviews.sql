-- Periodic reviews: one row per control, resource ('' for the whole estate)
-- and period, so that a scheduler opening a review twice opens it once.
-- Times are UTC microseconds, as everywhere in the store.

-- +goose Up
CREATE TABLE reviews (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    control_id     TEXT    NOT NULL,
    resource_id    TEXT    NOT NULL DEFAULT '',
    title          TEXT    NOT NULL DEFAULT '',
    procedure_text TEXT    NOT NULL DEFAULT '',
    owner          TEXT    NOT NULL DEFAULT '',
    area           TEXT    NOT NULL DEFAULT '',
    environment    TEXT    NOT NULL DEFAULT '',
    periodicity    TEXT    NOT NULL,
    due_at         BIGINT  NOT NULL,
    due_by         BIGINT  NOT NULL,
    next_due_at    BIGINT  NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('open', 'completed')),
    created_at     BIGINT  NOT NULL,
    completed_at   BIGINT,
    attested_by    TEXT    NOT NULL DEFAULT '',
    statement      TEXT    NOT NULL DEFAULT '',
    attested_at    BIGINT,
    period_start   BIGINT,
    period_end     BIGINT,
    UNIQUE (control_id, resource_id, due_at)
);
CREATE INDEX reviews_open ON reviews (due_by) WHERE status = 'open';

-- The evidence a completed review cites. The evidence row is shared by
-- content; the period it covers and its expiry belong to the citation.
CREATE TABLE review_evidence (
    review_id    BIGINT NOT NULL REFERENCES reviews (id),
    sha256       TEXT   NOT NULL REFERENCES evidence (sha256),
    kind         TEXT   NOT NULL CHECK (kind IN ('upload', 'link')),
    name         TEXT   NOT NULL DEFAULT '',
    url          TEXT   NOT NULL DEFAULT '',
    period_start BIGINT NOT NULL,
    period_end   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (review_id, sha256)
);

-- +goose Down
DROP TABLE review_evidence;
DROP TABLE reviews;
