-- The change feed that couriers' devices pull: per courier, a counter and the changes it
-- numbers. The counter row is updated inside every writing transaction, so its row lock
-- makes the numbering follow commit order: a device that has pulled up to v can never
-- later miss a change numbered below v (a sequence or a timestamp would allow that).

-- +goose Up
CREATE TABLE courier_sync_state (
    courier_id uuid PRIMARY KEY REFERENCES couriers (id),
    v          bigint NOT NULL
);

CREATE TABLE courier_changes (
    courier_id uuid NOT NULL REFERENCES couriers (id),
    v          bigint NOT NULL,
    entity     text NOT NULL,
    op         text NOT NULL CONSTRAINT courier_changes_op_check CHECK (op IN ('upsert', 'remove')),
    entity_id  uuid NOT NULL,
    -- The device's view of the entity (for a task: the stop, the applicant's name, phone,
    -- address and point). Personal data: kept only as long as the feed's retention.
    data       jsonb,
    reason     text NOT NULL DEFAULT '',
    at         timestamptz NOT NULL,
    PRIMARY KEY (courier_id, v)
);

-- +goose Down
DROP TABLE courier_changes;
DROP TABLE courier_sync_state;
