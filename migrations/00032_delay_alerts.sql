-- Expand. Delay alerts: a courier running late on a published route, or a stop about to
-- miss its deadline (docs/LIVE.md). A cause alerts once: the unique key is the kind, the
-- courier or stop it is about, and the day, so that evaluating again, or two processes
-- evaluating at once, never raises it twice. A dispatcher closes an alert with a note.

-- +goose Up
CREATE TABLE delay_alerts (
    id             uuid PRIMARY KEY,
    kind           text NOT NULL CONSTRAINT delay_alerts_kind_check CHECK (kind IN ('courier_late', 'stop_deadline')),
    -- subject_id is the courier (courier_late) or the stop's task (stop_deadline).
    subject_id     uuid NOT NULL,
    day            date NOT NULL,
    post_office_id uuid NOT NULL REFERENCES post_offices (id),
    plan_id        uuid NOT NULL,
    courier_id     uuid NOT NULL REFERENCES couriers (id),
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
CREATE INDEX delay_alerts_office_idx ON delay_alerts (post_office_id, raised_at DESC, id);

-- +goose Down
DROP TABLE delay_alerts;
