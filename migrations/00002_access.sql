-- Identity and access: staff accounts and their scopes, couriers' devices, refresh-token
-- families, login throttling, the revocation list, and the append-only audit log.

-- +goose Up
CREATE TABLE accounts (
    id            uuid PRIMARY KEY,
    username      text NOT NULL CONSTRAINT accounts_username_key UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL CONSTRAINT accounts_role_check CHECK (role IN ('admin', 'dispatcher', 'courier', 'clerk')),
    courier_id    uuid CONSTRAINT accounts_courier_fk REFERENCES couriers (id),
    agency_id     uuid CONSTRAINT accounts_agency_fk REFERENCES agencies (id),
    active        boolean NOT NULL DEFAULT true,
    version       integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT accounts_scope_check CHECK (
        (role = 'courier') = (courier_id IS NOT NULL) AND (role = 'clerk') = (agency_id IS NOT NULL))
);
-- One login per courier record.
CREATE UNIQUE INDEX accounts_courier_key ON accounts (courier_id) WHERE courier_id IS NOT NULL;

-- The post offices a dispatcher plans for.
CREATE TABLE account_post_offices (
    account_id     uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    post_office_id uuid NOT NULL CONSTRAINT account_post_offices_post_office_fk REFERENCES post_offices (id),
    PRIMARY KEY (account_id, post_office_id)
);

-- A courier's handheld. device_key is the installation's own identifier.
CREATE TABLE devices (
    id           uuid PRIMARY KEY,
    device_key   text NOT NULL CONSTRAINT devices_device_key_key UNIQUE,
    courier_id   uuid NOT NULL CONSTRAINT devices_courier_fk REFERENCES couriers (id),
    model        text NOT NULL,
    os           text NOT NULL,
    app_version  text NOT NULL,
    registered_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX devices_courier_idx ON devices (courier_id);

-- Refresh tokens, stored only as SHA-256 hashes. A family is one login; each use rotates
-- the token (used_at set, a successor inserted); presenting a used one revokes the family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    device_id   uuid REFERENCES devices (id),
    token_hash  bytea NOT NULL CONSTRAINT refresh_tokens_hash_key UNIQUE,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account_idx ON refresh_tokens (account_id);
CREATE INDEX refresh_tokens_device_idx ON refresh_tokens (device_id);

-- Failed-attempt counters for throttling, keyed by a hash of what is counted (a username,
-- a source address), so the table holds neither.
CREATE TABLE auth_throttle (
    key_hash       text PRIMARY KEY,
    failures       integer NOT NULL,
    window_started timestamptz NOT NULL,
    locked_until   timestamptz
);

-- Access tokens live minutes and are checked without a database read; a revocation makes
-- every token of its subject issued before revoked_at invalid. Rows can go once
-- expires_at (revoked_at plus the longest access-token lifetime) has passed.
CREATE TABLE revocations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL CONSTRAINT revocations_kind_check CHECK (kind IN ('account', 'device', 'session')),
    subject    uuid NOT NULL,
    revoked_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revocations_expires_idx ON revocations (expires_at);

-- Who changed what, when, from where. Append-only: the trigger refuses updates and deletes.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor_id      uuid,
    actor_role    text NOT NULL,
    device_id     uuid,
    source        text NOT NULL,
    action        text NOT NULL,
    resource_kind text NOT NULL,
    resource_id   text NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, at);
CREATE INDEX audit_log_resource_idx ON audit_log (resource_kind, resource_id, at);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE revocations;
DROP TABLE auth_throttle;
DROP TABLE refresh_tokens;
DROP TABLE devices;
DROP TABLE account_post_offices;
DROP TABLE accounts;
