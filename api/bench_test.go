package api_test

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/cmd/devicesim/sim"
	"courierd/domain/dossier"
	"courierd/domain/fieldsync"
)

// BenchmarkOfflineCourierConverges is a courier back after two days offline: 300 recorded
// pickups pushed in one batch, then pulls until the device holds the server's state; and
// the largest batch a push may carry. It reports the time to apply the batch, the time to
// converge (push plus pulls), and the CPU a fact costs while the batch is applied: this
// process's (courierd, and the test's client, which only sends bytes) and PostgreSQL's,
// read from /proc.
func BenchmarkOfflineCourierConverges(b *testing.B) {
	for _, queued := range []int{300, fieldsync.MaxBatch} {
		b.Run(fmt.Sprintf("queued=%d", queued), func(b *testing.B) { benchmarkConverge(b, queued) })
	}
}

func benchmarkConverge(b *testing.B, queued int) {
	h := newHarness(b, nil)
	floor := newFactFloor(b, h)
	var applyTotal, convergeTotal time.Duration
	var cpu sim.CPUUse
	var floorPostgres time.Duration
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		courier := fmt.Sprintf("courier0%d@run%d", 1+n%8, n)
		name, _, _ := strings.Cut(courier, "@")
		var d device
		h.pull(b, courier, &d, 1000)
		batch, dossiers := make([]string, queued), make([]string, queued)
		for i := range batch {
			dossiers[i] = h.assigned(b, name)
			batch[i] = mutation(i+1, uuid.NewString(), "task.pickup.v1", pickupTask(h, b, dossiers[i]), pickupPayload)
		}
		floor.before(dossiers)
		b.StartTimer()
		start, cpuBefore := time.Now(), sim.CPUNow(0)
		r := h.push(b, courier, batch...)
		applied, used := time.Since(start), sim.CPUNow(0).Since(cpuBefore)
		cpu.Simulator += used.Simulator
		cpu.Postgres += used.Postgres
		if r.status != http.StatusOK || r.body["last_seq"] != float64(queued) {
			b.Fatalf("push: %d %.300s", r.status, r.raw)
		}
		h.drain(b, courier, &d)
		applyTotal += applied
		convergeTotal += time.Since(start)
		b.StopTimer()
		floorPostgres += floor.write(dossiers, deviceKey(courier), start)
		b.StartTimer()
	}
	b.ReportMetric(float64(applyTotal.Milliseconds())/float64(b.N), "ms/batch")
	b.ReportMetric(float64(convergeTotal.Milliseconds())/float64(b.N), "ms/converge")
	b.ReportMetric(float64(queued*b.N)/applyTotal.Seconds(), "mutations/s")
	facts := float64(queued * b.N)
	b.ReportMetric(float64(cpu.Simulator.Microseconds())/facts, "courierd-cpu-µs/fact")
	b.ReportMetric(float64(cpu.Postgres.Microseconds())/facts, "postgres-cpu-µs/fact")
	b.ReportMetric(float64(floorPostgres.Microseconds())/facts, "floor-postgres-cpu-µs/fact")
}

// factFloor measures PostgreSQL's own floor for what a push of facts writes: the very
// rows it left (the dossiers and stops as changed, the ledger entries, history lines, feed
// lines, outcomes, field reports, cash lines and audit entries), copied server-side into
// tables with the same columns and indexes by one INSERT … SELECT or UPDATE … FROM per
// table: no round trip per row, no decision, no encoding.
type factFloor struct {
	b  *testing.B
	db *sql.DB
	// set are the columns of dossiers and tasks, as "c = s.c, …", for the updates.
	set map[string]string
}

var floorTables = []string{"dossiers", "tasks", "custody_entries", "dossier_events", "courier_changes", "sync_mutations", "field_reports",
	"cash_collections", "audit_log"}

func newFactFloor(b *testing.B, h *harness) *factFloor {
	f := &factFloor{b: b, db: h.db.SQL(), set: map[string]string{}}
	for _, t := range floorTables {
		f.exec("CREATE TABLE floor_" + t + " (LIKE " + t + " INCLUDING ALL)")
	}
	for _, t := range []string{"dossiers", "tasks"} {
		var set string
		if err := f.db.QueryRow(`SELECT string_agg(format('%1$I = s.%1$I', column_name), ', ') FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 AND column_name <> 'id'`, t).Scan(&set); err != nil {
			b.Fatal(err)
		}
		f.set[t] = set
	}
	return f
}

