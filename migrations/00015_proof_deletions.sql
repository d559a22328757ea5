-- Proof photos and signatures of dossiers closed long ago are deleted by the retention job;
-- each deleted file is remembered here, so that devices are not asked for it again and the
-- job does not look at it twice. The custody ledger keeps each file's hash: chains still
-- verify without the files.

-- +goose Up
CREATE TABLE proof_deletions (
    sha256     text PRIMARY KEY,
    deleted_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE proof_deletions;
