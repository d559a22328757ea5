package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"courierd/domain"
)

// TestReportOneOffice: post_office_id cuts every report to one office of the caller's
// scope. Over generated periods of the demo's played history, an admin's report of one
// office is exactly the whole report's rows of that office; a dispatcher asking for an
// office outside their scope, or an office that does not exist, has no rows; a malformed
// id is refused on post_office_id.
func TestReportOneOffice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.playDemo(t, 120)
	today := domain.DateOf(time.Now())
	rng := rand.New(rand.NewPCG(24, 31))
	// officeOf is the office a row is of, where the report says it.
	officeOf := map[string]string{"flow?by=post_office": "key", "late?": "post_office_id", "cash?": "post_office_id"}
	mine := h.demo.PostOffices[0].ID.String() // the demo dispatcher's office
	rows := 0
	for range 6 {
		from := today.AddDate(0, 0, -rng.IntN(60))
		period := fmt.Sprintf("from=%s&to=%s", from.Format(time.DateOnly), from.AddDate(0, 0, 1+rng.IntN(60)).Format(time.DateOnly))
		for report, field := range officeOf {
			whole := h.as("admin").do(t, http.MethodGet, "/v1/reports/"+report+"&"+period, "")
			for _, o := range h.demo.PostOffices {
				office := o.ID.String()
				var want []any
				for _, item := range whole.body["items"].([]any) {
					if item.(map[string]any)[field] == office {
						want = append(want, item)
					}
				}
				got := h.as("admin").do(t, http.MethodGet, "/v1/reports/"+report+"&"+period+"&post_office_id="+office, "")
				if got.status != http.StatusOK || fmt.Sprint(got.body["items"]) != fmt.Sprint(orEmpty(want)) {
					t.Fatalf("%s%s for %s: %d\n%v\nwant the whole report's rows of the office:\n%v", report, period, o.Code, got.status, got.body["items"], want)
				}
				rows += len(want)
			}
		}
		for _, report := range []string{"flow?by=courier", "flow?by=agency", "late?", "couriers?", "cash?"} {
			for _, office := range []string{h.demo.PostOffices[1].ID.String(), uuid.NewString()} {
				r := h.as("dispatcher").do(t, http.MethodGet, "/v1/reports/"+report+"&"+period+"&post_office_id="+office, "")
				if r.status != http.StatusOK || len(r.body["items"].([]any)) != 0 {
					t.Fatalf("a dispatcher of %s asking %s for %s: %d %s", mine, report, office, r.status, r.raw)
				}
			}
			own := h.as("dispatcher").do(t, http.MethodGet, "/v1/reports/"+report+"&"+period+"&post_office_id="+mine, "")
			all := h.as("dispatcher").do(t, http.MethodGet, "/v1/reports/"+report+"&"+period, "")
			if fmt.Sprint(own.body["items"]) != fmt.Sprint(all.body["items"]) {
				t.Fatalf("a dispatcher's own office is all they see (%s): %s\n%s", report, own.raw, all.raw)
			}
		}
	}
	if rows == 0 {
		t.Fatal("no period held any row: the test proves nothing")
	}
	for _, bad := range []string{"x", "751100", uuid.NewString() + "0"} {
		wantProblem(t, h.as("admin").do(t, http.MethodGet, "/v1/reports/cash?from="+today.Format(time.DateOnly)+"&to="+today.AddDate(0, 0, 1).Format(time.DateOnly)+"&post_office_id="+bad, ""),
			http.StatusUnprocessableEntity, "VALIDATION_FAILED", "post_office_id")
	}
}

// orEmpty is a list as an answer writes it: none as [], not nil.
func orEmpty(items []any) []any {
	if items == nil {
		return []any{}
	}
	return items
}
