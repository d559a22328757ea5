-- Batch handovers between a post office and an agency (biên bản bàn giao), and couriers' closed
-- days. Version 4 is
-- River's schema, applied by storage's Go migration.

-- +goose Up
CREATE TABLE manifests (
    id             uuid PRIMARY KEY,
    direction      text NOT NULL CONSTRAINT manifests_direction_check CHECK (direction IN ('to_agency', 'from_agency')),
    post_office_id uuid NOT NULL REFERENCES post_offices (id),
    agency_id      uuid NOT NULL REFERENCES agencies (id),
    seal_number    text NOT NULL DEFAULT '',
    sent_by        uuid NOT NULL,
    sent_at        timestamptz NOT NULL,
    received_by    uuid,
    received_at    timestamptz,
    note           text NOT NULL DEFAULT '',
    discrepancies  integer NOT NULL DEFAULT 0,
    version        integer NOT NULL
);
CREATE INDEX manifests_post_office_idx ON manifests (post_office_id, sent_at);
CREATE INDEX manifests_agency_idx ON manifests (agency_id, sent_at);

CREATE TABLE manifest_items (
    manifest_id uuid NOT NULL REFERENCES manifests (id),
    position    integer NOT NULL,
    dossier_id  uuid NOT NULL CONSTRAINT manifest_items_dossier_fk REFERENCES dossiers (id),
    status      text NOT NULL CONSTRAINT manifest_items_status_check CHECK (status IN ('sent', 'received', 'missing', 'extra')),
    PRIMARY KEY (manifest_id, position),
    CONSTRAINT manifest_items_once UNIQUE (manifest_id, dossier_id)
);

-- A courier's closed day: what was left in the bag, and why, is kept with it.
CREATE TABLE courier_days (
    courier_id   uuid NOT NULL REFERENCES couriers (id),
    day          date NOT NULL,
    closed_at    timestamptz NOT NULL,
    closed_by    uuid NOT NULL,
    explanations jsonb NOT NULL DEFAULT '[]',
    PRIMARY KEY (courier_id, day)
);

-- +goose Down
DROP TABLE courier_days;
DROP TABLE manifest_items;
DROP TABLE manifests;
