-- Webhooks: agencies' and portals' endpoints, and every delivery to them with how its
-- attempts went. The secret signs deliveries, so it is kept as given.

-- +goose Up
CREATE TABLE webhook_subscribers (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    url        text NOT NULL,
    secret     text NOT NULL,
    agency_id  uuid REFERENCES agencies (id),
    events     text NOT NULL DEFAULT '', -- comma-separated dossier events; empty: every event
    active     boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
    id            uuid PRIMARY KEY,
    subscriber_id uuid NOT NULL REFERENCES webhook_subscribers (id),
    dossier_id    uuid NOT NULL REFERENCES dossiers (id),
    event         text NOT NULL,
    body          jsonb NOT NULL,
    status        text NOT NULL CONSTRAINT webhook_deliveries_status_check CHECK (status IN ('pending', 'delivered')),
    attempts      integer NOT NULL DEFAULT 0,
    last_status   integer NOT NULL DEFAULT 0,
    last_error    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    delivered_at  timestamptz
);
CREATE INDEX webhook_deliveries_subscriber_idx ON webhook_deliveries (subscriber_id, created_at);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscribers;