func (f *factFloor) exec(query string, args ...any) {
	if _, err := f.db.Exec(query, args...); err != nil {
		f.b.Fatalf("%s: %v", query, err)
	}
}

// before copies the dossiers and their stops as they are before the push.
func (f *factFloor) before(dossiers []string) {
	f.exec(`INSERT INTO floor_dossiers OVERRIDING SYSTEM VALUE SELECT * FROM dossiers WHERE id = ANY($1::uuid[])`, dossiers)
	f.exec(`INSERT INTO floor_tasks OVERRIDING SYSTEM VALUE SELECT * FROM tasks WHERE dossier_id = ANY($1::uuid[])`, dossiers)
}

// write writes what the push of device, begun at since, left, and returns PostgreSQL's CPU.
func (f *factFloor) write(dossiers []string, device string, since time.Time) time.Duration {
	before := sim.CPUNow(0)
	for _, q := range []string{
		`UPDATE floor_dossiers f SET ` + f.set["dossiers"] + ` FROM dossiers s WHERE f.id = s.id AND s.id = ANY($1::uuid[]) AND s.updated_at >= $2`,
		`UPDATE floor_tasks f SET ` + f.set["tasks"] + ` FROM tasks s WHERE f.id = s.id AND s.dossier_id = ANY($1::uuid[]) AND s.updated_at >= $2`,
		`INSERT INTO floor_custody_entries OVERRIDING SYSTEM VALUE SELECT * FROM custody_entries WHERE dossier_id = ANY($1::uuid[]) AND server_time >= $2`,
		`INSERT INTO floor_dossier_events OVERRIDING SYSTEM VALUE SELECT * FROM dossier_events WHERE dossier_id = ANY($1::uuid[]) AND at >= $2`,
		`INSERT INTO floor_courier_changes OVERRIDING SYSTEM VALUE SELECT c.* FROM courier_changes c JOIN tasks t ON t.id = c.entity_id
			WHERE t.dossier_id = ANY($1::uuid[]) AND c.at >= $2`,
		`INSERT INTO floor_field_reports OVERRIDING SYSTEM VALUE SELECT * FROM field_reports WHERE dossier_id = ANY($1::uuid[]) AND recorded_at >= $2`,
		`INSERT INTO floor_cash_collections OVERRIDING SYSTEM VALUE SELECT * FROM cash_collections WHERE dossier_id = ANY($1::uuid[]) AND recorded_at >= $2`,
		`INSERT INTO floor_audit_log OVERRIDING SYSTEM VALUE SELECT * FROM audit_log WHERE resource_id = ANY($1::text[]) AND at >= $2`,
	} {
		f.exec(q, dossiers, since)
	}
	f.exec(`INSERT INTO floor_sync_mutations OVERRIDING SYSTEM VALUE SELECT m.* FROM sync_mutations m JOIN devices d ON d.id = m.device_id
		WHERE d.device_key = $1`, device)
	return sim.CPUNow(0).Since(before).Postgres
}

// BenchmarkBreadcrumbUpload is one upload of 500 GPS points.
func BenchmarkBreadcrumbUpload(b *testing.B) {
	h := newHarness(b, nil)
	dev := h.as("courier02@device").with("X-App-Version", "1.4.2")
	base := time.Now().Add(-time.Hour)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		body := points(n*500+1, n*500+500, func(i int) time.Time { return base.Add(time.Duration(i) * time.Millisecond) })
		if r := dev.do(b, http.MethodPost, "/v1/device/locations", body); r.body["stored"] != float64(500) {
			b.Fatalf("upload: %.300s", r.raw)
		}
	}
	b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "points/s")
}

