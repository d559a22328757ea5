-- Field rules: what each procedure's delivery needs, and the flags the field raises for
-- the dispatcher (a GPS fix far from the door or too vague, none at all, papers missing
-- from a pickup against the procedure's checklist).

-- +goose Up
-- Every procedure starts with the strict default: a signature at every delivery, and a
-- photo when a proxy receives the result. identity_check_required already says whether
-- the recipient's identity must be proven at the door.
ALTER TABLE procedures
    ADD COLUMN delivery_signature_required   boolean NOT NULL DEFAULT true,
    ADD COLUMN delivery_proxy_photo_required boolean NOT NULL DEFAULT true;

-- A flag is raised with the event it concerns, in its transaction; the event is applied
-- all the same (the courier is the authority on what happened at the door). No
-- coordinates are kept here, only how far and how vague the fix was.
CREATE TABLE field_flags (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dossier_id     uuid NOT NULL REFERENCES dossiers (id),
    post_office_id uuid NOT NULL REFERENCES post_offices (id),
    courier_id     uuid REFERENCES couriers (id),
    event          text NOT NULL,
    kind           text NOT NULL CONSTRAINT field_flags_kind_check
                   CHECK (kind IN ('fix_missing', 'fix_far', 'fix_inaccurate', 'documents_missing')),
    distance_m     double precision,
    accuracy_m     double precision,
    documents      jsonb NOT NULL DEFAULT '[]',
    at             timestamptz NOT NULL
);
CREATE INDEX field_flags_dossier_idx ON field_flags (dossier_id, id);
CREATE INDEX field_flags_office_idx ON field_flags (post_office_id, id);

-- +goose Down
DROP TABLE field_flags;
ALTER TABLE procedures DROP COLUMN delivery_proxy_photo_required, DROP COLUMN delivery_signature_required;
