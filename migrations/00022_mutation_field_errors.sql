-- A device's mutation refused for what it holds is answered with its fields at fault; a
-- retry of it gets the same answer, so the fields are kept with the outcome.

-- +goose Up
ALTER TABLE sync_mutations ADD COLUMN fields jsonb NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE sync_mutations DROP COLUMN fields;
