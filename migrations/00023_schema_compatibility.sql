-- Expand. The oldest courierd release that may still run against this database, named by
-- the newest migration that release carries. An expand migration (adds tables, columns,
-- indexes) leaves it; a contract migration (drops or renames what older releases use) raises
-- it to its predecessor release's version, so that the releases it leaves behind report not
-- ready instead of failing on a missing column. One row.

-- +goose Up
CREATE TABLE schema_compatibility (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    oldest_binary_schema integer NOT NULL CHECK (oldest_binary_schema > 0)
);
INSERT INTO schema_compatibility (oldest_binary_schema) VALUES (22);

-- +goose Down
DROP TABLE schema_compatibility;
