-- Dossiers, their field tasks, their history, and the custody ledger.

-- +goose Up
CREATE TABLE dossiers (
    id                   uuid PRIMARY KEY,
    receipt_code         text NOT NULL CONSTRAINT dossiers_receipt_code_key UNIQUE,
    procedure_id         uuid NOT NULL CONSTRAINT dossiers_procedure_fk REFERENCES procedures (id),
    agency_id            uuid NOT NULL CONSTRAINT dossiers_agency_fk REFERENCES agencies (id),
    post_office_id       uuid NOT NULL CONSTRAINT dossiers_post_office_fk REFERENCES post_offices (id),
    applicant_name       text NOT NULL,
    applicant_phone      text NOT NULL,
    -- A keyed hash of the phone: what a citizen's token names them by.
    applicant_phone_index text NOT NULL,
    -- The citizen ID number: sealed (AES-256-GCM, "keyid:base64"), a keyed hash to find it
    -- by, and its last three digits for the masked form. Never in clear.
    citizen_id_sealed    text NOT NULL,
    citizen_id_index     text NOT NULL,
    citizen_id_tail      text NOT NULL,
    applicant_address    text NOT NULL,
    admin_unit_code      text NOT NULL CONSTRAINT dossiers_admin_unit_fk REFERENCES admin_units (code),
    lon                  double precision NOT NULL,
    lat                  double precision NOT NULL,
    pickup               boolean NOT NULL,
    return_by_post       boolean NOT NULL,
    fee_vnd              bigint NOT NULL CHECK (fee_vnd >= 0),
    postage_vnd          bigint NOT NULL CHECK (postage_vnd >= 0),
    payment_method       text NOT NULL,
    channel              text NOT NULL,
    portal_ref           text NOT NULL DEFAULT '',
    outside_service_area boolean NOT NULL,
    state                text NOT NULL,
    rejected             boolean NOT NULL DEFAULT false,
    failed_attempts      integer NOT NULL DEFAULT 0,
    holder_kind          text NOT NULL,
    holder_id            uuid NOT NULL,
    pickup_due           date,
    received_at          timestamptz,
    appointment_date     date,
    result_ready_at      timestamptz,
    delivery_due         date,
    held_until           date,
    delivered_at         timestamptz,
    -- The date the current leg is due by, kept with every change so lists can filter on it.
    next_deadline        date,
    custody_count        integer NOT NULL DEFAULT 0,
    custody_head         text NOT NULL DEFAULT '',
    version              integer NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT dossiers_direction_check CHECK (pickup OR return_by_post)
);
CREATE INDEX dossiers_post_office_idx ON dossiers (post_office_id, state);
CREATE INDEX dossiers_agency_idx ON dossiers (agency_id, state);
CREATE INDEX dossiers_holder_idx ON dossiers (holder_kind, holder_id);
CREATE INDEX dossiers_deadline_idx ON dossiers (next_deadline) WHERE next_deadline IS NOT NULL;
CREATE INDEX dossiers_citizen_idx ON dossiers (citizen_id_index);
CREATE INDEX dossiers_phone_idx ON dossiers (applicant_phone_index);
-- A portal's retry must not open a second dossier.
CREATE UNIQUE INDEX dossiers_portal_ref_key ON dossiers (portal_ref) WHERE channel = 'portal';

CREATE TABLE tasks (
    id              uuid PRIMARY KEY,
    dossier_id      uuid NOT NULL REFERENCES dossiers (id),
    post_office_id  uuid NOT NULL REFERENCES post_offices (id),
    kind            text NOT NULL CONSTRAINT tasks_kind_check CHECK (kind IN ('pickup', 'dropoff', 'collection', 'delivery')),
    state           text NOT NULL,
    courier_id      uuid REFERENCES couriers (id),
    scheduled_for   date,
    attempts        integer NOT NULL DEFAULT 0,
    failure_reason  text NOT NULL DEFAULT '',
    version         integer NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT tasks_one_per_kind UNIQUE (dossier_id, kind)
);
CREATE INDEX tasks_courier_idx ON tasks (courier_id, state) WHERE courier_id IS NOT NULL;
CREATE INDEX tasks_post_office_idx ON tasks (post_office_id, state, scheduled_for);

-- The dossier's history: what happened, when, by which role. The public timeline is
-- drawn from it in plain words.
CREATE TABLE dossier_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dossier_id  uuid NOT NULL REFERENCES dossiers (id),
    at          timestamptz NOT NULL,
    event       text NOT NULL,
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    actor_role  text NOT NULL,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX dossier_events_dossier_idx ON dossier_events (dossier_id, id);

-- Every handover, hash-chained per dossier (see domain/dossier.CustodyEntry). Append-only.
CREATE TABLE custody_entries (
    dossier_id       uuid NOT NULL REFERENCES dossiers (id),
    seq              integer NOT NULL,
    item             text NOT NULL,
    from_kind        text NOT NULL,
    from_id          uuid NOT NULL,
    to_kind          text NOT NULL,
    to_id            uuid NOT NULL,
    event            text NOT NULL,
    lon              double precision,
    lat              double precision,
    accuracy_m       double precision NOT NULL DEFAULT 0,
    device_time      timestamptz,
    server_time      timestamptz NOT NULL,
    signature_sha256 text NOT NULL DEFAULT '',
    photo_sha256     text NOT NULL DEFAULT '',
    seal_number      text NOT NULL DEFAULT '',
    manifest_id      uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
    recipient_name   text NOT NULL DEFAULT '',
    identity_method  text NOT NULL DEFAULT '',
    actor_id         uuid NOT NULL,
    prev_hash        text NOT NULL,
    hash             text NOT NULL,
    PRIMARY KEY (dossier_id, seq)
);
CREATE INDEX custody_entries_to_idx ON custody_entries (to_kind, to_id);

-- +goose StatementBegin
CREATE FUNCTION custody_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'custody_entries is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER custody_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON custody_entries
    FOR EACH STATEMENT EXECUTE FUNCTION custody_append_only();

-- One-time codes for citizens: only a keyed hash of the code is kept, with its expiry,
-- its attempts, and whether it was used.
CREATE TABLE otp_challenges (
    id          uuid PRIMARY KEY,
    phone_index text NOT NULL,
    code_hash   text NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    attempts    integer NOT NULL DEFAULT 0,
    used_at     timestamptz
);
CREATE INDEX otp_challenges_phone_idx ON otp_challenges (phone_index, created_at);

-- +goose Down
DROP TABLE otp_challenges;
DROP TABLE custody_entries;
DROP FUNCTION custody_append_only();
DROP TABLE dossier_events;
DROP TABLE tasks;
DROP TABLE dossiers;
