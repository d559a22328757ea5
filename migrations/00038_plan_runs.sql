-- Expand. Plans are jobs (docs/DISPATCH.md, "Plans are jobs"): a plan asked is a run, made
-- on the River queue "plans"; the run keeps the search's latest progress, whether a
-- dispatcher asked to stop it, and why it failed if it did. The draft it makes is written to
-- dispatch_plans under the run's id, as before, in the transaction that ends the run. An
-- office has one run planning at a time: the partial unique index refuses a second however
-- many processes accept at once.

-- NO TRANSACTION: the keys to live tables are added one statement each; each step can run
-- again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS dispatch_plan_runs (
    id             uuid PRIMARY KEY,
    post_office_id uuid NOT NULL,
    day            date NOT NULL,
    state          text NOT NULL CONSTRAINT dispatch_plan_runs_state_check CHECK (state IN ('planning', 'done', 'failed')),
    seed           bigint NOT NULL,
    time_limit_ms  integer NOT NULL,
    max_trips      integer NOT NULL DEFAULT 1,
    reload_s       double precision NOT NULL DEFAULT 0,
    replan_of      uuid,
    created_by     uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    stop_asked     boolean NOT NULL DEFAULT false,
    progress       jsonb,
    failure        text
);
CREATE UNIQUE INDEX IF NOT EXISTS dispatch_plan_runs_one_planning ON dispatch_plan_runs (post_office_id) WHERE state = 'planning';
CREATE INDEX IF NOT EXISTS dispatch_plan_runs_day_idx ON dispatch_plan_runs (post_office_id, day);

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE dispatch_plan_runs ADD CONSTRAINT dispatch_plan_runs_post_office_id_fkey FOREIGN KEY (post_office_id) REFERENCES post_offices (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE IF EXISTS dispatch_plan_runs;
