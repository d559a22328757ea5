package api_test

import (
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
	var applyTotal, convergeTotal time.Duration
	var cpu sim.CPUUse
	for n := 0; n < b.N; n++ {
		b.StopTimer()
		courier := fmt.Sprintf("courier0%d@run%d", 1+n%8, n)
		name, _, _ := strings.Cut(courier, "@")
		var d device
		h.pull(b, courier, &d, 1000)
		batch := make([]string, queued)
		for i := range batch {
			batch[i] = mutation(i+1, uuid.NewString(), "task.pickup.v1", pickupTask(h, b, h.assigned(b, name)), pickupPayload)
		}
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
	}
	b.ReportMetric(float64(applyTotal.Milliseconds())/float64(b.N), "ms/batch")
	b.ReportMetric(float64(convergeTotal.Milliseconds())/float64(b.N), "ms/converge")
	b.ReportMetric(float64(queued*b.N)/applyTotal.Seconds(), "mutations/s")
	facts := float64(queued * b.N)
	b.ReportMetric(float64(cpu.Simulator.Microseconds())/facts, "courierd-cpu-µs/fact")
	b.ReportMetric(float64(cpu.Postgres.Microseconds())/facts, "postgres-cpu-µs/fact")
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
