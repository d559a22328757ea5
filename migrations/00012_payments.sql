-- Payments banks and gateways report for dossiers (a VietQR transfer). One row per bank
-- transaction: a report repeated finds its row.

-- +goose Up
CREATE TABLE payments (
    id             uuid PRIMARY KEY,
    dossier_id     uuid NOT NULL REFERENCES dossiers (id),
    transaction_id text NOT NULL CONSTRAINT payments_transaction_once UNIQUE,
    amount_vnd     bigint NOT NULL CONSTRAINT payments_amount_check CHECK (amount_vnd > 0),
    paid_at        timestamptz NOT NULL,
    received_at    timestamptz NOT NULL
);
CREATE INDEX payments_dossier_idx ON payments (dossier_id);

-- +goose Down
DROP TABLE payments;
