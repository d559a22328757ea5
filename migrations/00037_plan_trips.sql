-- Expand. Multi-trip days (docs/DISPATCH.md, "Trips"): a plan keeps how many loads a
-- courier may take and how long a reload takes; a route keeps its returns to the post
-- office between trips (each stop's trip rides in the route's stops); a task published on
-- a route keeps its trip and the reload before it, for the courier's device. Plans kept
-- before are one trip each, and say so by the defaults.

-- NO TRANSACTION: each statement locks one table the running release writes, alone, and
-- only for a moment (constant defaults, no check to scan the rows for: the service bounds
-- the values); IF NOT EXISTS lets a run that stopped half-way run again.

-- +goose NO TRANSACTION
-- +goose Up
ALTER TABLE dispatch_plans
    ADD COLUMN IF NOT EXISTS max_trips integer NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS reload_s double precision NOT NULL DEFAULT 0;

ALTER TABLE dispatch_routes ADD COLUMN IF NOT EXISTS reloads jsonb NOT NULL DEFAULT '[]';

ALTER TABLE tasks
    ADD COLUMN IF NOT EXISTS route_trip integer,
    ADD COLUMN IF NOT EXISTS reload_arrival timestamptz,
    ADD COLUMN IF NOT EXISTS reload_departure timestamptz;

-- +goose Down
ALTER TABLE tasks DROP COLUMN IF EXISTS reload_departure, DROP COLUMN IF EXISTS reload_arrival, DROP COLUMN IF EXISTS route_trip;
ALTER TABLE dispatch_routes DROP COLUMN IF EXISTS reloads;
ALTER TABLE dispatch_plans DROP COLUMN IF EXISTS reload_s, DROP COLUMN IF EXISTS max_trips;
