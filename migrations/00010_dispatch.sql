-- Dispatch: the applicant's slot on a stop, a post office's zones, the day's plans, and the
-- courier's battery beside their latest position.

-- +goose Up
ALTER TABLE tasks
    ADD COLUMN slot_start_min integer,
    ADD COLUMN slot_end_min integer,
    ADD CONSTRAINT tasks_slot_check CHECK (
        (slot_start_min IS NULL) = (slot_end_min IS NULL)
        AND (slot_start_min IS NULL OR (slot_start_min >= 0 AND slot_start_min < slot_end_min AND slot_end_min <= 1440))),
    -- Where a published plan puts the stop: its place in the courier's route and when.
    ADD COLUMN route_seq integer,
    ADD COLUMN planned_arrival timestamptz;

-- A zone is a named part of a post office's service area (GeoJSON, like the area itself).
CREATE TABLE zones (
    id             uuid PRIMARY KEY,
    post_office_id uuid NOT NULL REFERENCES post_offices (id),
    name           text NOT NULL,
    area           jsonb NOT NULL,
    version        integer NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT zones_name_once UNIQUE (post_office_id, name)
);

-- A plan is the solver's proposal for a post office's day; published, it is the day.
-- At most one plan per office and day is the published one.
CREATE TABLE dispatch_plans (
    id             uuid PRIMARY KEY,
    post_office_id uuid NOT NULL REFERENCES post_offices (id),
    day            date NOT NULL,
    state          text NOT NULL CONSTRAINT dispatch_plans_state_check CHECK (state IN ('draft', 'published', 'superseded')),
    seed           bigint NOT NULL,
    time_limit_ms  integer NOT NULL,
    solve_ms       integer NOT NULL,
    distance_m     double precision NOT NULL,
    duration_s     double precision NOT NULL,
    unplanned      jsonb NOT NULL DEFAULT '[]',
    created_by     uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    published_by   uuid,
    published_at   timestamptz,
    version        integer NOT NULL
);
CREATE INDEX dispatch_plans_day_idx ON dispatch_plans (post_office_id, day);
CREATE UNIQUE INDEX dispatch_plans_one_published ON dispatch_plans (post_office_id, day) WHERE state = 'published';

-- A courier's route in a plan: the stops in order with their times, and the line drawn.
CREATE TABLE dispatch_routes (
    plan_id     uuid NOT NULL REFERENCES dispatch_plans (id),
    courier_id  uuid NOT NULL REFERENCES couriers (id),
    position    integer NOT NULL,
    stops       jsonb NOT NULL,
    line        jsonb NOT NULL,
    distance_m  double precision NOT NULL,
    duration_s  double precision NOT NULL,
    depart_at   timestamptz NOT NULL,
    return_at   timestamptz NOT NULL,
    locked      boolean NOT NULL DEFAULT false,
    released    boolean NOT NULL DEFAULT false,
    overload    integer NOT NULL DEFAULT 0,
    over_shift_s double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (plan_id, courier_id)
);

-- The live view shows each courier's battery with their position; a day's outcome reads
-- each courier's track of that day.
ALTER TABLE courier_positions ADD COLUMN battery_pct smallint;
CREATE INDEX breadcrumbs_courier_idx ON breadcrumbs (courier_id, at);

-- +goose Down
DROP INDEX breadcrumbs_courier_idx;
ALTER TABLE courier_positions DROP COLUMN battery_pct;
DROP TABLE dispatch_routes;
DROP TABLE dispatch_plans;
DROP TABLE zones;
ALTER TABLE tasks DROP COLUMN planned_arrival, DROP COLUMN route_seq, DROP CONSTRAINT tasks_slot_check, DROP COLUMN slot_end_min,
    DROP COLUMN slot_start_min;
