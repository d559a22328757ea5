-- What devices push: per device, the last sequence number applied; per mutation, its
-- outcome, kept so that a retry gets the first answer again; and the quarantine, where
-- facts from the field that could not be applied wait for a dispatcher.

-- +goose Up
CREATE TABLE sync_devices (
    device_id  uuid PRIMARY KEY REFERENCES devices (id),
    courier_id uuid NOT NULL REFERENCES couriers (id),
    last_seq   bigint NOT NULL DEFAULT 0
);

CREATE TABLE sync_mutations (
    device_id    uuid NOT NULL REFERENCES devices (id),
    seq          bigint NOT NULL,
    id           uuid NOT NULL CONSTRAINT sync_mutations_id_key UNIQUE,
    type         text NOT NULL,
    request_hash text NOT NULL,
    status       text NOT NULL CONSTRAINT sync_mutations_status_check CHECK (status IN ('applied', 'rejected')),
    code         text NOT NULL DEFAULT '',
    detail       text NOT NULL DEFAULT '',
    applied_at   timestamptz NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE sync_quarantine (
    mutation_id uuid PRIMARY KEY REFERENCES sync_mutations (id),
    device_id   uuid NOT NULL,
    courier_id  uuid NOT NULL,
    task_id     uuid,
    type        text NOT NULL,
    code        text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    resolved_at timestamptz,
    resolved_by uuid,
    resolution  text NOT NULL DEFAULT ''
);
CREATE INDEX sync_quarantine_open_idx ON sync_quarantine (created_at) WHERE resolved_at IS NULL;

-- +goose Down
DROP TABLE sync_quarantine;
DROP TABLE sync_mutations;
DROP TABLE sync_devices;
