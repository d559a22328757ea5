-- A device's every pull lists the proof files its courier's handovers name, newest first,
-- to ask again for those the server lacks: without an index on the actor that read scans
-- the whole custody ledger, which only grows.

-- +goose Up
CREATE INDEX custody_entries_actor_idx ON custody_entries (actor_id, server_time);

-- +goose Down
DROP INDEX custody_entries_actor_idx;
