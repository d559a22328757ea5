-- Expand. The reports over a period (GET /v1/reports/...) read the history, the ratings, the
-- bank's transfers and the couriers' collections by their time: without these indexes each
-- report reads the whole of every table, which only grows. They are built CONCURRENTLY, so
-- that the tables stay writable meanwhile; outside a transaction, hence NO TRANSACTION and
-- IF NOT EXISTS, so that a run that stopped half-way runs again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS dossier_events_at_idx ON dossier_events (at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS dossier_ratings_rated_at_idx ON dossier_ratings (rated_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS payments_paid_at_idx ON payments (paid_at);
CREATE INDEX CONCURRENTLY IF NOT EXISTS cash_collections_collected_at_idx ON cash_collections (collected_at);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS cash_collections_collected_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS payments_paid_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS dossier_ratings_rated_at_idx;
DROP INDEX CONCURRENTLY IF EXISTS dossier_events_at_idx;
