-- Expand. Citizens' complaints about the post's service on their dossiers (docs/DISPATCH.md,
-- "Complaints"): filed by the applicant, answered and closed by a dispatcher of the
-- dossier's post office within the deadline (COMPLAINT_ANSWER_DEADLINE).

-- NO TRANSACTION: each table referencing tables the running release writes takes its
-- foreign keys one statement at a time, so the migration never holds one such table's lock
-- while waiting for another's (a deadlock with live traffic); IF NOT EXISTS and the guarded
-- constraints let a run that stopped half-way run again.

-- +goose NO TRANSACTION
-- +goose Up
CREATE TABLE IF NOT EXISTS complaints (
    id             uuid PRIMARY KEY,
    dossier_id     uuid NOT NULL,
    receipt_code   text NOT NULL,
    -- The dossier's receipt code and office (neither changes): the office's list and the
    -- reports read them without the dossier.
    post_office_id uuid NOT NULL,
    category       text NOT NULL CONSTRAINT complaints_category_check CHECK (category IN ('late', 'damaged', 'rude', 'wrong_person', 'other')),
    text           text NOT NULL CONSTRAINT complaints_text_check CHECK (char_length(text) BETWEEN 10 AND 2000),
    state          text NOT NULL CONSTRAINT complaints_state_check CHECK (state IN ('open', 'answered', 'closed')),
    filed_at       timestamptz NOT NULL,
    due_at         timestamptz NOT NULL CONSTRAINT complaints_due_check CHECK (due_at > filed_at),
    answer         text NOT NULL DEFAULT '' CONSTRAINT complaints_answer_check CHECK (char_length(answer) <= 4000),
    answered_at    timestamptz,
    answered_by    uuid,
    closed_at      timestamptz,
    CONSTRAINT complaints_answered_check CHECK ((state = 'open') = (answered_at IS NULL) AND (state = 'closed') = (closed_at IS NOT NULL))
);

-- One open complaint per dossier and category: a repeat waits for the answer.
CREATE UNIQUE INDEX IF NOT EXISTS complaints_one_open_idx ON complaints (dossier_id, category) WHERE state = 'open';
-- The office's list, newest first, and the reports by period, per office.
CREATE INDEX IF NOT EXISTS complaints_office_filed_idx ON complaints (post_office_id, filed_at DESC, id);
-- The reports over every office, by period.
CREATE INDEX IF NOT EXISTS complaints_filed_idx ON complaints (filed_at);
-- The overdue ones: open, by deadline.
CREATE INDEX IF NOT EXISTS complaints_open_due_idx ON complaints (post_office_id, due_at) WHERE state = 'open';
-- A dossier's own, for its applicant.
CREATE INDEX IF NOT EXISTS complaints_dossier_idx ON complaints (dossier_id, filed_at DESC);

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE complaints ADD CONSTRAINT complaints_dossier_id_fkey FOREIGN KEY (dossier_id) REFERENCES dossiers (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE complaints ADD CONSTRAINT complaints_post_office_id_fkey FOREIGN KEY (post_office_id) REFERENCES post_offices (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
DO $$ BEGIN
    ALTER TABLE complaints ADD CONSTRAINT complaints_answered_by_fkey FOREIGN KEY (answered_by) REFERENCES accounts (id);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE IF EXISTS complaints;
