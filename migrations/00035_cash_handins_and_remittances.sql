-- Expand. What the record lacked between a courier's takings and an agency's account: the counter
-- receiving a courier's cash, and the post's transfer of an agency's fees.
--
-- A hand-in covers the cash lines of one courier's day not handed in before; each line is
-- covered once (cash_handin_lines' key), so two hand-ins of the same lines, even at the same
-- instant, cannot both commit. The counted amount is kept beside what was due: a shortfall
-- or a surplus is recorded, never adjusted away.
--
-- A remittance settles the agency's share of money received for its dossiers: each cash
-- line and each bank transfer is settled once (remitted_money's unique columns), so a
-- dossier's share is never remitted twice, whatever the periods asked.

-- NO TRANSACTION: each table referencing tables the running release writes takes its
-- foreign keys one statement at a time, so the migration never holds one such table's lock
-- while waiting for another's (a deadlock with live traffic); IF NOT EXISTS and the guarded
-- constraints let a run that stopped half-way run again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS cash_handins (
    id             uuid PRIMARY KEY,
    courier_id     uuid NOT NULL,
    post_office_id uuid NOT NULL,
    day            date NOT NULL,
    to_hand_in_vnd bigint NOT NULL CONSTRAINT cash_handins_due_check CHECK (to_hand_in_vnd BETWEEN 1 AND 9007199254740991),
    counted_vnd    bigint NOT NULL CONSTRAINT cash_handins_counted_check CHECK (counted_vnd BETWEEN 0 AND 9007199254740991),
    received_by    uuid NOT NULL,
    handed_in_at   timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS cash_handins_courier_day_idx ON cash_handins (courier_id, day);
CREATE INDEX IF NOT EXISTS cash_handins_day_idx ON cash_handins (day, post_office_id);

CREATE TABLE IF NOT EXISTS cash_handin_lines (
    collection_id uuid PRIMARY KEY,
    handin_id     uuid NOT NULL REFERENCES cash_handins (id)
);
CREATE INDEX IF NOT EXISTS cash_handin_lines_handin_idx ON cash_handin_lines (handin_id);

CREATE TABLE IF NOT EXISTS remittances (
    id             uuid PRIMARY KEY,
    agency_id      uuid NOT NULL,
    period_from    date NOT NULL,
    period_to      date NOT NULL CHECK (period_to > period_from),
    remitted_vnd   bigint NOT NULL CONSTRAINT remittances_amount_check CHECK (remitted_vnd BETWEEN 1 AND 9007199254740991),
    bank_reference text NOT NULL,
    recorded_by    uuid NOT NULL,
    remitted_at    timestamptz NOT NULL,
    CONSTRAINT remittances_reference_once UNIQUE (agency_id, bank_reference)
);
CREATE INDEX IF NOT EXISTS remittances_remitted_at_idx ON remittances (remitted_at);

-- One row per settled receipt of money: a courier's cash line or a bank transfer.
CREATE TABLE IF NOT EXISTS remitted_money (
    remittance_id uuid NOT NULL REFERENCES remittances (id),
    dossier_id    uuid NOT NULL,
    collection_id uuid CONSTRAINT remitted_money_collection_once UNIQUE,
    payment_id    uuid CONSTRAINT remitted_money_payment_once UNIQUE,
    agency_vnd    bigint NOT NULL CONSTRAINT remitted_money_share_check CHECK (agency_vnd BETWEEN 0 AND 9007199254740991),
    CHECK ((collection_id IS NULL) <> (payment_id IS NULL))
);
CREATE INDEX IF NOT EXISTS remitted_money_remittance_idx ON remitted_money (remittance_id);
CREATE INDEX IF NOT EXISTS remitted_money_dossier_idx ON remitted_money (dossier_id);

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE cash_handins ADD CONSTRAINT cash_handins_courier_id_fkey FOREIGN KEY (courier_id) REFERENCES couriers (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE cash_handins ADD CONSTRAINT cash_handins_post_office_id_fkey FOREIGN KEY (post_office_id) REFERENCES post_offices (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE cash_handins ADD CONSTRAINT cash_handins_received_by_fkey FOREIGN KEY (received_by) REFERENCES accounts (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE cash_handin_lines ADD CONSTRAINT cash_handin_lines_collection_id_fkey FOREIGN KEY (collection_id) REFERENCES cash_collections (mutation_id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE remittances ADD CONSTRAINT remittances_agency_id_fkey FOREIGN KEY (agency_id) REFERENCES agencies (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE remittances ADD CONSTRAINT remittances_recorded_by_fkey FOREIGN KEY (recorded_by) REFERENCES accounts (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE remitted_money ADD CONSTRAINT remitted_money_dossier_id_fkey FOREIGN KEY (dossier_id) REFERENCES dossiers (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE remitted_money ADD CONSTRAINT remitted_money_collection_id_fkey FOREIGN KEY (collection_id) REFERENCES cash_collections (mutation_id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE remitted_money ADD CONSTRAINT remitted_money_payment_id_fkey FOREIGN KEY (payment_id) REFERENCES payments (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE IF EXISTS remitted_money;
DROP TABLE IF EXISTS remittances;
DROP TABLE IF EXISTS cash_handin_lines;
DROP TABLE IF EXISTS cash_handins;
