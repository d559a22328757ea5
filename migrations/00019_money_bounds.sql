-- Every amount of money has a ceiling, the figures named in domain/money.go: a fee at most
-- 100,000,000 đồng, postage and the collection surcharge at most 5,000,000 each, and a
-- courier's collection at one stop or a bank transfer at most what a dossier can owe,
-- 110,000,000. The checks repeat them here so that not even a bug stores more, and every
-- sum of bounded lines stays far inside bigint.
-- A courier's collections are read per dossier (what it was paid) under its lock.

-- +goose Up
ALTER TABLE procedures
    DROP CONSTRAINT procedures_fee_vnd_check,
    ADD CONSTRAINT procedures_fee_vnd_check CHECK (fee_vnd BETWEEN 0 AND 100000000),
    DROP CONSTRAINT procedures_postage_vnd_check,
    ADD CONSTRAINT procedures_postage_vnd_check CHECK (postage_vnd BETWEEN 0 AND 5000000),
    DROP CONSTRAINT procedures_collection_surcharge_vnd_check,
    ADD CONSTRAINT procedures_collection_surcharge_vnd_check CHECK (collection_surcharge_vnd BETWEEN 0 AND 5000000);

ALTER TABLE dossiers
    DROP CONSTRAINT dossiers_fee_vnd_check,
    ADD CONSTRAINT dossiers_fee_vnd_check CHECK (fee_vnd BETWEEN 0 AND 100000000),
    DROP CONSTRAINT dossiers_postage_vnd_check,
    ADD CONSTRAINT dossiers_postage_vnd_check CHECK (postage_vnd BETWEEN 0 AND 5000000),
    DROP CONSTRAINT dossiers_surcharge_vnd_check,
    ADD CONSTRAINT dossiers_surcharge_vnd_check CHECK (surcharge_vnd BETWEEN 0 AND 5000000);

ALTER TABLE cash_collections
    DROP CONSTRAINT cash_collections_amount_check,
    ADD CONSTRAINT cash_collections_amount_check CHECK (amount_vnd BETWEEN 1 AND 110000000);

ALTER TABLE payments
    DROP CONSTRAINT payments_amount_check,
    ADD CONSTRAINT payments_amount_check CHECK (amount_vnd BETWEEN 1 AND 110000000);

CREATE INDEX cash_collections_dossier_idx ON cash_collections (dossier_id);

-- +goose Down
DROP INDEX cash_collections_dossier_idx;

ALTER TABLE payments
    DROP CONSTRAINT payments_amount_check,
    ADD CONSTRAINT payments_amount_check CHECK (amount_vnd > 0);

ALTER TABLE cash_collections
    DROP CONSTRAINT cash_collections_amount_check,
    ADD CONSTRAINT cash_collections_amount_check CHECK (amount_vnd > 0);

ALTER TABLE dossiers
    DROP CONSTRAINT dossiers_fee_vnd_check,
    ADD CONSTRAINT dossiers_fee_vnd_check CHECK (fee_vnd >= 0),
    DROP CONSTRAINT dossiers_postage_vnd_check,
    ADD CONSTRAINT dossiers_postage_vnd_check CHECK (postage_vnd >= 0),
    DROP CONSTRAINT dossiers_surcharge_vnd_check,
    ADD CONSTRAINT dossiers_surcharge_vnd_check CHECK (surcharge_vnd >= 0);

ALTER TABLE procedures
    DROP CONSTRAINT procedures_fee_vnd_check,
    ADD CONSTRAINT procedures_fee_vnd_check CHECK (fee_vnd >= 0),
    DROP CONSTRAINT procedures_postage_vnd_check,
    ADD CONSTRAINT procedures_postage_vnd_check CHECK (postage_vnd >= 0),
    DROP CONSTRAINT procedures_collection_surcharge_vnd_check,
    ADD CONSTRAINT procedures_collection_surcharge_vnd_check CHECK (collection_surcharge_vnd >= 0);
