-- Phones and citizen ID numbers are found through keyed hashes (blind indexes). Were the
-- server started with another index key, every lookup would quietly miss: a fingerprint of
-- the key the stored indexes were made with is kept here, and a server with another refuses
-- to start.

-- +goose Up
CREATE TABLE data_index_key (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    fingerprint text NOT NULL,
    recorded_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE data_index_key;
