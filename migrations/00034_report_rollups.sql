-- Expand. Reports at a national volume (docs/REPORTS.md, "Rollups"): the flow's figures and
-- the late legs of each settled day, kept by a job from the record, so that a year's report
-- sums rows instead of reading every event. One definition of each figure: the functions
-- report_flow_rows and report_late_rows compute a span of days from the record, and both
-- the job (for settled days, the whole country) and the reports (for the days not settled,
-- cut to the caller's offices or agency: NULL for all) call them.

-- NO TRANSACTION: the triggers lock the tables they watch, which the running release
-- writes; each is created in a statement of its own, so that the migration never holds one
-- such table's lock while waiting for another's. Every step can run again.

-- +goose NO TRANSACTION
-- +goose Up
-- The bucket of a pickup's lead time (seconds): 10% wide from a minute up, so that the
-- median read from the summed buckets is within 5% of the exact one.
CREATE OR REPLACE FUNCTION report_lead_bucket(s numeric) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN s < 60 THEN 0 ELSE least(1 + floor(ln(s / 60) / ln(1.1))::integer, 200) END
$$;

-- The flow's figures of the events (and ratings) in [p_from, p_to), per civil day, post
-- office, agency and key: the agency for by = 'agency' (and 'post_office', which sums the
-- same rows by office), the procedure, or the courier of the stop the event completes.
-- relevant counts the events that make a group appear in the report.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_flow_rows(p_from timestamptz, p_to timestamptz, p_by text, p_offices uuid[], p_agency uuid)
RETURNS TABLE (day date, post_office_id uuid, agency_id uuid, key uuid, relevant bigint,
    picked_up bigint, handed_to_agency bigint, results_collected bigint, delivered_by_post bigint,
    collected_at_counter bigint, collected_at_agency bigint, pickup_on_time bigint, pickup_late bigint,
    agency_on_time bigint, agency_late bigint, delivery_on_time bigint, delivery_late bigint,
    delivery_failed bigint, held bigint, returned bigint, lead_sum numeric, lead_hist jsonb, failed_reasons jsonb,
    ratings bigint, stars bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH ev AS (
        SELECT (e.at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, d.post_office_id, d.agency_id,
            CASE p_by WHEN 'procedure' THEN d.procedure_id WHEN 'courier' THEN t.courier_id ELSE d.agency_id END AS key,
            e.event, e.note, e.from_state, e.to_state, extract(epoch FROM e.at - d.created_at) AS lead,
            d.return_by_post, d.pickup_due, d.appointment_date, d.delivery_due,
            (d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS received_on,
            (d.result_ready_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS ready_on,
            (d.delivered_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS delivered_on
        FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id
        LEFT JOIN tasks t ON p_by = 'courier' AND t.dossier_id = e.dossier_id AND t.kind = CASE e.event
            WHEN 'pick_up' THEN 'pickup' WHEN 'pickup_failed' THEN 'pickup' WHEN 'hand_to_agency' THEN 'dropoff'
            WHEN 'collect_result' THEN 'collection' WHEN 'deliver' THEN 'delivery' WHEN 'delivery_fail' THEN 'delivery' END
        WHERE e.at >= p_from AND e.at < p_to
            AND (p_offices IS NULL OR d.post_office_id = ANY (p_offices)) AND (p_agency IS NULL OR d.agency_id = p_agency)),
    counts AS (
        SELECT day, post_office_id, agency_id, key,
            count(*) FILTER (WHERE event IN ('pick_up', 'hand_to_agency', 'collect_result', 'deliver', 'collect_at_counter',
                'collect_at_agency', 'result_ready', 'agency_reject', 'delivery_fail', 'return_to_agency')
                OR to_state = 'held_at_post_office') AS relevant,
            count(*) FILTER (WHERE event = 'pick_up') AS picked_up,
            count(*) FILTER (WHERE event = 'hand_to_agency') AS handed_to_agency,
            count(*) FILTER (WHERE event = 'collect_result') AS results_collected,
            count(*) FILTER (WHERE event = 'deliver') AS delivered_by_post,
            count(*) FILTER (WHERE event = 'collect_at_counter') AS collected_at_counter,
            count(*) FILTER (WHERE event = 'collect_at_agency') AS collected_at_agency,
            count(*) FILTER (WHERE event = 'hand_to_agency' AND received_on <= pickup_due) AS pickup_on_time,
            count(*) FILTER (WHERE event = 'hand_to_agency' AND received_on > pickup_due) AS pickup_late,
            count(*) FILTER (WHERE event IN ('result_ready', 'agency_reject') AND ready_on <= appointment_date) AS agency_on_time,
            count(*) FILTER (WHERE event IN ('result_ready', 'agency_reject') AND ready_on > appointment_date) AS agency_late,
            count(*) FILTER (WHERE event IN ('deliver', 'collect_at_counter') AND return_by_post AND delivered_on <= delivery_due) AS delivery_on_time,
            count(*) FILTER (WHERE event IN ('deliver', 'collect_at_counter') AND return_by_post AND delivered_on > delivery_due) AS delivery_late,
            count(*) FILTER (WHERE event = 'delivery_fail') AS delivery_failed,
            count(*) FILTER (WHERE to_state = 'held_at_post_office' AND from_state <> 'held_at_post_office') AS held,
            count(*) FILTER (WHERE event = 'return_to_agency') AS returned,
            sum(lead) FILTER (WHERE event = 'pick_up') AS lead_sum
        FROM ev WHERE key IS NOT NULL GROUP BY 1, 2, 3, 4),
    leads AS (
        SELECT day, post_office_id, agency_id, key, jsonb_object_agg(bucket, n) AS lead_hist
        FROM (SELECT day, post_office_id, agency_id, key, report_lead_bucket(lead) AS bucket, count(*) AS n
            FROM ev WHERE key IS NOT NULL AND event = 'pick_up' GROUP BY 1, 2, 3, 4, 5) b
        GROUP BY 1, 2, 3, 4),
    reasons AS (
        SELECT day, post_office_id, agency_id, key, jsonb_object_agg(note, n) AS failed_reasons
        FROM (SELECT day, post_office_id, agency_id, key, note, count(*) AS n
            FROM ev WHERE key IS NOT NULL AND event = 'delivery_fail' GROUP BY 1, 2, 3, 4, 5) r
        GROUP BY 1, 2, 3, 4),
    rated AS (
        SELECT (r.rated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, d.post_office_id, d.agency_id,
            CASE p_by WHEN 'procedure' THEN d.procedure_id WHEN 'courier' THEN t.courier_id ELSE d.agency_id END AS key,
            count(*) AS ratings, sum(r.stars) AS stars
        FROM dossier_ratings r JOIN dossiers d ON d.id = r.dossier_id
        LEFT JOIN tasks t ON p_by = 'courier' AND t.dossier_id = d.id AND t.kind = 'delivery'
        WHERE r.rated_at >= p_from AND r.rated_at < p_to
            AND (p_offices IS NULL OR d.post_office_id = ANY (p_offices)) AND (p_agency IS NULL OR d.agency_id = p_agency)
        GROUP BY 1, 2, 3, 4)
    SELECT day, post_office_id, agency_id, key, coalesce(c.relevant, 0),
        coalesce(c.picked_up, 0), coalesce(c.handed_to_agency, 0), coalesce(c.results_collected, 0), coalesce(c.delivered_by_post, 0),
        coalesce(c.collected_at_counter, 0), coalesce(c.collected_at_agency, 0), coalesce(c.pickup_on_time, 0), coalesce(c.pickup_late, 0),
        coalesce(c.agency_on_time, 0), coalesce(c.agency_late, 0), coalesce(c.delivery_on_time, 0), coalesce(c.delivery_late, 0),
        coalesce(c.delivery_failed, 0), coalesce(c.held, 0), coalesce(c.returned, 0), c.lead_sum, l.lead_hist, f.failed_reasons,
        coalesce(r.ratings, 0), coalesce(r.stars, 0)
    FROM counts c LEFT JOIN leads l USING (day, post_office_id, agency_id, key) LEFT JOIN reasons f USING (day, post_office_id, agency_id, key)
        FULL JOIN (SELECT * FROM rated WHERE key IS NOT NULL) r USING (day, post_office_id, agency_id, key)
$$;
-- +goose StatementEnd

-- The legs that ended late in [p_from, p_to): the list /v1/reports/late reads.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_late_rows(p_from timestamptz, p_to timestamptz, p_offices uuid[], p_agency uuid)
RETURNS TABLE (at timestamptz, dossier_id uuid, receipt_code text, post_office_id uuid, agency_id uuid, leg text, due date, ended date)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH ev AS (
        SELECT e.at, e.event, d.id, d.receipt_code, d.post_office_id, d.agency_id, d.return_by_post, d.pickup_due, d.appointment_date, d.delivery_due,
            (d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS received_on,
            (d.result_ready_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS ready_on,
            (d.delivered_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS delivered_on
        FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id
        WHERE e.at >= p_from AND e.at < p_to
            AND e.event IN ('hand_to_agency', 'result_ready', 'agency_reject', 'deliver', 'collect_at_counter')
            AND (p_offices IS NULL OR d.post_office_id = ANY (p_offices)) AND (p_agency IS NULL OR d.agency_id = p_agency))
    SELECT at, id, receipt_code, post_office_id, agency_id, 'pickup', pickup_due, received_on
    FROM ev WHERE event = 'hand_to_agency' AND received_on > pickup_due
    UNION ALL
    SELECT at, id, receipt_code, post_office_id, agency_id, 'agency', appointment_date, ready_on
    FROM ev WHERE event IN ('result_ready', 'agency_reject') AND ready_on > appointment_date
    UNION ALL
    SELECT at, id, receipt_code, post_office_id, agency_id, 'delivery', delivery_due, delivered_on
    FROM ev WHERE event IN ('deliver', 'collect_at_counter') AND return_by_post AND delivered_on > delivery_due
$$;
-- +goose StatementEnd

-- The couriers' work in [p_from, p_to), per civil day and courier (of p_offices; NULL: all):
-- each day's track from its breadcrumbs (time from first to last, length point to point
-- on the great circle, to the millimetre), the stops done and failed, the routes planned.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_courier_rows(p_from timestamptz, p_to timestamptz, p_offices uuid[])
RETURNS TABLE (day date, courier_id uuid, stops_done bigint, stops_failed bigint, on_route_s numeric, travelled_m numeric, planned_m numeric)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH mine AS (SELECT id FROM couriers WHERE p_offices IS NULL OR post_office_id = ANY (p_offices)),
    crumbs AS (
        SELECT b.courier_id, (b.at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, b.at, b.lat, b.lon,
            lag(b.lat) OVER w AS plat, lag(b.lon) OVER w AS plon
        FROM breadcrumbs b
        WHERE b.at >= p_from AND b.at < p_to AND (p_offices IS NULL OR b.courier_id IN (SELECT id FROM mine))
        WINDOW w AS (PARTITION BY b.courier_id, (b.at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date ORDER BY b.at)),
    track AS (
        SELECT day, courier_id, extract(epoch FROM max(at) - min(at)) AS on_route_s,
            round(coalesce(sum(2 * 6371008.8 * asin(sqrt(power(sin(radians(lat - plat) / 2), 2)
                + cos(radians(plat)) * cos(radians(lat)) * power(sin(radians(lon - plon) / 2), 2)))), 0)::numeric, 3) AS travelled_m
        FROM crumbs GROUP BY 1, 2),
    stops AS (
        SELECT (e.at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, t.courier_id,
            count(*) FILTER (WHERE e.event IN ('pick_up', 'hand_to_agency', 'collect_result', 'deliver')) AS stops_done,
            count(*) FILTER (WHERE e.event IN ('pickup_failed', 'delivery_fail')) AS stops_failed
        FROM dossier_events e JOIN tasks t ON t.dossier_id = e.dossier_id AND t.kind = CASE e.event
            WHEN 'pick_up' THEN 'pickup' WHEN 'pickup_failed' THEN 'pickup' WHEN 'hand_to_agency' THEN 'dropoff'
            WHEN 'collect_result' THEN 'collection' WHEN 'deliver' THEN 'delivery' WHEN 'delivery_fail' THEN 'delivery' END
        WHERE e.at >= p_from AND e.at < p_to AND t.courier_id IS NOT NULL AND (p_offices IS NULL OR t.courier_id IN (SELECT id FROM mine))
        GROUP BY 1, 2),
    planned AS (
        SELECT p.day, r.courier_id, sum(r.distance_m)::numeric AS planned_m
        FROM dispatch_routes r JOIN dispatch_plans p ON p.id = r.plan_id
        WHERE p.state = 'published' AND p.day >= (p_from AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AND p.day < (p_to AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
            AND (p_offices IS NULL OR r.courier_id IN (SELECT id FROM mine))
        GROUP BY 1, 2)
    SELECT day, courier_id, coalesce(s.stops_done, 0), coalesce(s.stops_failed, 0), coalesce(k.on_route_s, 0), coalesce(k.travelled_m, 0),
        coalesce(p.planned_m, 0)
    FROM track k FULL JOIN stops s USING (day, courier_id) FULL JOIN planned p USING (day, courier_id)
$$;
-- +goose StatementEnd

-- The rollups: report_flow_rows' (and report_courier_rows') rows of each settled day (span 'd') and, once all its days
-- are settled, of each month (span 'm', day = its first day), for each keying.
CREATE TABLE IF NOT EXISTS report_flow_rollup (
    span   "char" NOT NULL CONSTRAINT report_flow_rollup_span_check CHECK (span IN ('d', 'm')),
    by_key text NOT NULL CONSTRAINT report_flow_rollup_by_check CHECK (by_key IN ('agency', 'procedure', 'courier')),
    day    date NOT NULL,
    post_office_id uuid NOT NULL,
    agency_id uuid NOT NULL,
    key uuid NOT NULL,
    relevant bigint NOT NULL, picked_up bigint NOT NULL, handed_to_agency bigint NOT NULL, results_collected bigint NOT NULL,
    delivered_by_post bigint NOT NULL, collected_at_counter bigint NOT NULL, collected_at_agency bigint NOT NULL,
    pickup_on_time bigint NOT NULL, pickup_late bigint NOT NULL, agency_on_time bigint NOT NULL, agency_late bigint NOT NULL,
    delivery_on_time bigint NOT NULL, delivery_late bigint NOT NULL, delivery_failed bigint NOT NULL, held bigint NOT NULL,
    returned bigint NOT NULL, lead_sum numeric, lead_hist jsonb, failed_reasons jsonb, ratings bigint NOT NULL, stars bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS report_flow_rollup_day_idx ON report_flow_rollup (by_key, span, day);
CREATE INDEX IF NOT EXISTS report_flow_rollup_office_idx ON report_flow_rollup (post_office_id, by_key, span, day);
CREATE INDEX IF NOT EXISTS report_flow_rollup_agency_idx ON report_flow_rollup (agency_id, by_key, span, day);

CREATE TABLE IF NOT EXISTS report_courier_rollup (
    span   "char" NOT NULL CONSTRAINT report_courier_rollup_span_check CHECK (span IN ('d', 'm')),
    day    date NOT NULL,
    courier_id uuid NOT NULL,
    stops_done bigint NOT NULL, stops_failed bigint NOT NULL, on_route_s numeric NOT NULL, travelled_m numeric NOT NULL, planned_m numeric NOT NULL
);
CREATE INDEX IF NOT EXISTS report_courier_rollup_day_idx ON report_courier_rollup (span, day);

CREATE TABLE IF NOT EXISTS report_late_rollup (
    day date NOT NULL,
    at timestamptz NOT NULL,
    dossier_id uuid NOT NULL,
    receipt_code text NOT NULL,
    post_office_id uuid NOT NULL,
    agency_id uuid NOT NULL,
    leg text NOT NULL,
    due date NOT NULL,
    ended date NOT NULL
);
CREATE INDEX IF NOT EXISTS report_late_rollup_at_idx ON report_late_rollup (at, dossier_id, leg);
CREATE INDEX IF NOT EXISTS report_late_rollup_office_idx ON report_late_rollup (post_office_id, at, dossier_id, leg);
CREATE INDEX IF NOT EXISTS report_late_rollup_agency_idx ON report_late_rollup (agency_id, at, dossier_id, leg);
CREATE INDEX IF NOT EXISTS report_late_rollup_day_idx ON report_late_rollup (day);

-- rolled: what was recorded before this instant is rolled up (NULL: nothing yet), today's
-- part included; reports compute the rest from the record. marked: what is recorded with
-- a time before it marks its civil day dirty, in the recording transaction (the triggers
-- below), and a report computes a dirty day from the record until the job has rolled it
-- up again: its answer is exact at once. The job moves marked first (in a transaction of
-- its own, under an exclusive advisory lock the triggers share, so that no recording
-- transaction misses the move), then rolls up to it and moves rolled.
CREATE TABLE IF NOT EXISTS report_rollup_state (
    one    boolean PRIMARY KEY DEFAULT true CONSTRAINT report_rollup_state_one CHECK (one),
    marked timestamptz,
    rolled timestamptz
);
INSERT INTO report_rollup_state (marked, rolled) VALUES (NULL, NULL) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS report_dirty_days (day date PRIMARY KEY);
-- The advisory lock's key, shared by the triggers and taken alone by the job.
CREATE OR REPLACE FUNCTION report_rollup_lock() RETURNS bigint LANGUAGE sql IMMUTABLE AS $$ SELECT 2400034::bigint $$;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_mark_event_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(report_rollup_lock());
    INSERT INTO report_dirty_days (day)
    SELECT DISTINCT (at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date FROM changed
    WHERE at < (SELECT marked FROM report_rollup_state)
    -- Updating an existing mark locks it: the job's delete of it waits for this commit.
    ON CONFLICT (day) DO UPDATE SET day = EXCLUDED.day;
    RETURN NULL;
END $$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION report_mark_rating_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(report_rollup_lock());
    INSERT INTO report_dirty_days (day)
    SELECT DISTINCT (rated_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date FROM changed
    WHERE rated_at < (SELECT marked FROM report_rollup_state)
    -- Updating an existing mark locks it: the job's delete of it waits for this commit.
    ON CONFLICT (day) DO UPDATE SET day = EXCLUDED.day;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE OR REPLACE TRIGGER report_event_days AFTER INSERT ON dossier_events REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_event_days();
CREATE OR REPLACE TRIGGER report_breadcrumb_days AFTER INSERT ON breadcrumbs REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_event_days();
CREATE OR REPLACE TRIGGER report_rating_days_insert AFTER INSERT ON dossier_ratings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_rating_days();
CREATE OR REPLACE TRIGGER report_rating_days_new AFTER UPDATE ON dossier_ratings REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_rating_days();
CREATE OR REPLACE TRIGGER report_rating_days_old AFTER UPDATE ON dossier_ratings REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_rating_days();
CREATE OR REPLACE TRIGGER report_rating_days_delete AFTER DELETE ON dossier_ratings REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION report_mark_rating_days();

-- +goose Down
DROP TRIGGER IF EXISTS report_rating_days_delete ON dossier_ratings;
DROP TRIGGER IF EXISTS report_rating_days_old ON dossier_ratings;
DROP TRIGGER IF EXISTS report_rating_days_insert ON dossier_ratings;
DROP TRIGGER IF EXISTS report_rating_days_new ON dossier_ratings;
DROP TRIGGER IF EXISTS report_event_days ON dossier_events;
DROP TRIGGER IF EXISTS report_breadcrumb_days ON breadcrumbs;
DROP FUNCTION IF EXISTS report_mark_rating_days();
DROP FUNCTION IF EXISTS report_mark_event_days();
DROP FUNCTION IF EXISTS report_rollup_lock();
DROP TABLE IF EXISTS report_dirty_days;
DROP TABLE IF EXISTS report_rollup_state;
DROP TABLE IF EXISTS report_late_rollup;
DROP TABLE IF EXISTS report_courier_rollup;
DROP TABLE IF EXISTS report_flow_rollup;
DROP FUNCTION IF EXISTS report_courier_rows(timestamptz, timestamptz, uuid[]);
DROP FUNCTION IF EXISTS report_late_rows(timestamptz, timestamptz, uuid[], uuid);
DROP FUNCTION IF EXISTS report_flow_rows(timestamptz, timestamptz, text, uuid[], uuid);
DROP FUNCTION IF EXISTS report_lead_bucket(numeric);
