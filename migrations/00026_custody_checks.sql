-- Expand. The scheduled check of custody chains: one row per run, kept as the record that
-- the chains were checked and what was found, and an index to find the ledgers that grew
-- since the last run. The index is built CONCURRENTLY (outside a transaction) so that
-- handovers go on meanwhile; IF NOT EXISTS lets a run that stopped half-way run again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS custody_checks (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checked_at  timestamptz NOT NULL,
    checked     integer NOT NULL CHECK (checked >= 0),
    broken      integer NOT NULL CHECK (broken >= 0 AND broken <= checked),
    broken_ids  uuid[] NOT NULL DEFAULT '{}'
);
CREATE INDEX CONCURRENTLY IF NOT EXISTS custody_entries_server_time_idx ON custody_entries (server_time);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS custody_entries_server_time_idx;
DROP TABLE IF EXISTS custody_checks;
