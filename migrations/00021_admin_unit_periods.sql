-- Administrative units keyed by a surrogate id with a period of validity, so that the 2025
-- reform's new wards can reuse the codes of wards they absorbed: an old unit and a new one
-- share a code, the old one ends on the merger's date and names its successor. Addresses,
-- agencies and post offices still name units by code; admin_unit_codes keeps every code
-- ever used, so that those references are still checked by the database.

-- +goose Up
CREATE TABLE admin_unit_codes (
    code text PRIMARY KEY
);
INSERT INTO admin_unit_codes (code) SELECT code FROM admin_units;

-- +goose StatementBegin
CREATE FUNCTION admin_unit_code_known() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO admin_unit_codes (code) VALUES (NEW.code) ON CONFLICT DO NOTHING;
    RETURN NEW;
END $$;
-- +goose StatementEnd
CREATE TRIGGER admin_units_code_known BEFORE INSERT OR UPDATE OF code ON admin_units
    FOR EACH ROW EXECUTE FUNCTION admin_unit_code_known();

ALTER TABLE agencies DROP CONSTRAINT agencies_admin_unit_fk;
ALTER TABLE post_offices DROP CONSTRAINT post_offices_admin_unit_fk;
ALTER TABLE citizens DROP CONSTRAINT citizens_admin_unit_fk;
ALTER TABLE dossiers DROP CONSTRAINT dossiers_admin_unit_fk;
ALTER TABLE admin_units DROP CONSTRAINT admin_units_parent_fk;
ALTER TABLE admin_units DROP CONSTRAINT admin_units_pkey;

ALTER TABLE admin_units
    ADD COLUMN id           uuid,
    ADD COLUMN valid_from   date,
    -- The day the unit ceased (the first day it no longer exists); NULL while it exists.
    ADD COLUMN valid_to     date,
    ADD COLUMN successor_id uuid;
UPDATE admin_units SET id = gen_random_uuid();
ALTER TABLE admin_units
    ALTER COLUMN id SET NOT NULL,
    ADD CONSTRAINT admin_units_pkey PRIMARY KEY (id),
    ADD CONSTRAINT admin_units_successor_fk FOREIGN KEY (successor_id) REFERENCES admin_units (id),
    ADD CONSTRAINT admin_units_code_fk FOREIGN KEY (code) REFERENCES admin_unit_codes (code),
    ADD CONSTRAINT admin_units_parent_fk FOREIGN KEY (parent_code) REFERENCES admin_unit_codes (code),
    ADD CONSTRAINT admin_units_period_check CHECK (valid_from IS NULL OR valid_to IS NULL OR valid_from < valid_to);
-- One unit holds a code at a time: the current one; ended ones keep it, one per end date.
CREATE UNIQUE INDEX admin_units_current_code_key ON admin_units (code) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX admin_units_ended_code_key ON admin_units (code, valid_to) WHERE valid_to IS NOT NULL;
CREATE INDEX admin_units_successor_idx ON admin_units (successor_id) WHERE successor_id IS NOT NULL;

ALTER TABLE agencies ADD CONSTRAINT agencies_admin_unit_fk FOREIGN KEY (admin_unit_code) REFERENCES admin_unit_codes (code);
ALTER TABLE post_offices ADD CONSTRAINT post_offices_admin_unit_fk FOREIGN KEY (admin_unit_code) REFERENCES admin_unit_codes (code);
ALTER TABLE citizens ADD CONSTRAINT citizens_admin_unit_fk FOREIGN KEY (admin_unit_code) REFERENCES admin_unit_codes (code);
ALTER TABLE dossiers ADD CONSTRAINT dossiers_admin_unit_fk FOREIGN KEY (admin_unit_code) REFERENCES admin_unit_codes (code);

-- +goose Down
ALTER TABLE dossiers DROP CONSTRAINT dossiers_admin_unit_fk;
ALTER TABLE citizens DROP CONSTRAINT citizens_admin_unit_fk;
ALTER TABLE post_offices DROP CONSTRAINT post_offices_admin_unit_fk;
ALTER TABLE agencies DROP CONSTRAINT agencies_admin_unit_fk;
DROP INDEX admin_units_successor_idx;
DROP INDEX admin_units_ended_code_key;
DROP INDEX admin_units_current_code_key;
ALTER TABLE admin_units
    DROP CONSTRAINT admin_units_period_check,
    DROP CONSTRAINT admin_units_parent_fk,
    DROP CONSTRAINT admin_units_code_fk,
    DROP CONSTRAINT admin_units_successor_fk,
    DROP CONSTRAINT admin_units_pkey;
-- The old schema keys a unit by its code alone: of the units sharing a code only the latest
-- can stay, so the ended ones whose code a later unit took are forgotten.
DELETE FROM admin_units ended WHERE ended.valid_to IS NOT NULL
    AND EXISTS (SELECT 1 FROM admin_units later WHERE later.code = ended.code AND later.id <> ended.id
                AND (later.valid_to IS NULL OR later.valid_to > ended.valid_to));
ALTER TABLE admin_units DROP COLUMN successor_id, DROP COLUMN valid_to, DROP COLUMN valid_from, DROP COLUMN id;
ALTER TABLE admin_units ADD CONSTRAINT admin_units_pkey PRIMARY KEY (code);
ALTER TABLE admin_units ADD CONSTRAINT admin_units_parent_fk FOREIGN KEY (parent_code) REFERENCES admin_units (code);
ALTER TABLE agencies ADD CONSTRAINT agencies_admin_unit_fk FOREIGN KEY (admin_unit_code) REFERENCES admin_units (code);
ALTER TABLE post_offices ADD CONSTRAINT post_offices_admin_unit_fk FOREIGN KEY (admin_unit_code) REFERENCES admin_units (code);
ALTER TABLE citizens ADD CONSTRAINT citizens_admin_unit_fk FOREIGN KEY (admin_unit_code) REFERENCES admin_units (code);
ALTER TABLE dossiers ADD CONSTRAINT dossiers_admin_unit_fk FOREIGN KEY (admin_unit_code) REFERENCES admin_units (code);
DROP TRIGGER admin_units_code_known ON admin_units;
DROP FUNCTION admin_unit_code_known();
DROP TABLE admin_unit_codes;
