-- Expand. Delay alerts: a courier running late on a published route, or a stop about to
-- miss its deadline (docs/LIVE.md). A cause alerts once: the unique key is the kind, the
-- courier or stop it is about, and the day, so that evaluating again, or two processes
-- evaluating at once, never raises it twice. A dispatcher closes an alert with a note.

-- NO TRANSACTION: each table referencing tables the running release writes takes its
-- foreign keys one statement at a time, so the migration never holds one such table's lock
-- while waiting for another's (a deadlock with live traffic); IF NOT EXISTS and the guarded
-- constraints let a run that stopped half-way run again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS delay_alerts (
    id             uuid PRIMARY KEY,
    kind           text NOT NULL CONSTRAINT delay_alerts_kind_check CHECK (kind IN ('courier_late', 'stop_deadline')),
    -- subject_id is the courier (courier_late) or the stop's task (stop_deadline).
    subject_id     uuid NOT NULL,
    day            date NOT NULL,
    post_office_id uuid NOT NULL,
    plan_id        uuid NOT NULL,
    courier_id     uuid NOT NULL,
    task_id        uuid,
    dossier_id     uuid,
    receipt_code   text NOT NULL DEFAULT '',
    late_minutes   integer NOT NULL,
    due_at         timestamptz,
    action         text NOT NULL CONSTRAINT delay_alerts_action_check CHECK (action IN ('move_stops', 'call_applicant')),
    raised_at      timestamptz NOT NULL,
    closed_at      timestamptz,
    closed_by      uuid,
    note           text NOT NULL DEFAULT '',
    CONSTRAINT delay_alerts_once_per_cause UNIQUE (kind, subject_id, day)
);
-- The console lists an office's alerts, newest first.
CREATE INDEX IF NOT EXISTS delay_alerts_office_idx ON delay_alerts (post_office_id, raised_at DESC, id);

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE delay_alerts ADD CONSTRAINT delay_alerts_post_office_id_fkey FOREIGN KEY (post_office_id) REFERENCES post_offices (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE delay_alerts ADD CONSTRAINT delay_alerts_courier_id_fkey FOREIGN KEY (courier_id) REFERENCES couriers (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE IF EXISTS delay_alerts;
