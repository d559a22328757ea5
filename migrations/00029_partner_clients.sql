-- Expand. Partners' machine clients (OAuth 2.0 client-credentials grant): only hashes of
-- their secrets are kept; the previous secret works until previous_until, so that a
-- rotation needs no outage. Scopes are kept as OAuth writes them, space-separated.

-- +goose Up
CREATE TABLE partner_clients (
    id                   uuid PRIMARY KEY,
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind                 text NOT NULL CHECK (kind IN ('portal', 'bank', 'agency_software')),
    agency_id            uuid NOT NULL CONSTRAINT partner_clients_agency_fk REFERENCES agencies (id),
    scopes               text NOT NULL,
    secret_hash          bytea NOT NULL,
    previous_secret_hash bytea,
    previous_until       timestamptz,
    revoked_at           timestamptz,
    created_at           timestamptz NOT NULL
);

-- +goose Down
DROP TABLE partner_clients;
