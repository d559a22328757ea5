-- Expand. Retention of the tables that only grew, and webhook subscribers' secrets sealed
-- with the data keys.
--
-- The daily retention job deletes in small batches by these columns; without an index each
-- batch would read the whole table. The indexes are built CONCURRENTLY, so that the tables
-- stay writable while a live release runs beside the migration; that cannot happen inside a
-- transaction, hence NO TRANSACTION and IF NOT EXISTS on every step, so a run that stopped
-- half-way can be run again. (A concurrent build that failed leaves an INVALID index, which
-- IF NOT EXISTS would keep: drop it before running again, see docs/OPERATIONS.md.)
--
-- Expand only: secret_sealed is added beside the plain secret, which becomes nullable; this
-- release writes only the sealed one and seals the plain ones it finds. The previous
-- release still reads the plain column; a later release drops it (the contract step).

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS auth_throttle_window_idx ON auth_throttle (window_started);
CREATE INDEX CONCURRENTLY IF NOT EXISTS otp_challenges_expires_idx ON otp_challenges (expires_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS refresh_tokens_expires_idx ON refresh_tokens (expires_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS webhook_deliveries_created_idx ON webhook_deliveries (created_at);
ALTER TABLE webhook_subscribers ADD COLUMN IF NOT EXISTS secret_sealed text;
ALTER TABLE webhook_subscribers ALTER COLUMN secret DROP NOT NULL;

-- +goose Down
-- Rolling back to a release that reads only the plain secret: subscribers whose secret is
-- sealed only must be given their secret again (the previous binary cannot open it), and
-- the plain column stays nullable, since those rows have none to put back.
ALTER TABLE webhook_subscribers DROP COLUMN IF EXISTS secret_sealed;
DROP INDEX CONCURRENTLY IF EXISTS webhook_deliveries_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS refresh_tokens_expires_idx;
DROP INDEX CONCURRENTLY IF EXISTS otp_challenges_expires_idx;
DROP INDEX CONCURRENTLY IF EXISTS auth_throttle_window_idx;
