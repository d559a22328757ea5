-- Expand. The offices' takings kept by the rollup job like the flow (docs/REPORTS.md,
-- "Rollups"): a year of the whole country's takings is a row per office and day, read
-- rather than aggregated from every collection, transfer, hand-in and remittance. One
-- definition of the figures: report_cash_rows computes a span of whole days from the
-- record; the job (settled days, the whole country) and the report (the other days, cut to
-- the caller's offices: NULL for all) both call it.

-- NO TRANSACTION: each trigger locks the table it watches, which the running release
-- writes; each is created in a statement of its own. Every step can run again.

-- +goose NO TRANSACTION
-- +goose Up
-- The takings of the whole civil days in [p_from, p_to), per day and post office: the
-- door's collections by the office of the stop they were taken at, the bank's transfers
-- and the remitted shares by the dossier's office, the hand-ins by the day of the lines
-- they covered and the courier's office.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_cash_rows(p_from timestamptz, p_to timestamptz, p_offices uuid[])
RETURNS TABLE (day date, post_office_id uuid, collections bigint, collected_vnd bigint, cash_vnd bigint, transfer_vnd bigint,
    bank_vnd bigint, handed_in_vnd bigint, short_vnd bigint, over_vnd bigint, remitted_vnd bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH money AS (
        SELECT (c.collected_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, t.post_office_id AS office,
            1 AS n, c.amount_vnd AS collected, CASE WHEN c.method = 'cash' THEN c.amount_vnd ELSE 0 END AS cash,
            CASE WHEN c.method <> 'cash' THEN c.amount_vnd ELSE 0 END AS transfer, 0 AS bank, 0 AS handed_in, 0 AS short, 0 AS over, 0 AS remitted
        FROM cash_collections c JOIN tasks t ON t.id = c.task_id
        WHERE c.collected_at >= p_from AND c.collected_at < p_to
        UNION ALL
        SELECT (p.paid_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, d.post_office_id, 0, 0, 0, 0, p.amount_vnd, 0, 0, 0, 0
        FROM payments p JOIN dossiers d ON d.id = p.dossier_id
        WHERE p.paid_at >= p_from AND p.paid_at < p_to
        UNION ALL
        SELECT h.day, h.post_office_id, 0, 0, 0, 0, 0, h.counted_vnd, greatest(h.to_hand_in_vnd - h.counted_vnd, 0),
            greatest(h.counted_vnd - h.to_hand_in_vnd, 0), 0
        FROM cash_handins h
        WHERE h.day >= (p_from AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AND h.day < (p_to AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
        UNION ALL
        SELECT (r.remitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, d.post_office_id, 0, 0, 0, 0, 0, 0, 0, 0, m.agency_vnd
        FROM remittances r JOIN remitted_money m ON m.remittance_id = r.id JOIN dossiers d ON d.id = m.dossier_id
        WHERE r.remitted_at >= p_from AND r.remitted_at < p_to)
    SELECT day, office, sum(n)::bigint, sum(collected)::bigint, sum(cash)::bigint, sum(transfer)::bigint, sum(bank)::bigint,
        sum(handed_in)::bigint, sum(short)::bigint, sum(over)::bigint, sum(remitted)::bigint
    FROM money WHERE p_offices IS NULL OR office = ANY (p_offices)
    GROUP BY day, office
$$;
-- +goose StatementEnd

-- report_cash_rows' rows of each settled day (whole days only: a hand-in counts by the
-- day of its lines, not by an instant, so a day is never cut).
CREATE TABLE IF NOT EXISTS report_cash_rollup (
    day date NOT NULL,
    post_office_id uuid NOT NULL,
    collections bigint NOT NULL,
    -- Sums of an office's day, bounded as every money column is (domain.MaxVND).
    collected_vnd bigint NOT NULL CONSTRAINT report_cash_rollup_collected_check CHECK (collected_vnd BETWEEN 0 AND 9007199254740991),
    cash_vnd bigint NOT NULL CONSTRAINT report_cash_rollup_cash_check CHECK (cash_vnd BETWEEN 0 AND 9007199254740991),
    transfer_vnd bigint NOT NULL CONSTRAINT report_cash_rollup_transfer_check CHECK (transfer_vnd BETWEEN 0 AND 9007199254740991),
    bank_vnd bigint NOT NULL CONSTRAINT report_cash_rollup_bank_check CHECK (bank_vnd BETWEEN 0 AND 9007199254740991),
    handed_in_vnd bigint NOT NULL CONSTRAINT report_cash_rollup_handed_in_check CHECK (handed_in_vnd BETWEEN 0 AND 9007199254740991),
    short_vnd bigint NOT NULL CONSTRAINT report_cash_rollup_short_check CHECK (short_vnd BETWEEN 0 AND 9007199254740991),
    over_vnd bigint NOT NULL CONSTRAINT report_cash_rollup_over_check CHECK (over_vnd BETWEEN 0 AND 9007199254740991),
    remitted_vnd bigint NOT NULL CONSTRAINT report_cash_rollup_remitted_check CHECK (remitted_vnd BETWEEN 0 AND 9007199254740991)
);
CREATE INDEX IF NOT EXISTS report_cash_rollup_day_idx ON report_cash_rollup (day);
CREATE INDEX IF NOT EXISTS report_cash_rollup_office_idx ON report_cash_rollup (post_office_id, day);

-- Money recorded for a rolled-up day marks it dirty, as 00034's triggers do for events:
-- a collection or transfer by its time, a hand-in by the day of its lines (a day before
-- the one the job last ran on is rolled up whole), a remitted share by its remittance's time.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_mark_cash_days() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    upto timestamptz;
    days date[];
BEGIN
    PERFORM pg_advisory_xact_lock_shared(report_rollup_lock());
    SELECT marked INTO upto FROM report_rollup_state;
    CASE TG_TABLE_NAME
    WHEN 'cash_collections' THEN
        SELECT array_agg((collected_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) INTO days FROM changed WHERE collected_at < upto;
    WHEN 'payments' THEN
        SELECT array_agg((paid_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) INTO days FROM changed WHERE paid_at < upto;
    WHEN 'cash_handins' THEN
        SELECT array_agg(day) INTO days FROM changed WHERE day < (upto AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
    WHEN 'remitted_money' THEN
        SELECT array_agg((r.remitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) INTO days
        FROM changed m JOIN remittances r ON r.id = m.remittance_id WHERE r.remitted_at < upto;
    END CASE;
    INSERT INTO report_dirty_days (day) SELECT DISTINCT d FROM unnest(days) AS d
    -- Updating an existing mark locks it: the job's delete of it waits for this commit.
    ON CONFLICT (day) DO UPDATE SET day = EXCLUDED.day;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE OR REPLACE TRIGGER report_collection_days AFTER INSERT ON cash_collections REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_cash_days();
CREATE OR REPLACE TRIGGER report_payment_days AFTER INSERT ON payments REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_cash_days();
CREATE OR REPLACE TRIGGER report_handin_days AFTER INSERT ON cash_handins REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_cash_days();
CREATE OR REPLACE TRIGGER report_remitted_days AFTER INSERT ON remitted_money REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_cash_days();

-- The days already rolled up when this runs get their takings now, so that reports read
-- them from the rollup at once (with the triggers above already marking what arrives
-- meanwhile). Under the job's row lock, so that no run rolls a day at the same time.
-- +goose StatementBegin
DO $$
DECLARE
    upto timestamptz;
BEGIN
    SELECT ((rolled AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' INTO upto
    FROM report_rollup_state FOR UPDATE;
    IF upto IS NOT NULL THEN
        DELETE FROM report_cash_rollup WHERE day < (upto AT TIME ZONE 'Asia/Ho_Chi_Minh')::date;
        INSERT INTO report_cash_rollup (day, post_office_id, collections, collected_vnd, cash_vnd, transfer_vnd, bank_vnd,
            handed_in_vnd, short_vnd, over_vnd, remitted_vnd)
        SELECT day, post_office_id, collections, collected_vnd, cash_vnd, transfer_vnd, bank_vnd, handed_in_vnd, short_vnd, over_vnd, remitted_vnd
        FROM report_cash_rows('-infinity', upto, NULL);
    END IF;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER IF EXISTS report_remitted_days ON remitted_money;
DROP TRIGGER IF EXISTS report_handin_days ON cash_handins;
DROP TRIGGER IF EXISTS report_payment_days ON payments;
DROP TRIGGER IF EXISTS report_collection_days ON cash_collections;
DROP FUNCTION IF EXISTS report_mark_cash_days();
DROP TABLE IF EXISTS report_cash_rollup;
DROP FUNCTION IF EXISTS report_cash_rows(timestamptz, timestamptz, uuid[]);
