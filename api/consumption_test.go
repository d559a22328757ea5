package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestResourceLimits (OWASP API4, unrestricted resource consumption): every kind of
// "more" a caller can ask for has a bound, and going past it is refused whole, with a
// code, before any of it is stored. (A proof past the blob limit is refused by the server
// itself, over a real connection: TestProofBlobs.)
func TestResourceLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	dev := h.as("courier01@device").with("X-App-Version", "1.4.2")

	t.Run("a push of 501 mutations", func(t *testing.T) {
		task := pickupTask(h, t, h.assigned(t, "courier01"))
		batch := make([]string, 501)
		for i := range batch {
			batch[i] = mutation(i+1, uuid.NewString(), "task.note.v1", task, `{"text":"đã gọi"}`)
		}
		r := dev.do(t, http.MethodPost, "/v1/device/sync/push", `{"mutations":[`+strings.Join(batch, ",")+`]}`)
		wantProblem(t, r, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "mutations")
		var notes int
		if err := h.db.SQL().QueryRow(`SELECT count(*) FROM field_reports WHERE task_id = $1`, task).Scan(&notes); err != nil || notes != 0 {
			t.Fatalf("%d field reports stored from a refused batch (%v)", notes, err)
		}
	})
	t.Run("an upload of 501 breadcrumbs", func(t *testing.T) {
		r := dev.do(t, http.MethodPost, "/v1/device/locations", points(1, 501, func(i int) time.Time { return time.Now().Add(time.Duration(i-600) * time.Second) }))
		wantProblem(t, r, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	})
	t.Run("pages", func(t *testing.T) {
		for _, limit := range []string{"0", "501", "-1", "1e9"} {
			r := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers?limit="+limit, "")
			wantProblem(t, r, http.StatusUnprocessableEntity, "VALIDATION_FAILED", "limit")
		}
		if r := h.as("dispatcher").do(t, http.MethodGet, "/v1/dossiers?limit=500", ""); r.status != http.StatusOK {
			t.Fatalf("limit=500: %d %s", r.status, r.raw)
		}
	})
	t.Run("a URL of 5 KiB", func(t *testing.T) {
		resp, err := http.Get(h.listen(t) + "/v1/device/sync/pull?cursor=" + strings.Repeat("%25", 1700))
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, readReply(t, resp), http.StatusRequestHeaderFieldsTooLarge, "HEADERS_TOO_LARGE")
	})
	t.Run("a body past the limit", func(t *testing.T) {
		r := h.as("dispatcher").do(t, http.MethodPost, "/v1/dossiers", `{"note":"`+strings.Repeat("x", testBodyLimit)+`"}`)
		wantProblem(t, r, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE")
	})
}
