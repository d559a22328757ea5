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

-- +goose Up
CREATE TABLE cash_handins (
    id             uuid PRIMARY KEY,
    courier_id     uuid NOT NULL REFERENCES couriers (id),
    post_office_id uuid NOT NULL REFERENCES post_offices (id),
    day            date NOT NULL,
    to_hand_in_vnd bigint NOT NULL CONSTRAINT cash_handins_due_check CHECK (to_hand_in_vnd BETWEEN 1 AND 9007199254740991),
    counted_vnd    bigint NOT NULL CONSTRAINT cash_handins_counted_check CHECK (counted_vnd BETWEEN 0 AND 9007199254740991),
    received_by    uuid NOT NULL REFERENCES accounts (id),
    handed_in_at   timestamptz NOT NULL
);
CREATE INDEX cash_handins_courier_day_idx ON cash_handins (courier_id, day);
CREATE INDEX cash_handins_day_idx ON cash_handins (day, post_office_id);

CREATE TABLE cash_handin_lines (
    collection_id uuid PRIMARY KEY REFERENCES cash_collections (mutation_id),
    handin_id     uuid NOT NULL REFERENCES cash_handins (id)
);
CREATE INDEX cash_handin_lines_handin_idx ON cash_handin_lines (handin_id);

CREATE TABLE remittances (
    id             uuid PRIMARY KEY,
    agency_id      uuid NOT NULL REFERENCES agencies (id),
    period_from    date NOT NULL,
    period_to      date NOT NULL CHECK (period_to > period_from),
    remitted_vnd   bigint NOT NULL CONSTRAINT remittances_amount_check CHECK (remitted_vnd BETWEEN 1 AND 9007199254740991),
    bank_reference text NOT NULL,
    recorded_by    uuid NOT NULL REFERENCES accounts (id),
    remitted_at    timestamptz NOT NULL,
    CONSTRAINT remittances_reference_once UNIQUE (agency_id, bank_reference)
);
CREATE INDEX remittances_remitted_at_idx ON remittances (remitted_at);

-- One row per settled receipt of money: a courier's cash line or a bank transfer.
CREATE TABLE remitted_money (
    remittance_id uuid NOT NULL REFERENCES remittances (id),
    dossier_id    uuid NOT NULL REFERENCES dossiers (id),
    collection_id uuid CONSTRAINT remitted_money_collection_once UNIQUE REFERENCES cash_collections (mutation_id),
    payment_id    uuid CONSTRAINT remitted_money_payment_once UNIQUE REFERENCES payments (id),
    agency_vnd    bigint NOT NULL CONSTRAINT remitted_money_share_check CHECK (agency_vnd BETWEEN 0 AND 9007199254740991),
    CHECK ((collection_id IS NULL) <> (payment_id IS NULL))
);
CREATE INDEX remitted_money_remittance_idx ON remitted_money (remittance_id);
CREATE INDEX remitted_money_dossier_idx ON remitted_money (dossier_id);

-- +goose Down
DROP TABLE remitted_money;
DROP TABLE remittances;
DROP TABLE cash_handin_lines;
DROP TABLE cash_handins;
