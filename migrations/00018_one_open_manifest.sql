-- A dossier is on at most one open manifest: its line stays 'sent' only while the batch
-- is open, so a second open batch listing it is refused by the database itself, however
-- two clerks race. Receiving records the seal number the receiver read.

-- +goose Up
CREATE UNIQUE INDEX manifest_items_open_once ON manifest_items (dossier_id) WHERE status = 'sent';
ALTER TABLE manifests ADD COLUMN seal_read text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE manifests DROP COLUMN seal_read;
DROP INDEX manifest_items_open_once;
