package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"courierd/storage"
)

// Metrics is the job queues as Prometheus sees them, read from river_job at each scrape.
// The table is every process's, so each process tells the same whole story: aggregate
// over instances with max, not sum.
type Metrics struct {
	db  *storage.DB
	log *slog.Logger
}

// NewMetrics reads the queues in db; a failed read is logged and leaves the job series
// out of that scrape, rather than fail the whole scrape.
func NewMetrics(db *storage.DB, log *slog.Logger) *Metrics { return &Metrics{db: db, log: log} }

var (
	queueDepth = prometheus.NewDesc("courierd_job_queue_depth",
		"Jobs waiting or running in each River queue: available, running, retryable (failed, waiting to retry), scheduled_due (scheduled and due).",
		[]string{"queue", "state"}, nil)
	queueOldest = prometheus.NewDesc("courierd_job_queue_oldest_available_seconds",
		"How long the oldest job available in each queue has waited for a worker (0: none waits).",
		[]string{"queue"}, nil)
	jobsFailed = prometheus.NewDesc("courierd_jobs_failed",
		"Jobs of each kind whose last attempt failed: retryable (will be tried again) or discarded (out of attempts; River keeps them 7 days).",
		[]string{"kind", "state"}, nil)
)

// The queues and kinds are always reported, with zeros, so that a quiet queue is a zero
// and not a missing series.
var (
	queues      = []string{storage.QueueNotices, storage.QueueWebhooks, storage.QueueTimers, storage.QueueRetention, river.QueueDefault}
	depthStates = []string{"available", "running", "retryable", "scheduled_due"}
	kinds       = []string{storage.NotifyArgs{}.Kind(), storage.HoldExpiryArgs{}.Kind(), storage.WebhookArgs{}.Kind(),
		storage.DeliveryArgs{}.Kind(), RetentionArgs{}.Kind(), CustodyCheckArgs{}.Kind()}
)

func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDepth
	ch <- queueOldest
	ch <- jobsFailed
}

// queueStats is one query, grouped in the database: jobs that are done (completed,
// cancelled) are not read, and scheduled ones count only once due.
const queueStats = `
SELECT queue, kind, CASE WHEN state = 'scheduled' THEN 'scheduled_due' ELSE state::text END,
       count(*),
       coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')), 0)
FROM river_job
WHERE state IN ('available', 'running', 'retryable', 'discarded')
   OR (state = 'scheduled' AND scheduled_at <= now())
GROUP BY 1, 2, 3`

func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := m.read(ctx)
	if err != nil {
		m.log.Warn("job queue metrics unread", "error", err.Error())
		return
	}
	for k, v := range st.depth {
		ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, v, k[0], k[1])
	}
	for q, v := range st.oldest {
		ch <- prometheus.MustNewConstMetric(queueOldest, prometheus.GaugeValue, v, q)
	}
	for k, v := range st.failed {
		ch <- prometheus.MustNewConstMetric(jobsFailed, prometheus.GaugeValue, v, k[0], k[1])
	}
}

// stats are the series' values: depth by queue and state, oldest by queue, failed by
// kind and state.
type stats struct {
	depth, failed map[[2]string]float64
	oldest        map[string]float64
}

func (m *Metrics) read(ctx context.Context) (stats, error) {
	st := stats{depth: map[[2]string]float64{}, failed: map[[2]string]float64{}, oldest: map[string]float64{}}
	for _, q := range queues {
		st.oldest[q] = 0
		for _, s := range depthStates {
			st.depth[[2]string{q, s}] = 0
		}
	}
	for _, k := range kinds {
		st.failed[[2]string{k, "retryable"}], st.failed[[2]string{k, "discarded"}] = 0, 0
	}
	rows, err := m.db.SQL().QueryContext(ctx, queueStats)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var queue, kind, state string
		var count, age float64
		if err := rows.Scan(&queue, &kind, &state, &count, &age); err != nil {
			return st, err
		}
		if state == "retryable" || state == "discarded" {
			st.failed[[2]string{kind, state}] += count
		}
		if state != "discarded" {
			st.depth[[2]string{queue, state}] += count
			st.oldest[queue] = max(st.oldest[queue], age)
		}
	}
	return st, rows.Err()
}

// CustodyMetrics is the last run of the custody check (CustodyCheckArgs) as Prometheus sees
// it, read from custody_checks at each scrape; every process reports the same run.
type CustodyMetrics struct {
	db  *storage.DB
	log *slog.Logger
}

func NewCustodyMetrics(db *storage.DB, log *slog.Logger) *CustodyMetrics {
	return &CustodyMetrics{db: db, log: log}
}

var (
	custodyCheckedAt = prometheus.NewDesc("courierd_custody_check_timestamp_seconds",
		"When the last scheduled check of custody chains ran (Unix time; 0: none yet).", nil, nil)
	custodyChecked = prometheus.NewDesc("courierd_custody_check_checked",
		"Custody chains the last scheduled check verified.", nil, nil)
	custodyBroken = prometheus.NewDesc("courierd_custody_check_broken",
		"Custody chains the last scheduled check found broken: the record was changed outside courierd's rules.", nil, nil)
)

func (m *CustodyMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- custodyCheckedAt
	ch <- custodyChecked
	ch <- custodyBroken
}

func (m *CustodyMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	last, ran, err := storage.LastCustodyCheck(ctx, m.db)
	if err != nil {
		m.log.Warn("custody check metrics unread", "error", err.Error())
		return
	}
	at := 0.0
	if ran {
		at = float64(last.At.Unix())
	}
	ch <- prometheus.MustNewConstMetric(custodyCheckedAt, prometheus.GaugeValue, at)
	ch <- prometheus.MustNewConstMetric(custodyChecked, prometheus.GaugeValue, float64(last.Checked))
	ch <- prometheus.MustNewConstMetric(custodyBroken, prometheus.GaugeValue, float64(last.Broken))
}
