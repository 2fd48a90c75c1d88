-- The notification outbox. Events are kept once per key; an alert's
-- current state (firing or resolved, and how many transitions it had) is in
-- outbox_alerts, so a trigger of a firing alert or a resolve of a resolved
-- one is dropped. Each event is routed once into one delivery per
-- receiver: UNIQUE (event_id, receiver) is what makes a delivery happen
-- once per receiver whoever routes it.

-- +goose Up
CREATE TABLE outbox_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_key  TEXT    NOT NULL UNIQUE,
    alert_key  TEXT    NOT NULL DEFAULT '',
    kind       TEXT    NOT NULL,
    action     TEXT    NOT NULL CHECK (action IN ('trigger', 'resolve', 'notice')),
    severity   INTEGER NOT NULL,
    title      TEXT    NOT NULL,
    summary    TEXT    NOT NULL DEFAULT '',
    labels     TEXT    NOT NULL DEFAULT '{}',
    path       TEXT    NOT NULL DEFAULT '',
    starts_at  BIGINT  NOT NULL,
    ends_at    BIGINT,
    created_at BIGINT  NOT NULL,
    routed_at  BIGINT
);
CREATE INDEX outbox_events_unrouted ON outbox_events (id) WHERE routed_at IS NULL;

CREATE TABLE outbox_alerts (
    alert_key  TEXT   PRIMARY KEY,
    generation BIGINT NOT NULL,
    action     TEXT   NOT NULL CHECK (action IN ('trigger', 'resolve')),
    event_id   BIGINT NOT NULL REFERENCES outbox_events (id)
);
CREATE INDEX outbox_alerts_firing ON outbox_alerts (action);

CREATE TABLE outbox_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        BIGINT  NOT NULL REFERENCES outbox_events (id),
    receiver        TEXT    NOT NULL,
    -- alert_key repeats the event's, so that claiming can keep an alert's
    -- deliveries to one receiver in order without a join.
    alert_key       TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    claimed_by      TEXT    NOT NULL DEFAULT '',
    claimed_until   BIGINT,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    delivered_at    BIGINT,
    UNIQUE (event_id, receiver)
);
CREATE INDEX outbox_deliveries_pending ON outbox_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_deliveries_alert ON outbox_deliveries (receiver, alert_key, id) WHERE state = 'pending';

-- +goose Down
DROP TABLE outbox_deliveries;
DROP TABLE outbox_alerts;
DROP TABLE outbox_events;
