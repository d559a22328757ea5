-- Expand. A partner's client may register webhook subscribers of its own (scope
-- webhooks:manage): client_id records which, so that it lists, reads and stops only those.
-- NULL: an admin registered it. The index serves a client's list, in its order.

-- +goose Up
ALTER TABLE webhook_subscribers ADD COLUMN client_id uuid
    CONSTRAINT webhook_subscribers_client_fk REFERENCES partner_clients (id);
CREATE INDEX webhook_subscribers_client ON webhook_subscribers (client_id, created_at, id);

-- +goose Down
DROP INDEX webhook_subscribers_client;
ALTER TABLE webhook_subscribers DROP COLUMN client_id;