// BenchmarkPlanAndPublish500 is a post office's day through the whole service: 500 open
// pickups spread over about 4 km around Phú Hòa, 12 couriers (the demo's eight and four
// more), planned with an 8 s budget (the test client waits 10 s at most), then published (500 assignments in one transaction).
// It reports the time to plan (reading the demand, solving, keeping the draft) and to
// publish, the distance, and the stops planned and left out.
func BenchmarkPlanAndPublish500(b *testing.B) {
	h := newHarness(b, nil)
	h.startWorkers(b)
	office := h.demo.PostOffices[0].ID.String()
	for i := range 4 {
		h.mustCreate(b, "/v1/couriers", fmt.Sprintf(`{"staff_code":"BD-X%02d","name":"Nguyễn Văn Thêm %d","phone":"09120000%02d","post_office_id":%q,
			"vehicle_kind":"motorbike","capacity_items":40,"shift_start":"07:30","shift_end":"17:30","skills":["cash_collection"]}`, i, i, i, office), "id")
	}
	for i := range 500 {
		body := h.dossierBody(func(f map[string]string) {
			f["lat"] = fmt.Sprintf("%.6f", 10.960+float64(i%25)*0.0014)
			f["lon"] = fmt.Sprintf("%.6f", 106.665+float64(i/25)*0.0017)
			f["office"] = office
		})
		r := h.as("dispatcher").do(b, http.MethodPost, "/v1/dossiers", body)
		if r.status != http.StatusCreated {
			b.Fatalf("dossier %d: %d %.300s", i, r.status, r.raw)
		}
	}
	day := h.bookable(b)[1] // a working day after today
	var planTotal, publishTotal time.Duration
	var plan reply
	for n := 0; n < b.N; n++ {
		start := time.Now()
		plan = h.as("dispatcher").with("Prefer", "wait=60").do(b, http.MethodPost, "/v1/dispatch/plans", fmt.Sprintf(`{"post_office_id":%q,"date":%q,"seed":%d,"time_limit_ms":8000}`, office, day, n+1))
		planTotal += time.Since(start)
		if plan.status != http.StatusCreated {
			b.Fatalf("plan: %d %.300s", plan.status, plan.raw)
		}
	}
	start := time.Now()
	published := h.as("dispatcher").do(b, http.MethodPost, "/v1/dispatch/plans/"+plan.body["id"].(string)+"/publish", `{"version":1}`)
	publishTotal = time.Since(start)
	if published.status != http.StatusOK {
		b.Fatalf("publish: %d %.300s", published.status, published.raw)
	}
	b.ReportMetric(float64(planTotal.Milliseconds())/float64(b.N), "ms/plan")
	b.ReportMetric(float64(publishTotal.Milliseconds()), "ms/publish")
	b.ReportMetric(plan.body["distance_m"].(float64)/1000, "km")
	b.ReportMetric(plan.body["planned_stops"].(float64), "planned")
	b.ReportMetric(float64(len(plan.body["unplanned"].([]any))), "unassigned")
	b.ReportMetric(float64(len(plan.body["routes"].([]any))), "routes")
}

// BenchmarkDossierBatch is a portal's backlog: batches of 1,000 valid dossiers, each
// with its own reference. It reports dossiers/s and the time per batch of 1,000.
func BenchmarkDossierBatch(b *testing.B) {
	h := newHarness(b, nil)
	var total time.Duration
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		items := make([]string, dossier.MaxIntake)
		for i := range items {
			items[i] = portalItem(h.dossierBody(nil), fmt.Sprintf("BENCH-%d-%d", n, i))
		}
		body := batchOf(items...)
		b.StartTimer()
		start := time.Now()
		r := h.do(b, http.MethodPost, "/v1/dossiers/batch", body)
		total += time.Since(start)
		if r.status != http.StatusOK || r.body["created"] != float64(dossier.MaxIntake) {
			b.Fatalf("batch: %d %.300s", r.status, r.raw)
		}
	}
	b.ReportMetric(float64(dossier.MaxIntake*b.N)/total.Seconds(), "dossiers/s")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/1000")
}

// BenchmarkClientToken is the token endpoint: a client's secret checked against the
// database and a token signed, one request after another.
func BenchmarkClientToken(b *testing.B) {
	h := newHarness(b, nil)
	p := h.registerClient(b, "dossiers:read")
	form := credentials(p, "")
	for b.Loop() {
		if r := h.grant(b, form, nil); r.status != http.StatusOK {
			b.Fatalf("token: %d %s", r.status, r.raw)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
