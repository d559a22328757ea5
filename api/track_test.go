package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"courierd/storage"
)

func points(from, to int, at func(i int) time.Time) string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf(`{"seq":%d,"at":%q,"lat":%.5f,"lon":106.68,"accuracy_m":12,"speed_mps":4.2,"heading_deg":90,"battery_pct":77}`,
			i, at(i).UTC().Format(time.RFC3339Nano), 10.97+float64(i)/100000))
	}
	return `{"points":[` + strings.Join(out, ",") + `]}`
}

func TestBreadcrumbs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	dev := h.as("courier02@device").with("X-App-Version", "1.4.2")
	base := time.Now().Add(-2 * time.Hour)
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second * 10) }

	first := dev.do(t, http.MethodPost, "/v1/device/locations", points(1, 300, at))
	if first.status != http.StatusOK || first.body["stored"] != float64(300) {
		t.Fatalf("upload: %d %s", first.status, first.raw)
	}
	// A replay, overlapping the first: only the new points are stored.
	again := dev.do(t, http.MethodPost, "/v1/device/locations", points(250, 400, at))
	if again.body["stored"] != float64(100) || again.body["duplicates"] != float64(51) {
		t.Fatalf("overlapping replay: %s", again.raw)
	}
	// Late and out of order: points from three days ago, after the recent ones.
	late := dev.do(t, http.MethodPost, "/v1/device/locations", points(1000, 1010, func(i int) time.Time { return time.Now().Add(-72*time.Hour - time.Duration(i)*time.Second) }))
	if late.body["stored"] != float64(11) {
		t.Fatalf("late points: %s", late.raw)
	}
	var total int
	if err := h.db.SQL().QueryRow(`SELECT count(*) FROM breadcrumbs`).Scan(&total); err != nil || total != 411 {
		t.Fatalf("stored %d points, want 411: %v", total, err)
	}
	// The latest position is the newest fix, not the last one received.
	pos := h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+h.courierOf("courier02")+"/position", "")
	if pos.status != http.StatusOK || pos.body["at"] == nil || !strings.HasPrefix(pos.body["at"].(string), at(400).UTC().Format("2006-01-02T15:04:05")) {
		t.Fatalf("position: %d %s (want the fix of point 400)", pos.status, pos.raw)
	}
	wantProblem(t, h.as("dispatcher2").do(t, http.MethodGet, "/v1/couriers/"+h.courierOf("courier02")+"/position", ""), http.StatusNotFound, "NOT_FOUND")

	t.Run("retention drops old days whole", func(t *testing.T) {
		dropped, err := storage.DropTrackDaysBefore(context.Background(), h.db, time.Now().Add(-48*time.Hour))
		if err != nil || dropped < 1 {
			t.Fatalf("dropped %d days: %v", dropped, err)
		}
		var kept int
		if err := h.db.SQL().QueryRow(`SELECT count(*) FROM breadcrumbs`).Scan(&kept); err != nil || kept != 400 {
			t.Fatalf("kept %d points, want the 400 of today: %v", kept, err)
		}
		if again, err := storage.DropTrackDaysBefore(context.Background(), h.db, time.Now().Add(-48*time.Hour)); err != nil || again != 0 {
			t.Fatalf("a second run dropped %d: %v", again, err)
		}
	})
	wantProblem(t, h.as("dispatcher").do(t, http.MethodGet, "/v1/couriers/"+h.courierOf("courier03")+"/position", ""), http.StatusNotFound, "NOT_FOUND")

	t.Run("refusals", func(t *testing.T) {
		wantProblem(t, dev.do(t, http.MethodPost, "/v1/device/locations", strings.Replace(points(1, 1, at), `"lat":10.97001`, `"lat":200`, 1)),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "points[0]")
		wantProblem(t, dev.do(t, http.MethodPost, "/v1/device/locations", points(1, 1, func(int) time.Time { return time.Unix(0, 0) })),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "points[0].at")
		many := make([]string, 501)
		for i := range many {
			many[i] = fmt.Sprintf(`{"seq":%d,"at":%q,"lat":10.9,"lon":106.6}`, i+1, at(i).UTC().Format(time.RFC3339))
		}
		wantProblem(t, dev.do(t, http.MethodPost, "/v1/device/locations", `{"points":[`+strings.Join(many, ",")+`]}`),
			http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	})
}
