-- Expand. What a plan's times and distances were measured on (docs/DISPATCH.md, "Travel"):
-- travel is 'osrm' (the routing engine's roads) or 'straight_line' (great-circle distance ×
-- ROAD_FACTOR), travel_fallback why a plan is on straight lines (no engine, too many points,
-- the engine timed out, failed or answered garbage). NULL on plans made before they were
-- kept; an older release leaves them NULL.

-- NO TRANSACTION: dispatch_plans is written by the running release; its one statement takes
-- that table's lock alone, and IF NOT EXISTS lets it run again.

-- +goose NO TRANSACTION
-- +goose Up
ALTER TABLE dispatch_plans
    ADD COLUMN IF NOT EXISTS travel text
        CONSTRAINT dispatch_plans_travel_check CHECK (travel IN ('osrm', 'straight_line')),
    ADD COLUMN IF NOT EXISTS travel_fallback text
        CONSTRAINT dispatch_plans_travel_fallback_check
        CHECK (travel_fallback IN ('no_engine', 'too_many_points', 'osrm_timeout', 'osrm_error', 'osrm_garbage'));

-- +goose Down
ALTER TABLE dispatch_plans DROP COLUMN IF EXISTS travel_fallback, DROP COLUMN IF EXISTS travel;
