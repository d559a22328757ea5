-- Expand. A handheld's pull from no cursor reads its courier's stops still to do in id
-- order. With the (courier_id, state) index alone, PostgreSQL's generic plan for that
-- prepared statement (chosen after five runs) walked the whole table in id order and
-- filtered: about 25 ms a pull with 40,000 stops, and worse as the finished ones pile up.
-- This index holds only unfinished stops, in the order the pull reads them, so a pull
-- reads its own stops and nothing else whatever plan is used. The statement names the
-- finished states as constants, which is what lets the planner match the predicate.
-- Built CONCURRENTLY so that stops stay writable; IF NOT EXISTS lets a run that stopped
-- half-way run again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS tasks_open_by_courier_idx ON tasks (courier_id, id)
    WHERE courier_id IS NOT NULL AND state NOT IN ('done', 'cancelled');

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS tasks_open_by_courier_idx;
