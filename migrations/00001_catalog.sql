-- The catalog: administrative units, agencies, post offices, procedures, the working-day
-- calendar, couriers, and the citizens the service has met. Constraint names are part of
-- the code: storage maps them to the API field at fault.

-- +goose Up
CREATE TABLE admin_units (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    search_name text NOT NULL,
    level       text NOT NULL CONSTRAINT admin_units_level_check CHECK (level IN ('province', 'district', 'commune')),
    kind        text NOT NULL,
    parent_code text CONSTRAINT admin_units_parent_fk REFERENCES admin_units (code),
    legacy      boolean NOT NULL DEFAULT false,
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX admin_units_parent_idx ON admin_units (parent_code);

CREATE TABLE agencies (
    id              uuid PRIMARY KEY,
    code            text NOT NULL CONSTRAINT agencies_code_key UNIQUE,
    name            text NOT NULL,
    search_name     text NOT NULL,
    kind            text NOT NULL CONSTRAINT agencies_kind_check
                    CHECK (kind IN ('department', 'commune_committee', 'police', 'social_insurance', 'other')),
    admin_unit_code text NOT NULL CONSTRAINT agencies_admin_unit_fk REFERENCES admin_units (code),
    address         text NOT NULL,
    lon             double precision NOT NULL CONSTRAINT agencies_lon_check CHECK (lon BETWEEN -180 AND 180),
    lat             double precision NOT NULL CONSTRAINT agencies_lat_check CHECK (lat BETWEEN -90 AND 90),
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX agencies_admin_unit_idx ON agencies (admin_unit_code);

CREATE TABLE post_offices (
    id              uuid PRIMARY KEY,
    code            text NOT NULL CONSTRAINT post_offices_code_key UNIQUE,
    name            text NOT NULL,
    search_name     text NOT NULL,
    kind            text NOT NULL CONSTRAINT post_offices_kind_check CHECK (kind IN ('post_office', 'commune_cultural')),
    admin_unit_code text NOT NULL CONSTRAINT post_offices_admin_unit_fk REFERENCES admin_units (code),
    address         text NOT NULL,
    lon             double precision NOT NULL CONSTRAINT post_offices_lon_check CHECK (lon BETWEEN -180 AND 180),
    lat             double precision NOT NULL CONSTRAINT post_offices_lat_check CHECK (lat BETWEEN -90 AND 90),
    -- GeoJSON MultiPolygon; point-in-polygon runs in the application (orb), so no PostGIS.
    service_area    jsonb NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE procedures (
    id                      uuid PRIMARY KEY,
    code                    text NOT NULL CONSTRAINT procedures_code_key UNIQUE,
    name                    text NOT NULL,
    search_name             text NOT NULL,
    agency_kind             text NOT NULL CONSTRAINT procedures_agency_kind_check
                            CHECK (agency_kind IN ('department', 'commune_committee', 'police', 'social_insurance', 'other')),
    processing_days         integer NOT NULL CONSTRAINT procedures_processing_days_check CHECK (processing_days BETWEEN 0 AND 365),
    fee_vnd                 bigint NOT NULL CONSTRAINT procedures_fee_vnd_check CHECK (fee_vnd >= 0),
    postage_vnd             bigint NOT NULL CONSTRAINT procedures_postage_vnd_check CHECK (postage_vnd >= 0),
    pickup_by_post          boolean NOT NULL,
    return_by_post          boolean NOT NULL,
    identity_check_required boolean NOT NULL,
    proxy_allowed           boolean NOT NULL,
    -- [{"name":…, "form":"original|copy|certified_copy", "quantity":n}]: read and written whole.
    documents               jsonb NOT NULL DEFAULT '[]',
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL
);

CREATE TABLE calendar_days (
    id         uuid PRIMARY KEY,
    day        date NOT NULL CONSTRAINT calendar_days_day_key UNIQUE,
    kind       text NOT NULL CONSTRAINT calendar_days_kind_check CHECK (kind IN ('holiday', 'day_off', 'working_day')),
    name       text NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE couriers (
    id              uuid PRIMARY KEY,
    staff_code      text NOT NULL CONSTRAINT couriers_staff_code_key UNIQUE,
    name            text NOT NULL,
    search_name     text NOT NULL,
    phone           text NOT NULL,
    post_office_id  uuid NOT NULL CONSTRAINT couriers_post_office_fk REFERENCES post_offices (id),
    vehicle_kind    text NOT NULL CONSTRAINT couriers_vehicle_kind_check CHECK (vehicle_kind IN ('motorbike', 'bicycle', 'car', 'on_foot')),
    capacity_items  integer NOT NULL CONSTRAINT couriers_capacity_items_check CHECK (capacity_items > 0),
    shift_start_min integer NOT NULL,
    shift_end_min   integer NOT NULL,
    skills          jsonb NOT NULL DEFAULT '[]',
    active          boolean NOT NULL DEFAULT true,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CONSTRAINT couriers_shift_check CHECK (0 <= shift_start_min AND shift_start_min < shift_end_min AND shift_end_min <= 1440)
);
CREATE INDEX couriers_post_office_idx ON couriers (post_office_id);

-- Citizens the service has met, with the address where they were served. Personal data:
-- never logged; the dossier area adds the encrypted citizen ID number.
CREATE TABLE citizens (
    id              uuid PRIMARY KEY,
    full_name       text NOT NULL,
    phone           text NOT NULL,
    address         text NOT NULL,
    admin_unit_code text NOT NULL CONSTRAINT citizens_admin_unit_fk REFERENCES admin_units (code),
    lon             double precision NOT NULL,
    lat             double precision NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX citizens_phone_idx ON citizens (phone);

-- +goose Down
DROP TABLE citizens;
DROP TABLE couriers;
DROP TABLE calendar_days;
DROP TABLE procedures;
DROP TABLE post_offices;
DROP TABLE agencies;
DROP TABLE admin_units;
