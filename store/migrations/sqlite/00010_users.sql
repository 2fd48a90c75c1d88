-- Users, their sessions and API tokens, for `rampart serve`. Secrets are
-- never stored: sessions and tokens by the SHA-256 of their secret,
-- passwords as argon2id hashes.

-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL DEFAULT '',
    email         TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'auditor', 'viewer')),
    source        TEXT    NOT NULL CHECK (source IN ('local', 'oidc')),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at    BIGINT,
    created_at    BIGINT  NOT NULL,
    last_login_at BIGINT,
    password_hash TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE sessions (
    id_hash    TEXT   PRIMARY KEY,
    user_name  TEXT   NOT NULL REFERENCES users (name),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    source     TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_name);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'editor', 'auditor', 'viewer')),
    created_by   TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    revoked_at   BIGINT,
    last_used_at BIGINT
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
