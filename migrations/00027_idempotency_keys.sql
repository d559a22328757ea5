-- Expand. Idempotency-Key: one row per caller and key, holding the fingerprint of the first
-- request and, once it is answered, its answer (the body sealed with the data keys). A row
-- without a status is a request still running; its lease lets a retry take it over if that
-- request died midway. Rows are forgotten by the retention job once expires_at has passed.

-- +goose Up
CREATE TABLE idempotency_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope         text NOT NULL,
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  text NOT NULL,
    lease         text NOT NULL,
    locked_until  timestamptz NOT NULL,
    status        smallint CHECK (status BETWEEN 100 AND 599),
    header        jsonb,
    body_sealed   text,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    UNIQUE (scope, key)
);
CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
