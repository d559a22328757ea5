package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain/fieldsync"
)

// BenchmarkOfflineCourierConverges is a courier back after two days offline: 300 recorded
// pickups pushed in one batch, then pulls until the device holds the server's state; and
// the largest batch a push may carry. It reports the time to apply the batch and the time
// to converge (push plus pulls).
func BenchmarkOfflineCourierConverges(b *testing.B) {
	for _, queued := range []int{300, fieldsync.MaxBatch} {
		b.Run(fmt.Sprintf("queued=%d", queued), func(b *testing.B) { benchmarkConverge(b, queued) })
	}
}

func benchmarkConverge(b *testing.B, queued int) {
	h := newHarness(b, nil)
	var applyTotal, convergeTotal time.Duration
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
		start := time.Now()
		r := h.push(b, courier, batch...)
		applied := time.Since(start)
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
