-- What couriers report from the field, kept whole: each applied mutation's payload with
-- its dossier (the document checklist, who received what, notes), and the ledger of money
-- couriers took at stops, which a day's cash is counted against. Payloads hold personal
-- data (recipients' names), kept as long as the dossier's own records. Both outlive the
-- mutation log they came through (pruned after SYNC_RETENTION_DAYS), so the mutation id is
-- their key, not a reference.

-- +goose Up
-- Mutations at or below pruned_through were applied and their answers forgotten: a retry of
-- one is answered duplicate without its first answer.
ALTER TABLE sync_devices ADD COLUMN pruned_through bigint NOT NULL DEFAULT 0;

CREATE INDEX courier_changes_at_idx ON courier_changes (at);
CREATE INDEX sync_mutations_applied_at_idx ON sync_mutations (applied_at);

CREATE TABLE field_reports (
    mutation_id  uuid PRIMARY KEY,
    dossier_id   uuid NOT NULL REFERENCES dossiers (id),
    task_id      uuid NOT NULL REFERENCES tasks (id),
    courier_id   uuid NOT NULL REFERENCES couriers (id),
    device_id    uuid NOT NULL,
    seq          bigint NOT NULL,
    type         text NOT NULL,
    task_version integer,
    payload      jsonb NOT NULL,
    occurred_at  timestamptz NOT NULL,
    lat          double precision,
    lon          double precision,
    accuracy_m   real,
    recorded_at  timestamptz NOT NULL
);
CREATE INDEX field_reports_dossier_idx ON field_reports (dossier_id, recorded_at);

CREATE TABLE cash_collections (
    mutation_id    uuid PRIMARY KEY,
    dossier_id     uuid NOT NULL REFERENCES dossiers (id),
    task_id        uuid NOT NULL REFERENCES tasks (id),
    courier_id     uuid NOT NULL REFERENCES couriers (id),
    amount_vnd     bigint NOT NULL CONSTRAINT cash_collections_amount_check CHECK (amount_vnd > 0),
    method         text NOT NULL CONSTRAINT cash_collections_method_check CHECK (method IN ('cash', 'bank_transfer', 'qr')),
    receipt_number text NOT NULL DEFAULT '',
    collected_at   timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL
);
CREATE INDEX cash_collections_courier_idx ON cash_collections (courier_id, collected_at);

-- +goose Down
DROP TABLE cash_collections;
DROP TABLE field_reports;
DROP INDEX sync_mutations_applied_at_idx;
DROP INDEX courier_changes_at_idx;
ALTER TABLE sync_devices DROP COLUMN pruned_through;
